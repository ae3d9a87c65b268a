//go:build !purego

package kernel

import (
	"math"

	"github.com/xent-go/xent/internal/arch"
)

// useAVX2 and useAVX512 are what the dispatch reads; tests flip them
// through Select.
var useAVX2, useAVX512 bool

var archImpls = arch.X86(&useAVX2, &useAVX512)

// The assembly maxSumExp returns the combined lanes' max and sum: the sum
// is NaN if the row holds NaN (or +Inf), and 0 if the row is empty or all
// −Inf. Those rare rows are finished here.

func maxSumExp32(s []float32) (m, sum float32, nan bool) {
	if useAVX512 {
		m, sum = maxSumExp32AVX512(s)
	} else if useAVX2 {
		m, sum = maxSumExp32AVX2(s)
	} else {
		return maxSumExp32Generic(s)
	}
	if sum != sum {
		return maxSumExp32Generic(s)
	}
	if sum == 0 {
		m = float32(math.Inf(-1))
	}
	return m, sum, false
}

func maxSumExp64(s []float64) (m, sum float64, nan bool) {
	if useAVX512 {
		m, sum = maxSumExp64AVX512(s)
	} else if useAVX2 {
		m, sum = maxSumExp64AVX2(s)
	} else {
		return maxSumExp64Generic(s)
	}
	if sum != sum {
		return maxSumExp64Generic(s)
	}
	if sum == 0 {
		m = math.Inf(-1)
	}
	return m, sum, false
}

func expScale32(dst, s []float32, m, scale float32) {
	dst = dst[:len(s)]
	if useAVX512 {
		expScale32AVX512(dst, s, m, scale)
	} else if useAVX2 {
		expScale32AVX2(dst, s, m, scale)
	} else {
		expScale32Generic(dst, s, m, scale)
	}
}

func expScale64(dst, s []float64, m, scale float64) {
	dst = dst[:len(s)]
	if useAVX512 {
		expScale64AVX512(dst, s, m, scale)
	} else if useAVX2 {
		expScale64AVX2(dst, s, m, scale)
	} else {
		expScale64Generic(dst, s, m, scale)
	}
}

// The assembly maxSumExpCols reports NaN without leaving NaNs out of the
// sums; the portable code then redoes the block.

func maxSumExpCols32(m, sum, s []float32, C, stride int) (nan bool) {
	sum = sum[:len(m)]
	if useAVX512 {
		nan = maxSumExpCols32AVX512(m, sum, s, C, stride)
	} else if useAVX2 {
		nan = maxSumExpCols32AVX2(m, sum, s, C, stride)
	} else {
		return maxSumExpCols32Generic(m, sum, s, C, stride)
	}
	if nan {
		return maxSumExpCols32Generic(m, sum, s, C, stride)
	}
	return false
}

func maxSumExpCols64(m, sum, s []float64, C, stride int) (nan bool) {
	sum = sum[:len(m)]
	if useAVX512 {
		nan = maxSumExpCols64AVX512(m, sum, s, C, stride)
	} else if useAVX2 {
		nan = maxSumExpCols64AVX2(m, sum, s, C, stride)
	} else {
		return maxSumExpCols64Generic(m, sum, s, C, stride)
	}
	if nan {
		return maxSumExpCols64Generic(m, sum, s, C, stride)
	}
	return false
}

func expScaleCols32(dst, s []float32, C, stride int, m, scale []float32) {
	scale = scale[:len(m)]
	if useAVX512 {
		expScaleCols32AVX512(dst, s, C, stride, m, scale)
	} else if useAVX2 {
		expScaleCols32AVX2(dst, s, C, stride, m, scale)
	} else {
		expScaleCols32Generic(dst, s, C, stride, m, scale)
	}
}

func expScaleCols64(dst, s []float64, C, stride int, m, scale []float64) {
	scale = scale[:len(m)]
	if useAVX512 {
		expScaleCols64AVX512(dst, s, C, stride, m, scale)
	} else if useAVX2 {
		expScaleCols64AVX2(dst, s, C, stride, m, scale)
	} else {
		expScaleCols64Generic(dst, s, C, stride, m, scale)
	}
}

func exp32(dst, x []float32) {
	dst = dst[:len(x)]
	if useAVX512 {
		exp32AVX512(dst, x)
	} else if useAVX2 {
		exp32AVX2(dst, x)
	} else {
		exp32Generic(dst, x)
	}
}

func exp64(dst, x []float64) {
	dst = dst[:len(x)]
	if useAVX512 {
		exp64AVX512(dst, x)
	} else if useAVX2 {
		exp64AVX2(dst, x)
	} else {
		exp64Generic(dst, x)
	}
}

