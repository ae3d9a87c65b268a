package xent

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// This file checks every analytic gradient against finite differences in
// float64, and holds the helpers the other test files share.

// lossKind names the four loss entry points.
type lossKind int

const (
	kindIndex lossKind = iota
	kindDense
	kindMulti
	kindSigmoid
	// kindFocal is SigmoidFocal, with the case's Focal; it is not in
	// allKinds (callLoss does not know it): see focal_test.go.
	kindFocal
)

var allKinds = []lossKind{kindIndex, kindDense, kindMulti, kindSigmoid}

func (k lossKind) String() string {
	return [...]string{"index", "dense", "multilabel", "sigmoid", "focal"}[k]
}

// callLoss runs the entry point of kind k; idx is used by the index kind,
// dense by the others.
func callLoss[T Float](k lossKind, grad, logits []T, shape []int, idx []int, dense []T, opts *Options[T]) (Result, error) {
	switch k {
	case kindIndex:
		return CrossEntropy(grad, logits, shape, idx, opts)
	case kindDense:
		return CrossEntropyDense(grad, logits, shape, dense, opts)
	case kindMulti:
		return MultiLabel(grad, logits, shape, dense, opts)
	default:
		return SigmoidCrossEntropy(grad, logits, shape, dense, opts)
	}
}

// geom is a logits shape seen as N × C × inner.
type geom struct{ N, C, inner, P, size int }

func geomOf(shape []int) geom {
	g := geom{N: shape[0], C: shape[1], inner: 1}
	for _, d := range shape[2:] {
		g.inner *= d
	}
	g.P = g.N * g.inner
	g.size = g.P * g.C
	return g
}

// at is the flat index of class c of position pos.
func (g geom) at(pos, c int) int {
	return (pos/g.inner)*g.C*g.inner + c*g.inner + pos%g.inner
}

// gcase is one float64 loss problem.
type gcase struct {
	name   string
	kind   lossKind
	shape  []int
	logits []float64
	idx    []int
	dense  []float64
	opts   Options[float64]
	focal  Focal // kindFocal only
}

// eval runs the case on logits (the case's own when nil) and returns the
// scalar whose gradient the API returns: the reduced loss, or Σ g_i ℓ_i for
// Reduction None.
func (c *gcase) eval(grad, logits []float64) (float64, Result, error) {
	if logits == nil {
		logits = c.logits
	}
	o := c.opts
	o.Losses = nil
	var (
		r   Result
		err error
	)
	if c.kind == kindFocal {
		r, err = SigmoidFocal(grad, logits, c.shape, c.dense, c.focal, &o)
	} else {
		r, err = callLoss(c.kind, grad, logits, c.shape, c.idx, c.dense, &o)
	}
	if err != nil || o.Reduction != None {
		return r.Loss, r, err
	}
	f := 0.0
	for i, l := range r.Losses {
		u := 1.0
		if o.Upstream != nil {
			u = o.Upstream[i]
		}
		f += u * l
	}
	return f, r, nil
}

// Gradient check.
//
// The derivative is estimated with the fourth-order central difference
//
//	f'(x) ≈ (−f(x+2h) + 8f(x+h) − 8f(x−h) + f(x−2h)) / 12h,  h = 1e-3·max(1, |x|).
//
// Its truncation error is h⁴·f⁽⁵⁾/30 ≈ 3e-14·f⁽⁵⁾ (the losses are smooth with
// derivatives of the order of the weights, ≤ 2 here), and its rounding error
// about 1.5·2⁻⁵²·|f|/h ≈ 3e-13·|f| (|f| ≤ ~100 for these sizes). Both are far
// below the test's criterion
//
//	|g − fd| ≤ 1e-6·max(|g|, |fd|) + 1e-9·max(max_k |g_k|, 1e-3),
//
// a relative error of 1e-6, with an absolute floor a thousand times smaller
// than the largest gradient element of the case for elements near zero (and
// at least 1e-12, for cases whose true gradient is 0 everywhere, C = 1, and
// the analytic one is rounding noise near 1e-17). An
// ordinary (second-order) central difference with h = 1e-6 would have a
// rounding error near 1e-10·|f|, too close to the floor to be honest.
const (
	gradRel   = 1e-6
	gradFloor = 1e-9
)

