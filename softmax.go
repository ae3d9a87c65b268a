package xent

import "math"

// Softmax writes p = softmax(s) over the class axis of logits (shape (N, C,
// d1..dk)) into dst, which must have the logits' length and may be the
// logits slice itself. A −Inf logit gets probability 0.
//
// It returns an error wrapping ErrShape, or ErrLogit for a position holding
// a NaN or +Inf logit or only −Inf logits; dst is then all zeros.
func Softmax[T Float](dst, logits []T, shape []int) error {
	return softmaxInto("Softmax", dst, logits, shape, false)
}

// LogSoftmax writes log softmax(s) = s − m − log Σ_c exp(s_c − m) over the
// class axis of logits into dst, which must have the logits' length and may
// be the logits slice itself. A −Inf logit gets −Inf.
//
// Errors are those of Softmax.
func LogSoftmax[T Float](dst, logits []T, shape []int) error {
	return softmaxInto("LogSoftmax", dst, logits, shape, true)
}

func softmaxInto[T Float](op string, dst, logits []T, shape []int, log bool) error {
	l, err := parseShape(op, shape, len(logits))
	if err == nil && len(dst) != l.size {
		err = errorf(op, ErrShape, "dst has %d elements, logits have %d", len(dst), l.size)
	}
	if err != nil {
		zero(dst)
		return err
	}
	C, inner := l.C, l.inner
	for pos := 0; pos < l.P; pos++ {
		n, j := pos/inner, pos%inner
		v := view[T]{logits, n*C*inner + j, inner}
		var m, sum float64
		nan := false
		if inner == 1 {
			m, sum, nan = maxSumExp(logits[pos*C : pos*C+C])
		} else {
			m = math.Inf(-1)
			for c := 0; c < C; c++ {
				s := float64(v.at(c))
				nan = nan || s != s
				m = math.Max(m, s)
			}
			if isFinite(m) {
				for c := 0; c < C; c++ {
					sum += math.Exp(float64(v.at(c)) - m)
				}
			}
		}
		if nan || math.IsInf(m, 0) {
			zero(dst)
			c := softmaxCall[T]{op: op, l: l}
			return c.logitError(v, pos)
		}
		switch {
		case log:
			logSum := math.Log(sum)
			for c := 0; c < C; c++ {
				i := v.base + c*inner
				dst[i] = T((float64(logits[i]) - m) - logSum)
			}
		case inner == 1:
			expScale(dst[pos*C:pos*C+C], logits[pos*C:pos*C+C], m, 1/sum)
		default:
			for c := 0; c < C; c++ {
				i := v.base + c*inner
				dst[i] = T(math.Exp(float64(logits[i])-m) / sum)
			}
		}
	}
	return nil
}