func log32(dst, x []float32) {
	dst = dst[:len(x)]
	if useAVX512 {
		log32AVX512(dst, x)
	} else if useAVX2 {
		log32AVX2(dst, x)
	} else {
		log32Generic(dst, x)
	}
}

func log64(dst, x []float64) {
	dst = dst[:len(x)]
	if useAVX512 {
		log64AVX512(dst, x)
	} else if useAVX2 {
		log64AVX2(dst, x)
	} else {
		log64Generic(dst, x)
	}
}

func sum32(s []float32) float32 {
	if useAVX512 {
		return sum32AVX512(s)
	} else if useAVX2 {
		return sum32AVX2(s)
	}
	return sum32Generic(s)
}

func sum64(s []float64) float64 {
	if useAVX512 {
		return sum64AVX512(s)
	} else if useAVX2 {
		return sum64AVX2(s)
	}
	return sum64Generic(s)
}

// The assembly max skips and flags NaN as the portable code does, so it
// needs no fallback.

func max32(s []float32) (float32, bool) {
	if useAVX512 {
		return max32AVX512(s)
	} else if useAVX2 {
		return max32AVX2(s)
	}
	return max32Generic(s)
}

func max64(s []float64) (float64, bool) {
	if useAVX512 {
		return max64AVX512(s)
	} else if useAVX2 {
		return max64AVX2(s)
	}
	return max64Generic(s)
}

func expSum32(dst, s []float32, m float32) float32 {
	dst = dst[:len(s)]
	if useAVX512 {
		return expSum32AVX512(dst, s, m)
	} else if useAVX2 {
		return expSum32AVX2(dst, s, m)
	}
	return expSum32Generic(dst, s, m)
}

func expSum64(dst, s []float64, m float64) float64 {
	dst = dst[:len(s)]
	if useAVX512 {
		return expSum64AVX512(dst, s, m)
	} else if useAVX2 {
		return expSum64AVX2(dst, s, m)
	}
	return expSum64Generic(dst, s, m)
}

func expSumMax32(dst, s []float32, m float32, next []float32) (float32, float32, bool) {
	dst, next = dst[:len(s)], next[:len(s)]
	if useAVX512 {
		return expSumMax32AVX512(dst, s, m, next)
	} else if useAVX2 {
		return expSumMax32AVX2(dst, s, m, next)
	}
	return expSumMax32Generic(dst, s, m, next)
}

func expSumMax64(dst, s []float64, m float64, next []float64) (float64, float64, bool) {
	dst, next = dst[:len(s)], next[:len(s)]
	if useAVX512 {
		return expSumMax64AVX512(dst, s, m, next)
	} else if useAVX2 {
		return expSumMax64AVX2(dst, s, m, next)
	}
	return expSumMax64Generic(dst, s, m, next)
}

func scaleExpSumMax32(prev []float32, a float32, dst, s []float32, m float32, next []float32) (float32, float32, bool) {
	prev, dst, next = prev[:len(s)], dst[:len(s)], next[:len(s)]
	if useAVX512 {
		return scaleExpSumMax32AVX512(prev, a, dst, s, m, next)
	} else if useAVX2 {
		scale32AVX2(prev, a)
		return expSumMax32AVX2(dst, s, m, next)
	}
	return scaleExpSumMax32Generic(prev, a, dst, s, m, next)
}

func scaleExpSumMax64(prev []float64, a float64, dst, s []float64, m float64, next []float64) (float64, float64, bool) {
	prev, dst, next = prev[:len(s)], dst[:len(s)], next[:len(s)]
	if useAVX512 {
		return scaleExpSumMax64AVX512(prev, a, dst, s, m, next)
	} else if useAVX2 {
		scale64AVX2(prev, a)
		return expSumMax64AVX2(dst, s, m, next)
	}
	return scaleExpSumMax64Generic(prev, a, dst, s, m, next)
}

func scale32(dst []float32, a float32) {
	if useAVX512 {
		scale32AVX512(dst, a)
	} else if useAVX2 {
		scale32AVX2(dst, a)
	} else {
		scale32Generic(dst, a)
	}
}

func scale64(dst []float64, a float64) {
	if useAVX512 {
		scale64AVX512(dst, a)
	} else if useAVX2 {
		scale64AVX2(dst, a)
	} else {
		scale64Generic(dst, a)
	}
}

// The three-pass Cols kernels. The assembly maxCols skips and flags NaN as
// the portable code does, so it needs no fallback.

func maxCols32(m, s []float32, C, stride int) bool {
	if useAVX512 {
		return maxCols32AVX512(m, s, C, stride)
	} else if useAVX2 {
		return maxCols32AVX2(m, s, C, stride)
	}
	return maxCols32Generic(m, s, C, stride)
}