// fdDerivative estimates ∂f/∂logits[i].
func (c *gcase) fdDerivative(i int) float64 {
	s := slices.Clone(c.logits)
	x := s[i]
	h := 1e-3 * math.Max(1, math.Abs(x))
	h = (x + h) - x // a step that is exact in floating point
	f := func(d float64) float64 {
		s[i] = x + d
		v, _, err := c.eval(nil, s)
		if err != nil {
			panic(fmt.Sprintf("%s: perturbed logit %d: %v", c.name, i, err))
		}
		return v
	}
	return (-f(2*h) + 8*f(h) - 8*f(-h) + f(-2*h)) / (12 * h)
}

// checkGrad compares grad with finite differences and returns the problems:
// a mismatch on a finite logit, or a non-zero gradient on a logit that is
// not finite (a masked class, or an unread position holding NaN).
func (c *gcase) checkGrad(grad []float64) []string {
	var bad []string
	gmax := 0.0
	for _, g := range grad {
		gmax = math.Max(gmax, math.Abs(g))
	}
	for i, x := range c.logits {
		if !isFinite(x) {
			if grad[i] != 0 {
				bad = append(bad, fmt.Sprintf("logit %d = %v: gradient %v, want exactly 0", i, x, grad[i]))
			}
			continue
		}
		fd := c.fdDerivative(i)
		tol := gradRel*math.Max(math.Abs(grad[i]), math.Abs(fd)) + gradFloor*math.Max(gmax, 1e-3)
		if d := math.Abs(grad[i] - fd); !(d <= tol) {
			bad = append(bad, fmt.Sprintf("logit %d = %v: gradient %.15g, finite difference %.15g (|diff| %.3g > tol %.3g)",
				i, x, grad[i], fd, d, tol))
		}
	}
	return bad
}

// gradShapes are the shapes of the gradient checks: C = 1, C = 2, wider rows,
// one and two spatial axes.
var gradShapes = [][]int{
	{3, 1}, {4, 2}, {3, 5}, {2, 7}, {2, 3, 4}, {2, 4, 2, 3}, {1, 2, 3, 2},
}

// gconfig is a set of options for the gradient checks.
type gconfig struct {
	name      string
	weights   bool
	zeroW     bool // one class weight is 0
	ignore    bool // some index targets are ignored (NaN logits there)
	custom    bool // ignore index −1 instead of the default
	smoothing float64
	reduction Reduction
	upstream  bool
	masked    bool // some classes of some positions are −Inf
}

var gradConfigs = []gconfig{
	{name: "mean"},
	{name: "sum", reduction: Sum},
	{name: "none", reduction: None},
	{name: "none-upstream", reduction: None, upstream: true},
	{name: "weights", weights: true},
	{name: "weights-zero", weights: true, zeroW: true},
	{name: "weights-sum", weights: true, reduction: Sum},
	{name: "weights-none-upstream", weights: true, reduction: None, upstream: true},
	{name: "ignore", ignore: true},
	{name: "ignore-custom-weights", ignore: true, custom: true, weights: true},
	{name: "ignore-none-upstream", ignore: true, reduction: None, upstream: true},
	{name: "smooth", smoothing: 0.1},
	{name: "smooth-weights", smoothing: 0.35, weights: true},
	{name: "smooth-one", smoothing: 1},
	{name: "smooth-weights-upstream", smoothing: 0.2, weights: true, reduction: None, upstream: true},
	{name: "masked", masked: true},
	{name: "masked-weights-sum", masked: true, weights: true, reduction: Sum},
	{name: "masked-smooth", masked: true, smoothing: 0.25},
	{name: "masked-smooth-weights-ignore", masked: true, smoothing: 0.15, weights: true, ignore: true},
	{name: "masked-none-upstream", masked: true, reduction: None, upstream: true},
}

// applies reports whether the config makes sense for the kind.
func (g gconfig) applies(k lossKind) bool {
	if g.ignore && k != kindIndex {
		return false
	}
	if g.smoothing != 0 && (k == kindMulti || k == kindSigmoid) {
		return false
	}
	return true
}

