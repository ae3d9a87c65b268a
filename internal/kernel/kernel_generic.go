package kernel

import "math"

// The portable implementations. They are always compiled: the noasm build
// uses them directly, and the tests hold the assembly to them.

func maxSumExp32Generic(s []float32) (m, sum float32, nan bool) {
	m = float32(math.Inf(-1))
	for _, v := range s {
		switch {
		case v != v:
			nan = true
		case v > m:
			// Rescale what has been summed so far to the new maximum.
			sum = sum*float32(math.Exp(float64(m)-float64(v))) + 1
			m = v
		case v > float32(math.Inf(-1)):
			sum += float32(math.Exp(float64(v) - float64(m)))
		}
	}
	return m, sum, nan
}

func maxSumExp64Generic(s []float64) (m, sum float64, nan bool) {
	m = math.Inf(-1)
	for _, v := range s {
		switch {
		case v != v:
			nan = true
		case v > m:
			sum = sum*math.Exp(m-v) + 1
			m = v
		case v > math.Inf(-1):
			sum += math.Exp(v - m)
		}
	}
	return m, sum, nan
}

func expScale32Generic(dst, s []float32, m, scale float32) {
	dst = dst[:len(s)]
	for k, v := range s {
		dst[k] = scale * float32(math.Exp(float64(v)-float64(m)))
	}
}

func expScale64Generic(dst, s []float64, m, scale float64) {
	dst = dst[:len(s)]
	for k, v := range s {
		dst[k] = scale * math.Exp(v-m)
	}
}

func maxSumExpCols32Generic(m, sum, s []float32, C, stride int) (nan bool) {
	L := len(m)
	sum = sum[:L]
	for j := range m {
		m[j] = float32(math.Inf(-1))
		sum[j] = 0
	}
	for c := 0; c < C; c++ {
		row := s[c*stride : c*stride+L]
		for j, v := range row {
			if v != v {
				nan = true
			} else if v > m[j] {
				m[j] = v
			}
		}
	}
	for c := 0; c < C; c++ {
		row := s[c*stride : c*stride+L]
		for j, v := range row {
			if m[j] > float32(math.Inf(-1)) && v == v {
				sum[j] += float32(math.Exp(float64(v) - float64(m[j])))
			}
		}
	}
	return nan
}

func maxSumExpCols64Generic(m, sum, s []float64, C, stride int) (nan bool) {
	L := len(m)
	sum = sum[:L]
	for j := range m {
		m[j] = math.Inf(-1)
		sum[j] = 0
	}
	for c := 0; c < C; c++ {
		row := s[c*stride : c*stride+L]
		for j, v := range row {
			if v != v {
				nan = true
			} else if v > m[j] {
				m[j] = v
			}
		}
	}
	for c := 0; c < C; c++ {
		row := s[c*stride : c*stride+L]
		for j, v := range row {
			if m[j] > math.Inf(-1) && v == v {
				sum[j] += math.Exp(v - m[j])
			}
		}
	}
	return nan
}

func expScaleCols32Generic(dst, s []float32, C, stride int, m, scale []float32) {
	L := len(m)
	for c := 0; c < C; c++ {
		in := s[c*stride : c*stride+L]
		out := dst[c*stride : c*stride+L]
		for j, v := range in {
			out[j] = scale[j] * float32(math.Exp(float64(v)-float64(m[j])))
		}
	}
}

func expScaleCols64Generic(dst, s []float64, C, stride int, m, scale []float64) {
	L := len(m)
	for c := 0; c < C; c++ {
		in := s[c*stride : c*stride+L]
		out := dst[c*stride : c*stride+L]
		for j, v := range in {
			out[j] = scale[j] * math.Exp(v-m[j])
		}
	}
}

func exp32Generic(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = float32(math.Exp(float64(v)))
	}
}

func exp64Generic(dst, x []float64) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = math.Exp(v)
	}
}

func log32Generic(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = float32(math.Log(float64(v)))
	}
}

func log64Generic(dst, x []float64) {
	dst = dst[:len(x)]
	for i, v := range x {
		if v > 0 && v < 0x1p-1022 {
			// math.Log's amd64 assembly takes subnormals for 2^−1023:
			// scale them into the normal range first.
			dst[i] = math.Log(v*0x1p52) - 52*math.Ln2
			continue
		}
		dst[i] = math.Log(v)
	}
}

