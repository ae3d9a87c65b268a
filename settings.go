package xent

import (
	"math"
)

// settings are Options after validation against one call.
type settings[T Float] struct {
	reduction Reduction
	weights   []T     // nil: all ones
	wscale    float64 // the weights are multiplied by wscale twice (see rescale)
	ignore    int
	eps       float64
	upstream  []T
	losses    []float64
	threads   int
}

// weight returns w_c.
func (s *settings[T]) weight(c int) float64 {
	if s.weights == nil {
		return 1
	}
	return float64(s.weights[c]) * s.wscale * s.wscale
}

// kindFlags says which options a loss accepts.
type kindFlags struct {
	ignore, smoothing bool
}

// settle validates opts for a loss with nLosses losses under Reduction None.
func settle[T Float](op string, opts *Options[T], l layout, nLosses int, accepts kindFlags) (settings[T], error) {
	var o Options[T]
	if opts != nil {
		o = *opts
	}
	s := settings[T]{reduction: o.Reduction, weights: o.Weights, wscale: 1, ignore: o.Ignore.Index(),
		eps: o.LabelSmoothing, upstream: o.Upstream, threads: o.Threads}
	if o.Reduction < Mean || o.Reduction > None {
		return s, errorf(op, ErrOption, "unknown reduction %d", int(o.Reduction))
	}
	if o.Weights != nil {
		if len(o.Weights) != l.C {
			return s, errorf(op, ErrShape, "%d weights for %d classes", len(o.Weights), l.C)
		}
		for c, w := range o.Weights {
			if w < 0 || !isFinite(float64(w)) {
				return s, &InputError{Op: op, What: "weights", Position: -1, Class: c,
					Value: float64(w), HasValue: true, Err: ErrWeight, Detail: "a weight must be finite and ≥ 0"}
			}
		}
	}
	if !o.Ignore.IsDefault() && !accepts.ignore {
		return s, errorf(op, ErrOption, "an ignore index applies to index targets only")
	}
	if math.IsNaN(o.LabelSmoothing) || o.LabelSmoothing < 0 || o.LabelSmoothing > 1 {
		return s, errorf(op, ErrOption, "label smoothing %v is outside [0, 1]", o.LabelSmoothing)
	}
	if o.LabelSmoothing != 0 && !accepts.smoothing {
		return s, errorf(op, ErrOption, "label smoothing applies to index and dense targets only, not to this loss")
	}
	if o.Upstream != nil {
		if o.Reduction != None {
			return s, errorf(op, ErrOption, "an upstream gradient needs reduction none (got %v)", o.Reduction)
		}
		if len(o.Upstream) != nLosses {
			return s, errorf(op, ErrShape, "upstream gradient has %d values for %d losses", len(o.Upstream), nLosses)
		}
	}
	if o.Threads < 0 {
		return s, errorf(op, ErrOption, "threads %d is negative", o.Threads)
	}
	if o.Reduction == None {
		s.losses = o.Losses
		if s.losses == nil {
			s.losses = make([]float64, nLosses)
		} else if len(s.losses) != nLosses {
			return s, errorf(op, ErrShape, "losses buffer has %d values for %d losses", len(s.losses), nLosses)
		} else {
			clear(s.losses)
		}
	}
	return s, nil
}

// checkBuffers validates the lengths of grad and targets against the logits.
func checkBuffers(op string, l layout, grad int, hasGrad bool, targets int, wantTargets int) error {
	if hasGrad && grad != l.size {
		return errorf(op, ErrShape, "gradient buffer has %d elements, logits have %d", grad, l.size)
	}
	if targets != wantTargets {
		return errorf(op, ErrShape, "targets have %d elements, want %d for logits of shape %v", targets, wantTargets, l.shape)
	}
	return nil
}

// sums are the losses of a call added up two ways: plainly, and each
// chunk's sum times the mean's 1/denominator g, which stays finite when the
// plain sum overflows but the mean does not.
type sums struct {
	plain, scaled float64
}

func (s *sums) add(chunkLoss, g float64) {
	s.plain += chunkLoss
	s.scaled += chunkLoss * g
}

// finish turns the sums of the losses into a Result; a reduced loss that
// overflows although every loss is finite is an error.
func finish[T Float](op string, s *settings[T], total sums, denom float64, counted int) (Result, error) {
	r := Result{Counted: counted, Loss: total.plain}
	if s.reduction == Mean {
		r.Loss = 0
		if denom != 0 {
			r.Loss = total.plain / denom
			if !isFinite(r.Loss) {
				r.Loss = total.scaled
			}
		}
	}
	if !isFinite(r.Loss) {
		return Result{}, errorf(op, ErrOverflow, "the %v of the losses overflows", s.reduction)
	}
	if s.reduction == None {
		r.Losses = s.losses
	}
	return r, nil
}

// meanScale is the upstream gradient of each loss: 1/denom for Mean (0 when
// nothing counts), 1 for Sum and None. A denominator so small (a sum of
// subnormal weights) that 1/denom overflows is an error.
func meanScale(op string, r Reduction, denom float64) (float64, error) {
	switch {
	case r != Mean:
		return 1, nil
	case denom == 0:
		return 0, nil
	}
	if !isFinite(denom) {
		return 0, errorf(op, ErrOverflow, "the mean's denominator (a sum of weights) overflows")
	}
	if g := 1 / denom; isFinite(g) {
		return g, nil
	}
	return 0, errorf(op, ErrOverflow, "the mean's denominator %v is too small to divide by", denom)
}

// failed completes an entry point's error path: no partial output, so the
// gradient and the per-position losses are zeroed.
func failed[T Float](err error, grad []T, opts *Options[T]) error {
	if err == nil {
		return nil
	}
	if grad != nil {
		zero(grad)
	}
	if opts != nil {
		clear(opts.Losses)
	}
	return err
}

// rescale sets the weights' scale so that wmax, scaled, lies in [1/4, 1).
// The index loss's weighted mean Σ w_y·ℓ / Σ w_y does not change when every
// weight is scaled by the same power of two, and the scaling is exact; it is
// used only when Σ w_y overflows or is too small to divide by. 2^-e may not
// be representable (e ≈ 1074 for subnormal weights), so the weights are
// multiplied twice by its square root.
func (s *settings[T]) rescale(wmax float64) {
	_, e := math.Frexp(wmax)
	if e%2 != 0 {
		e++
	}
	s.wscale = math.Ldexp(1, -e/2)
}