// newCase builds a random valid problem.
func newCase(rng *rand.Rand, k lossKind, shape []int, cfg gconfig) *gcase {
	g := geomOf(shape)
	c := &gcase{name: fmt.Sprintf("%v/%v/%s", k, shape, cfg.name), kind: k, shape: shape}
	c.logits = make([]float64, g.size)
	for i := range c.logits {
		c.logits[i] = 2 * rng.NormFloat64()
	}
	c.opts.Reduction = cfg.reduction
	c.opts.LabelSmoothing = cfg.smoothing
	if cfg.weights {
		c.opts.Weights = make([]float64, g.C)
		for i := range c.opts.Weights {
			c.opts.Weights[i] = 0.2 + 1.8*rng.Float64()
		}
		if cfg.zeroW {
			c.opts.Weights[rng.IntN(g.C)] = 0
		}
	}
	// Masks: in about half of the positions, mask some classes but never
	// all of them.
	masked := make([]bool, g.size)
	if cfg.masked && g.C > 1 {
		for pos := 0; pos < g.P; pos++ {
			if rng.IntN(2) == 0 {
				continue
			}
			keep := rng.IntN(g.C)
			for cl := 0; cl < g.C; cl++ {
				if cl != keep && rng.IntN(2) == 0 {
					masked[g.at(pos, cl)] = true
					c.logits[g.at(pos, cl)] = math.Inf(-1)
				}
			}
		}
	}
	if k == kindSigmoid && cfg.masked && g.C == 1 {
		// A whole −Inf position is valid for the sigmoid loss.
		masked[0], c.logits[0] = true, math.Inf(-1)
	}
	ignoreValue := DefaultIgnoreIndex
	if cfg.custom {
		c.opts.Ignore = IgnoreIndex(-1)
		ignoreValue = -1
	}
	switch k {
	case kindIndex:
		c.idx = make([]int, g.P)
		for pos := range c.idx {
			if cfg.ignore && (pos == 0 || rng.IntN(3) == 0) {
				c.idx[pos] = ignoreValue
				// Ignored positions are not read: put garbage there.
				for cl := 0; cl < g.C; cl++ {
					c.logits[g.at(pos, cl)] = math.NaN()
				}
				continue
			}
			for {
				y := rng.IntN(g.C)
				if !masked[g.at(pos, y)] {
					c.idx[pos] = y
					break
				}
			}
		}
	default:
		c.dense = make([]float64, g.size)
		for pos := 0; pos < g.P; pos++ {
			skip := k == kindMulti && pos%3 == 1
			binary := k == kindMulti && pos%2 == 0
			for cl := 0; cl < g.C; cl++ {
				i := g.at(pos, cl)
				if skip || masked[i] || rng.IntN(3) == 0 {
					continue
				}
				switch {
				case binary:
					c.dense[i] = 1
				case k == kindSigmoid:
					c.dense[i] = 1.5 * rng.Float64() // targets above 1 follow the formula
				default:
					c.dense[i] = rng.Float64()
				}
			}
			if skip {
				// A multi-label position without labels is not read.
				for cl := 0; cl < g.C; cl++ {
					c.logits[g.at(pos, cl)] = math.NaN()
				}
			}
		}
	}
	if cfg.upstream {
		n := g.P
		if k == kindSigmoid {
			n = g.size
		}
		c.opts.Upstream = make([]float64, n)
		for i := range c.opts.Upstream {
			c.opts.Upstream[i] = rng.NormFloat64()
		}
	}
	return c
}

// gradCases returns every (kind, shape, config) case, seeded.
func gradCases() []*gcase {
	rng := rand.New(rand.NewPCG(1701, 17))
	var cases []*gcase
	for _, k := range allKinds {
		for _, cfg := range gradConfigs {
			if !cfg.applies(k) {
				continue
			}
			for _, shape := range gradShapes {
				cases = append(cases, newCase(rng, k, shape, cfg))
			}
		}
	}
	return cases
}

func TestGradCheck(t *testing.T) {
	cases := gradCases()
	if len(cases) < 300 {
		t.Fatalf("only %d gradient cases", len(cases))
	}
	for _, c := range cases {
		grad := make([]float64, len(c.logits))
		for i := range grad {
			grad[i] = 7
		}
		f, r, err := c.eval(grad, nil)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !isFinite(f) {
			t.Errorf("%s: loss %v", c.name, f)
		}
		if c.kind == kindIndex && r.Ignored == 0 && slices.Contains(c.idx, c.opts.Ignore.Index()) {
			t.Errorf("%s: Result.Ignored = 0 with ignored positions", c.name)
		}
		for _, p := range c.checkGrad(grad) {
			t.Errorf("%s: %s", c.name, p)
		}
	}
}