func maxCols64(m, s []float64, C, stride int) bool {
	if useAVX512 {
		return maxCols64AVX512(m, s, C, stride)
	} else if useAVX2 {
		return maxCols64AVX2(m, s, C, stride)
	}
	return maxCols64Generic(m, s, C, stride)
}

func expSumCols32(dst, s []float32, C, stride int, m, sum []float32) {
	sum = sum[:len(m)]
	if useAVX512 {
		expSumCols32AVX512(dst, s, C, stride, m, sum)
	} else if useAVX2 {
		expSumCols32AVX2(dst, s, C, stride, m, sum)
	} else {
		expSumCols32Generic(dst, s, C, stride, m, sum)
	}
}

func expSumCols64(dst, s []float64, C, stride int, m, sum []float64) {
	sum = sum[:len(m)]
	if useAVX512 {
		expSumCols64AVX512(dst, s, C, stride, m, sum)
	} else if useAVX2 {
		expSumCols64AVX2(dst, s, C, stride, m, sum)
	} else {
		expSumCols64Generic(dst, s, C, stride, m, sum)
	}
}

func scaleCols32(dst []float32, C, stride int, a []float32) {
	if useAVX512 {
		scaleCols32AVX512(dst, C, stride, a)
	} else if useAVX2 {
		scaleCols32AVX2(dst, C, stride, a)
	} else {
		scaleCols32Generic(dst, C, stride, a)
	}
}

func scaleCols64(dst []float64, C, stride int, a []float64) {
	if useAVX512 {
		scaleCols64AVX512(dst, C, stride, a)
	} else if useAVX2 {
		scaleCols64AVX2(dst, C, stride, a)
	} else {
		scaleCols64Generic(dst, C, stride, a)
	}
}

func softmaxCols32(d, s []float32, C, stride, L int, b *ColsBlock32) int {
	if !useAVX512 && !useAVX2 {
		return softmaxCols32Generic(d, s, C, stride, L, b)
	}
	checkColsBlock(s, C, stride, L)
	checkColsBlock(d, C, stride, L)
	if !useAVX512 {
		return softmaxCols32AVX2(d, s, C, stride, L, &b.Y[0])
	}
	return softmaxCols32AVX512(d, s, C, stride, L, &b.Y[0])
}

func softmaxColsFwd32(s []float32, C, stride, L int, b *ColsBlock32) int {
	if !useAVX512 && !useAVX2 {
		return softmaxColsFwd32Generic(s, C, stride, L, b)
	}
	checkColsBlock(s, C, stride, L)
	if !useAVX512 {
		return softmaxColsFwd32AVX2(s, C, stride, L, &b.Y[0])
	}
	return softmaxColsFwd32AVX512(s, C, stride, L, &b.Y[0])
}

func softmaxColsIndex32(d, s []float32, C, stride, L int, targets []int64, ignore int64, gw float64, losses []float64, b *ColsBlock32) (done, counted int) {
	if !useAVX512 && !useAVX2 {
		return softmaxColsIndex32Generic(d, s, C, stride, L, targets, ignore, gw, losses, b)
	}
	checkColsBlock(s, C, stride, L)
	if L <= 0 {
		return 0, 0
	}
	_, _ = targets[L-1], losses[L-1]
	if d == nil {
		if !useAVX512 {
			return softmaxColsIdxFwd32AVX2(s, C, stride, L, &targets[0], ignore, &losses[0], &b.Y[0])
		}
		return softmaxColsIdxFwd32AVX512(s, C, stride, L, &targets[0], ignore, &losses[0], &b.Y[0])
	}
	checkColsBlock(d, C, stride, L)
	if !useAVX512 {
		return softmaxColsIdx32AVX2(d, s, C, stride, L, &targets[0], ignore, gw, &losses[0], &b.Y[0])
	}
	return softmaxColsIdx32AVX512(d, s, C, stride, L, &targets[0], ignore, gw, &losses[0], &b.Y[0])
}

// checkColsBlock panics, as an index out of range would, where the
// assembly would go past ColsBlock32 or past the end of x.
func checkColsBlock(x []float32, C, stride, L int) {
	if L > ColsMaxL || C > ColsMaxC {
		panic("kernel: SoftmaxCols32 block too large")
	}
	if C > 0 && L > 0 {
		_ = x[(C-1)*stride+L-1]
	}
}

func hasSoftmaxCols() bool { return useAVX512 || useAVX2 }

func scanIndex64(targets []int64, C uint64, ignore int64) (outside, bad int) {
	if !useAVX512 {
		return scanIndex64Generic(targets, C, ignore)
	}
	outside, from := scanIndex64AVX512(targets, C, ignore)
	if from < 0 {
		return outside, -1
	}
	_, bad = scanIndex64Generic(targets[from:], C, ignore)
	return outside, from + bad
}
