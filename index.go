package xent

import (
	"math"
	"strconv"
)

// CrossEntropy computes the softmax cross-entropy of logits against index
// targets (SPEC 2.1), PyTorch's CrossEntropyLoss with class indices:
//
//	ℓ = (1−ε)·w_y·(−log p_y) + (ε/C')·Σ_c w_c·(−log p_c)
//
// logits has shape (N, C, d1..dk), class axis second; targets holds one class
// per position (N·d1···dk of them), in [0, C) or the ignore index. grad, when
// not nil, receives the gradient of the reduced loss with respect to the
// logits; it must have the logits' length and may be the logits slice itself
// (in place).
//
// Mean divides by Σ w_y over the positions not ignored, and is 0 when that is
// 0. Ignored positions are not read and get a zero gradient.
//
// It returns an error wrapping ErrShape, ErrTarget, ErrWeight, ErrLogit,
// ErrMasked, ErrOption or ErrOverflow on bad input; grad is then all zeros.
func CrossEntropy[T Float, I Integer](grad, logits []T, shape []int, targets []I, opts *Options[T]) (Result, error) {
	r, err := crossEntropy(grad, logits, shape, targets, opts)
	return r, failed(err, grad, opts)
}

func crossEntropy[T Float, I Integer](grad, logits []T, shape []int, targets []I, opts *Options[T]) (Result, error) {
	const op = "CrossEntropy"
	l, err := parseShape(op, shape, len(logits))
	if err != nil {
		return Result{}, err
	}
	if err := checkBuffers(op, l, len(grad), grad != nil, len(targets), l.P); err != nil {
		return Result{}, err
	}
	s, err := settle(op, opts, l, l.P, kindFlags{ignore: true, smoothing: true})
	if err != nil {
		return Result{}, err
	}

	// Validate the targets and find the mean's denominator Σ w_y: a pass
	// over the P targets, not over the logits.
	denom, wmax, ignored := 0.0, 0.0, 0
	ignore, C := int64(s.ignore), uint64(l.C)
	badTarget := func(pos int, y int64) error {
		return &InputError{Op: op, What: "targets", Position: pos, Class: -1,
			Value: float64(y), HasValue: true, Shape: shape, Err: ErrTarget,
			Detail: targetRangeDetail(l.C, s.ignore)}
	}
	if s.weights == nil && uint64(ignore) >= C {
		// The usual case, in one compare per target, in parallel.
		var bad int
		if ignored, bad = scanTargets(targets, l.C, ignore, s.threads); bad >= 0 {
			return Result{}, badTarget(bad, int64(targets[bad]))
		}
	} else {
		for pos, t := range targets {
			y := int64(t)
			if y == ignore {
				ignored++
				continue
			}
			if uint64(y) >= C {
				return Result{}, badTarget(pos, y)
			}
			if s.weights != nil {
				w := float64(s.weights[y])
				denom += w
				if w > wmax {
					wmax = w
				}
			}
		}
	}
	if s.weights == nil {
		denom = float64(len(targets) - ignored)
	}
	if s.reduction == Mean && s.weights != nil && (!isFinite(denom) || denom > 0 && denom < 0x1p-1000) {
		// Σ w_y overflows or is nearly subnormal: scale the weights.
		s.rescale(wmax)
		denom = 0
		for _, t := range targets {
			if y := int64(t); y != int64(s.ignore) {
				denom += s.weight(int(y))
			}
		}
	}

	g, err := meanScale(op, s.reduction, denom)
	if err != nil {
		return Result{}, err
	}

	k := getState[indexKind[T, I]]()
	defer putState(k)
	*k = indexKind[T, I]{targets: targets, set: s, C: l.C, logC: math.Log(float64(l.C))}

	c := getState[softmaxCall[T]]()
	defer putState(c)
	parts := c.parts
	*c = softmaxCall[T]{op: op, l: l, logits: logits, grad: grad, kind: k,
		g: g, upstream: s.upstream, losses: s.losses, parts: parts}
	if k.fastEligible(c) {
		c.fast = k
	}
	loss, counted, _, err := c.run(s.threads)
	c.logits, c.grad, c.kind, c.fast, c.losses, c.upstream = nil, nil, nil, nil, nil, nil
	*k = indexKind[T, I]{}
	if err != nil {
		return Result{}, err
	}
	r, err := finish(op, &s, loss, denom, counted)
	if err != nil {
		return Result{}, err
	}
	r.Ignored = ignored
	return r, nil
}

func targetRangeDetail(C, ignore int) string {
	if C == 1 {
		return "a target must be 0 (C = 1) or the ignore index " + strconv.Itoa(ignore)
	}
	return "a target must be in [0, " + strconv.Itoa(C-1) + "] or the ignore index " + strconv.Itoa(ignore)
}

// indexKind is the index-target loss of SPEC 2.1 for softmaxCall.
type indexKind[T Float, I Integer] struct {
	targets []I
	set     settings[T]
	C       int
	logC    float64 // log C, a bound on log Σ exp(s_c − m)
}

func (k *indexKind[T, I]) skip(pos int) bool {
	return int64(k.targets[pos]) == int64(k.set.ignore)
}

func (k *indexKind[T, I]) terms(v view[T], pos int, m, logSum float64) (terms, error) {
	y := int(k.targets[pos])
	eps := k.set.eps
	cy := (1 - eps) * k.set.weight(y)
	t := terms{a: cy, finite: k.C}
	if cy != 0 {
		sy := float64(v.at(y))
		if math.IsInf(sy, -1) {
			return t, &InputError{What: "targets", Position: pos, Class: y,
				Err: ErrMasked, Detail: "the target class has logit −Inf"}
		}
		t.loss = cy * ((m - sy) + logSum)
	}
	if eps > 0 {
		// Smoothing spreads ε over the C' classes with a finite logit:
		// (ε/C')·Σ_c w_c·((m − s_c) + log Σ).
		finite, wsum, dsum := 0, 0.0, 0.0
		for c := 0; c < k.C; c++ {
			s := float64(v.at(c))
			if math.IsInf(s, -1) {
				continue
			}
			finite++
			w := k.set.weight(c)
			wsum += w
			if w != 0 {
				dsum += w * (m - s)
			}
		}
		share := eps / float64(finite)
		t.loss += share * (wsum*logSum + dsum)
		t.a += share * wsum
		t.finite = finite
		t.slow = finite < k.C
	}
	return t, nil
}

func (k *indexKind[T, I]) correct(d view[T], pos int, g float64, t terms) {
	y := int(k.targets[pos])
	eps := k.set.eps
	d.sub(y, g*(1-eps)*k.set.weight(y))
	if eps > 0 {
		share := g * eps / float64(k.C)
		for c := 0; c < k.C; c++ {
			d.sub(c, share*k.set.weight(c))
		}
	}
}

func (k *indexKind[T, I]) coef(pos, c int, t terms) float64 {
	eps := k.set.eps
	b := eps * k.set.weight(c) / float64(t.finite)
	if c == int(k.targets[pos]) {
		b += (1 - eps) * k.set.weight(c)
	}
	return b
}
