package xent

import "math"

// CrossEntropyDense computes the softmax cross-entropy of logits against
// dense targets of the logits' shape: probabilities, one-hot rows or soft
// labels (SPEC 2.2), PyTorch's CrossEntropyLoss with probability targets:
//
//	ℓ = Σ_c w_c·t'_c·(−log p_c),   t' = (1−ε)·t + ε/C'
//
// Rows need not sum to 1. Mean divides by the number of positions P.
// grad, when not nil, receives the gradient (T'·p_k − w_k·t'_k, T' = Σ_c
// w_c·t'_c, times the upstream gradient) and may be the logits slice.
//
// It returns an error wrapping one of the package's sentinel errors on bad
// input; grad is then all zeros.
func CrossEntropyDense[T Float](grad, logits []T, shape []int, targets []T, opts *Options[T]) (Result, error) {
	r, err := runDense("CrossEntropyDense", grad, logits, shape, targets, opts, false)
	return r, failed(err, grad, opts)
}

// runDense runs the dense (multi == false) or multi-label loss.
func runDense[T Float](op string, grad, logits []T, shape []int, targets []T, opts *Options[T], multi bool) (Result, error) {
	l, err := parseShape(op, shape, len(logits))
	if err != nil {
		return Result{}, err
	}
	if err := checkBuffers(op, l, len(grad), grad != nil, len(targets), l.size); err != nil {
		return Result{}, err
	}
	s, err := settle(op, opts, l, l.P, kindFlags{smoothing: !multi})
	if err != nil {
		return Result{}, err
	}
	k := getState[denseKind[T]]()
	defer putState(k)
	*k = denseKind[T]{targets: targets, set: s, C: l.C, inner: l.inner, multi: multi}

	denom := float64(l.P)
	if multi && s.reduction == Mean {
		// The mean counts the positions with at least one label: a pass
		// over the targets that stops at each row's first label.
		denom = 0
		for pos := 0; pos < l.P; pos++ {
			if !k.skip(pos) {
				denom++
			}
		}
	}

	g, err := meanScale(op, s.reduction, denom)
	if err != nil {
		return Result{}, err
	}

	c := getState[softmaxCall[T]]()
	defer putState(c)
	*c = softmaxCall[T]{op: op, l: l, logits: logits, grad: grad, kind: k,
		g: g, upstream: s.upstream, losses: s.losses, parts: c.parts}
	loss, counted, left, err := c.run(s.threads)
	c.logits, c.grad, c.kind, c.losses, c.upstream = nil, nil, nil, nil, nil
	*k = denseKind[T]{}
	if err != nil {
		return Result{}, err
	}
	r, err := finish(op, &s, loss, denom, counted)
	if err != nil {
		return Result{}, err
	}
	if multi {
		r.Skipped = left
	}
	return r, nil
}

// denseKind is the dense-target loss of SPEC 2.2 and, with multi set, the
// multi-label loss of SPEC 2.3.
type denseKind[T Float] struct {
	targets  []T
	set      settings[T]
	C, inner int
	multi    bool
}

// targetView returns the targets of position pos.
func (k *denseKind[T]) targetView(pos int) view[T] {
	n, j := pos/k.inner, pos%k.inner
	return view[T]{k.targets, n*k.C*k.inner + j, k.inner}
}

func (k *denseKind[T]) skip(pos int) bool {
	if !k.multi {
		return false
	}
	tv := k.targetView(pos)
	for c := 0; c < k.C; c++ {
		if tv.at(c) != 0 {
			return false
		}
	}
	return true
}

func (k *denseKind[T]) terms(v view[T], pos int, m, logSum float64) (terms, error) {
	tv := k.targetView(pos)
	eps := k.set.eps
	// Over the classes: tw = Σ w_c·t_c and dt = Σ w_c·t_c·(m − s_c) over
	// finite logits; for smoothing also W' = Σ w_c and dw = Σ w_c·(m − s_c).
	finite, labels := 0, 0
	tw, dt, wsum, dw := 0.0, 0.0, 0.0, 0.0
	for c := 0; c < k.C; c++ {
		t := float64(tv.at(c))
		if t < 0 || !isFinite(t) {
			return terms{}, &InputError{What: "targets", Position: pos, Class: c, Value: t,
				HasValue: true, Err: ErrTarget, Detail: "a target must be finite and ≥ 0"}
		}
		if t != 0 {
			labels++
		}
		s := float64(v.at(c))
		w := k.set.weight(c)
		if math.IsInf(s, -1) {
			if w*(1-eps)*t > 0 {
				return terms{}, &InputError{What: "targets", Position: pos, Class: c, Value: t,
					HasValue: true, Err: ErrMasked, Detail: "a class whose logit is −Inf has a positive target"}
			}
			continue
		}
		finite++
		if wt := w * t; wt != 0 {
			tw += wt
			dt += wt * (m - s)
		}
		if eps > 0 {
			wsum += w
			if w != 0 {
				dw += w * (m - s)
			}
		}
	}
	if k.multi {
		M := float64(labels)
		return terms{loss: (tw*logSum + dt) / M, a: tw / M, finite: finite, m: labels}, nil
	}
	t := terms{loss: (1 - eps) * (tw*logSum + dt), a: (1 - eps) * tw, finite: finite}
	if eps > 0 {
		share := eps / float64(finite)
		t.loss += share * (wsum*logSum + dw)
		t.a += share * wsum
		t.slow = finite < k.C
	}
	return t, nil
}

func (k *denseKind[T]) correct(d view[T], pos int, g float64, t terms) {
	tv := k.targetView(pos)
	scale := g * (1 - k.set.eps)
	if k.multi {
		scale = g / float64(t.m)
	}
	share := g * k.set.eps / float64(k.C)
	for c := 0; c < k.C; c++ {
		// w·t first: g·w alone may overflow where g·w·t does not.
		w := k.set.weight(c)
		if b := scale*(w*float64(tv.at(c))) + share*w; b != 0 {
			d.sub(c, b)
		}
	}
}

func (k *denseKind[T]) coef(pos, c int, t terms) float64 {
	w := k.set.weight(c)
	tc := float64(k.targetView(pos).at(c))
	if k.multi {
		return w * tc / float64(t.m)
	}
	return w * ((1-k.set.eps)*tc + k.set.eps/float64(t.finite))
}
