package xent

import (
	"math"
)

// settings are Options after validation against one call.
type settings[T Float] struct {
	reduction Reduction
	weights   []T // nil: all ones
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
	return float64(s.weights[c])
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
	s := settings[T]{reduction: o.Reduction, weights: o.Weights, ignore: o.Ignore.Index(),
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

// finish turns the sum of the losses into a Result.
func finish[T Float](s *settings[T], loss, denom float64, counted, left int) Result {
	r := Result{Counted: counted}
	switch s.reduction {
	case Mean:
		if denom != 0 {
			r.Loss = loss / denom
		}
	case Sum:
		r.Loss = loss
	case None:
		r.Loss = loss
		r.Losses = s.losses
	}
	_ = left
	return r
}

// meanScale is the upstream gradient of each loss: 1/denom for Mean (0 when
// nothing counts), 1 for Sum, unused for None.
func meanScale(r Reduction, denom float64) float64 {
	if r == Mean {
		if denom == 0 {
			return 0
		}
		return 1 / denom
	}
	return 1
}