func sum32Generic(s []float32) float32 {
	var a0, a1, a2, a3 float32
	i := 0
	for ; i+4 <= len(s); i += 4 {
		a0 += s[i]
		a1 += s[i+1]
		a2 += s[i+2]
		a3 += s[i+3]
	}
	for ; i < len(s); i++ {
		a0 += s[i]
	}
	return (a0 + a1) + (a2 + a3)
}

func sum64Generic(s []float64) float64 {
	var a0, a1, a2, a3 float64
	i := 0
	for ; i+4 <= len(s); i += 4 {
		a0 += s[i]
		a1 += s[i+1]
		a2 += s[i+2]
		a3 += s[i+3]
	}
	for ; i < len(s); i++ {
		a0 += s[i]
	}
	return (a0 + a1) + (a2 + a3)
}

func max32Generic(s []float32) (m float32, nan bool) {
	m = float32(math.Inf(-1))
	for _, v := range s {
		if v != v {
			nan = true
		} else if v > m {
			m = v
		}
	}
	return m, nan
}

func max64Generic(s []float64) (m float64, nan bool) {
	m = math.Inf(-1)
	for _, v := range s {
		if v != v {
			nan = true
		} else if v > m {
			m = v
		}
	}
	return m, nan
}

func expSum32Generic(dst, s []float32, m float32) (sum float32) {
	dst = dst[:len(s)]
	for k, v := range s {
		dst[k] = float32(math.Exp(float64(v) - float64(m)))
		sum += dst[k]
	}
	return sum
}

func expSum64Generic(dst, s []float64, m float64) (sum float64) {
	dst = dst[:len(s)]
	for k, v := range s {
		dst[k] = math.Exp(v - m)
		sum += dst[k]
	}
	return sum
}

func expSumMax32Generic(dst, s []float32, m float32, next []float32) (sum, mNext float32, nan bool) {
	sum = expSum32Generic(dst, s, m)
	mNext, nan = max32Generic(next)
	return sum, mNext, nan
}

func expSumMax64Generic(dst, s []float64, m float64, next []float64) (sum, mNext float64, nan bool) {
	sum = expSum64Generic(dst, s, m)
	mNext, nan = max64Generic(next)
	return sum, mNext, nan
}

func scaleExpSumMax32Generic(prev []float32, a float32, dst, s []float32, m float32, next []float32) (sum, mNext float32, nan bool) {
	scale32Generic(prev, a)
	return expSumMax32Generic(dst, s, m, next)
}

func scaleExpSumMax64Generic(prev []float64, a float64, dst, s []float64, m float64, next []float64) (sum, mNext float64, nan bool) {
	scale64Generic(prev, a)
	return expSumMax64Generic(dst, s, m, next)
}

func scale32Generic(dst []float32, a float32) {
	for k := range dst {
		dst[k] *= a
	}
}

func scale64Generic(dst []float64, a float64) {
	for k := range dst {
		dst[k] *= a
	}
}

func maxCols32Generic(m, s []float32, C, stride int) (nan bool) {
	L := len(m)
	for j := range m {
		m[j] = float32(math.Inf(-1))
	}
	for c := 0; c < C; c++ {
		row := s[c*stride : c*stride+L]
		for j, v := range row {
			if v != v {
				nan = true
			} else if v > m[j] {
				m[j] = v
			}
		}
	}
	return nan
}

func maxCols64Generic(m, s []float64, C, stride int) (nan bool) {
	L := len(m)
	for j := range m {
		m[j] = math.Inf(-1)
	}
	for c := 0; c < C; c++ {
		row := s[c*stride : c*stride+L]
		for j, v := range row {
			if v != v {
				nan = true
			} else if v > m[j] {
				m[j] = v
			}
		}
	}
	return nan
}

func expSumCols32Generic(dst, s []float32, C, stride int, m, sum []float32) {
	L := len(m)
	sum = sum[:L]
	for j := range sum {
		sum[j] = 0
	}
	for c := 0; c < C; c++ {
		in := s[c*stride : c*stride+L]
		out := dst[c*stride : c*stride+L]
		for j, v := range in {
			e := float32(math.Exp(float64(v) - float64(m[j])))
			out[j] = e
			sum[j] += e
		}
	}
}

