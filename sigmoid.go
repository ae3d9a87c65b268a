package xent

import "math"

// SigmoidCrossEntropy computes the elementwise sigmoid (binary)
// cross-entropy of SPEC 2.4, PyTorch's BCEWithLogitsLoss, over every class
// of every position:
//
//	ℓ = w_c·(max(s,0) − s·t + log(1 + exp(−|s|))),   ∂ℓ/∂s = w_c·(σ(s) − t)
//
// targets have the logits' shape; targets above 1 follow the formula. Mean
// divides by P·C; None keeps one loss per element, in the logits' layout,
// and Options.Upstream then has one value per element. A −Inf logit with
// target 0 (or weight 0) contributes 0 with a zero gradient; a position whose
// logits are all −Inf is valid. Label smoothing and an ignore index are
// refused.
//
// It returns an error wrapping one of the package's sentinel errors on bad
// input; grad is then all zeros.
func SigmoidCrossEntropy[T Float](grad, logits []T, shape []int, targets []T, opts *Options[T]) (Result, error) {
	r, err := elementwise("SigmoidCrossEntropy", grad, logits, shape, targets, opts, nil)
	return r, failed(err, grad, opts)
}

// elementwise is the driver of the elementwise losses: the sigmoid
// cross-entropy when focal is nil, the focal loss otherwise. The loss of
// each element is c.term's.
func elementwise[T Float](op string, grad, logits []T, shape []int, targets []T, opts *Options[T], focal *focalParams) (Result, error) {
	l, err := parseShape(op, shape, len(logits))
	if err != nil {
		return Result{}, err
	}
	if err := checkBuffers(op, l, len(grad), grad != nil, len(targets), l.size); err != nil {
		return Result{}, err
	}
	s, err := settle(op, opts, l, l.size, kindFlags{})
	if err != nil {
		return Result{}, err
	}
	denom := float64(l.size)
	g, _ := meanScale(op, s.reduction, denom) // P·C ≥ 1 or 0: never overflows
	c := getState[sigmoidCall[T]]()
	defer putState(c)
	*c = sigmoidCall[T]{op: op, l: l, logits: logits, targets: targets, grad: grad, set: s,
		g: g, focal: focal, parts: c.parts}
	chunks := (l.size + chunkElements - 1) / chunkElements
	c.parts = grow(c.parts, chunks)
	clear(c.parts)
	parallel(c, chunks, s.threads)

	var loss sums
	for i := range c.parts {
		if err := c.parts[i].err; err != nil {
			*c = sigmoidCall[T]{parts: c.parts}
			return Result{}, err
		}
		loss.add(c.parts[i].loss, g)
	}
	*c = sigmoidCall[T]{parts: c.parts}
	return finish(op, &s, loss, denom, l.P)
}

// sigmoidCall is the state of one call of an elementwise loss
// (SigmoidCrossEntropy or SigmoidFocal).
type sigmoidCall[T Float] struct {
	op                    string
	l                     layout
	logits, targets, grad []T
	set                   settings[T]
	g                     float64
	focal                 *focalParams // nil: the sigmoid cross-entropy
	parts                 []chunkResult
}

// term returns the loss of one element and its derivative.
func (c *sigmoidCall[T]) term(s, t, w float64) (loss, grad float64, err error) {
	if c.focal != nil {
		return focalTerm(s, t, w, c.focal)
	}
	return sigmoidTerm(s, t, w)
}

func (c *sigmoidCall[T]) runChunk(chunk int) {
	p := &c.parts[chunk]
	lo := chunk * chunkElements
	hi := min(lo+chunkElements, c.l.size)
	C, inner := c.l.C, c.l.inner
	for i := lo; i < hi; i++ {
		s, t := float64(c.logits[i]), float64(c.targets[i])
		class := (i / inner) % C
		w := c.set.weight(class)
		g := c.g
		if c.set.upstream != nil {
			g = float64(c.set.upstream[i])
		}
		loss, grad, err := c.term(s, t, w)
		if err == nil && !isFinite(g) {
			err = &InputError{What: "upstream gradient", Value: g, HasValue: true, Err: ErrOption}
		}
		if err == nil && (!isFinite(loss) || math.Abs(g*grad) > maxFloat[T]()) {
			err = &InputError{What: "loss", Err: ErrOverflow}
		}
		if err != nil {
			e := err.(*InputError)
			e.Op, e.Shape, e.Class = c.op, c.l.shape, class
			e.Position = (i/(C*inner))*inner + i%inner
			p.err = err
			return
		}
		p.loss += loss
		if c.set.losses != nil {
			c.set.losses[i] = loss
		}
		if c.grad != nil {
			c.grad[i] = T(g * grad)
		}
	}
}

// sigmoidTerm returns the loss of one element and its derivative with
// respect to the logit s, or an error without Op, Shape and place.
func sigmoidTerm(s, t, w float64) (loss, grad float64, err error) {
	if t < 0 || !isFinite(t) {
		return 0, 0, &InputError{What: "targets", Value: t, HasValue: true,
			Err: ErrTarget, Detail: "a target must be finite and ≥ 0"}
	}
	if math.IsNaN(s) || math.IsInf(s, 1) {
		return 0, 0, &InputError{What: "logits", Value: s, HasValue: true, Err: ErrLogit}
	}
	if math.IsInf(s, -1) {
		if w*t > 0 {
			return 0, 0, &InputError{What: "targets", Value: t, HasValue: true, Err: ErrMasked,
				Detail: "an element whose logit is −Inf has a positive target"}
		}
		return 0, 0, nil
	}
	if w == 0 {
		return 0, 0, nil
	}
	// max(s,0) − s·t + log(1 + exp(−|s|)), and σ(s) without overflow.
	e := math.Exp(-math.Abs(s))
	sig := 1 / (1 + e)
	if s < 0 {
		sig = e / (1 + e)
	}
	loss = w * (math.Max(s, 0) - s*t + math.Log1p(e))
	return loss, w * (sig - t), nil
}