// TestGradCheckCatchesErrors makes sure the checker can fail: a gradient
// off by 1e-4 in one element, or a masked class given a tiny gradient, is
// flagged.
func TestGradCheckCatchesErrors(t *testing.T) {
	flagged, maskedFlagged, tried := 0, 0, 0
	for _, c := range gradCases() {
		if len(c.logits) < 6 {
			continue
		}
		grad := make([]float64, len(c.logits))
		if _, _, err := c.eval(grad, nil); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(c.checkGrad(grad)) != 0 {
			continue // reported by TestGradCheck
		}
		for i, x := range c.logits {
			if !isFinite(x) {
				if !math.IsNaN(x) {
					bad := slices.Clone(grad)
					bad[i] = 1e-300
					if len(c.checkGrad(bad)) == 1 {
						maskedFlagged++
					} else {
						t.Errorf("%s: gradient 1e-300 on masked logit %d not flagged once", c.name, i)
					}
				}
				continue
			}
			bad := slices.Clone(grad)
			bad[i] += 1e-4
			tried++
			if p := c.checkGrad(bad); len(p) == 1 {
				flagged++
			} else {
				t.Errorf("%s: gradient off by 1e-4 at %d flagged %d times, want 1", c.name, i, len(p))
			}
			break
		}
	}
	if tried < 100 || flagged != tried || maskedFlagged == 0 {
		t.Errorf("flagged %d of %d perturbed gradients, %d masked", flagged, tried, maskedFlagged)
	}
}

// TestGradInPlace checks that a gradient written over the logits is the
// separate-buffer gradient bit for bit, in float64 and float32.
func TestGradInPlace(t *testing.T) {
	for _, c := range gradCases() {
		o := c.opts
		sep := make([]float64, len(c.logits))
		r1, err := callLoss(c.kind, sep, c.logits, c.shape, c.idx, c.dense, &o)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		o = c.opts
		buf := slices.Clone(c.logits)
		r2, err := callLoss(c.kind, buf, buf, c.shape, c.idx, c.dense, &o)
		if err != nil {
			t.Fatalf("%s in place: %v", c.name, err)
		}
		if math.Float64bits(r1.Loss) != math.Float64bits(r2.Loss) {
			t.Errorf("%s: loss %v separate, %v in place", c.name, r1.Loss, r2.Loss)
		}
		if !bitsEqual(sep, buf) {
			t.Errorf("%s: in-place gradient differs\nseparate %v\nin place %v", c.name, sep, buf)
		}

		// The same in float32.
		l32 := convert[float32](c.logits)
		d32 := convert[float32](c.dense)
		o32 := Options[float32]{Reduction: o.Reduction, Weights: convert[float32](o.Weights), Ignore: o.Ignore,
			LabelSmoothing: o.LabelSmoothing, Upstream: convert[float32](o.Upstream)}
		sep32 := make([]float32, len(l32))
		if _, err := callLoss(c.kind, sep32, l32, c.shape, c.idx, d32, &o32); err != nil {
			t.Fatalf("%s float32: %v", c.name, err)
		}
		buf32 := slices.Clone(l32)
		if _, err := callLoss(c.kind, buf32, buf32, c.shape, c.idx, d32, &o32); err != nil {
			t.Fatalf("%s float32 in place: %v", c.name, err)
		}
		if !bitsEqual(sep32, buf32) {
			t.Errorf("%s float32: in-place gradient differs\nseparate %v\nin place %v", c.name, sep32, buf32)
		}
	}
}

// convert copies s into a slice of another float type (nil stays nil).
func convert[D, S Float](s []S) []D {
	if s == nil {
		return nil
	}
	d := make([]D, len(s))
	for i, v := range s {
		d[i] = D(v)
	}
	return d
}

// bitsEqual reports whether a and b hold the same bits.
func bitsEqual[T Float](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		if math.Float64bits(x) != math.Float64bits(y) && !(math.IsNaN(x) && math.IsNaN(y)) {
			return false
		}
	}
	return true
}