func expSumCols64Generic(dst, s []float64, C, stride int, m, sum []float64) {
	L := len(m)
	sum = sum[:L]
	for j := range sum {
		sum[j] = 0
	}
	for c := 0; c < C; c++ {
		in := s[c*stride : c*stride+L]
		out := dst[c*stride : c*stride+L]
		for j, v := range in {
			e := math.Exp(v - m[j])
			out[j] = e
			sum[j] += e
		}
	}
}

func scaleCols32Generic(dst []float32, C, stride int, a []float32) {
	L := len(a)
	for c := 0; c < C; c++ {
		row := dst[c*stride : c*stride+L]
		for j := range row {
			row[j] *= a[j]
		}
	}
}

func scaleCols64Generic(dst []float64, C, stride int, a []float64) {
	L := len(a)
	for c := 0; c < C; c++ {
		row := dst[c*stride : c*stride+L]
		for j := range row {
			row[j] *= a[j]
		}
	}
}

func softmaxColsFwd32Generic(s []float32, C, stride, L int, b *ColsBlock32) (done int) {
	return softmaxCols32Generic(nil, s, C, stride, L, b)
}

// softmaxCols32Generic is SoftmaxCols32, or SoftmaxColsFwd32 if d is nil.
func softmaxCols32Generic(d, s []float32, C, stride, L int, b *ColsBlock32) (done int) {
	for j := range L {
		mj, nan := float32(math.Inf(-1)), false
		for c := 0; c < C; c++ {
			if v := s[c*stride+j]; v != v {
				nan = true
			} else if v > mj {
				mj = v
			}
		}
		y := int(b.Y[j])
		var sy float32
		if y >= 0 {
			sy = s[y*stride+j]
		}
		if nan || math.IsInf(float64(mj), 0) || math.IsInf(float64(sy), -1) {
			return j
		}
		var sj float32
		for c := 0; c < C; c++ {
			sj += float32(math.Exp(float64(s[c*stride+j]) - float64(mj)))
		}
		b.M[j], b.Sum[j], b.SY[j] = mj, sj, sy
		if d == nil {
			continue
		}
		a := float32(b.GW[j] / float64(sj))
		for c := 0; c < C; c++ {
			i := c*stride + j
			v := a * float32(math.Exp(float64(s[i])-float64(mj)))
			if c == y {
				v = float32(float64(v) - b.GW[j])
			}
			d[i] = v
		}
	}
	return L
}

func softmaxColsIndex32Generic(d, s []float32, C, stride, L int, targets []int64, ignore int64, gw float64, losses []float64, b *ColsBlock32) (done, counted int) {
	colsInputs(b, targets[:L], ignore, gw)
	if d == nil {
		done = softmaxColsFwd32Generic(s, C, stride, L, b)
	} else {
		done = softmaxCols32Generic(d, s, C, stride, L, b)
	}
	return done, colsLosses(losses, b, done)
}

// colsInputs sets b's Y and GW from the targets of SoftmaxColsIndex32.
func colsInputs(b *ColsBlock32, targets []int64, ignore int64, gw float64) {
	for j, t := range targets {
		if t == ignore {
			b.Y[j], b.GW[j] = -1, 0
		} else {
			b.Y[j], b.GW[j] = int32(t), gw
		}
	}
}

// colsLosses writes the losses of SoftmaxColsIndex32 for the first done
// positions of b and returns the number of them with a target.
func colsLosses(losses []float64, b *ColsBlock32, done int) (counted int) {
	var logSum [ColsMaxL]float32
	log32(logSum[:done], b.Sum[:done])
	for j := range done {
		losses[j] = 0
		if b.Y[j] >= 0 {
			losses[j] = (float64(b.M[j]) - float64(b.SY[j])) + float64(logSum[j])
			counted++
		}
	}
	return counted
}

func scanIndex64Generic(targets []int64, C uint64, ignore int64) (outside, bad int) {
	for pos, y := range targets {
		if uint64(y) >= C {
			if y != ignore {
				return outside, pos
			}
			outside++
		}
	}
	return outside, -1
}
