package xent

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
)

// Fuzzing the four losses: the bytes decode into a small shape, logits from
// a palette of awkward values, targets (in range or not) and options. Every
// call must either fail with an error wrapping a sentinel, or return a
// finite loss and a finite gradient that is exactly zero where SPEC 2.7 says
// so and that sums to zero over the classes of each counted position.

// skipEmptySpatial skips shapes such as (3, 8, 0) or (0, 8, 0): an empty
// spatial axis panics with an integer division by zero in softmaxCall.run
// (see the "empty spatial axis" case of TestEdgeInputAccepted and
// testdata/fuzz/FuzzCrossEntropy/empty-spatial-axis). Set it to false once
// that is fixed.
const skipEmptySpatial = false

// tolerateReductionOverflow lets the fuzz targets pass a non-finite reduced
// loss whose per-position losses are all finite: the sum, or the weighted
// mean's denominator Σ w_y, overflows and the result is returned as Inf,
// NaN or a wrong finite value without an error (TestReductionOverflow,
// testdata/fuzz/FuzzCrossEntropy/weighted-mean-nan). Set it to false once
// that is fixed.
const tolerateReductionOverflow = false

// tolerateTinyMean lets the fuzz targets pass a non-finite gradient when
// the index mean's denominator Σ w_y is so small that 1/Σ w_y overflows
// (TestSubnormalMeanDenominator,
// testdata/fuzz/FuzzCrossEntropy/subnormal-weight-mean-nan). Set it to false
// once that is fixed.
const tolerateTinyMean = false

// meanOverflows reports whether 1/Σ w_y is +Inf for an index case.
func meanOverflows(c *fuzzCase, w []float64) bool {
	if c.kind != kindIndex || w == nil {
		return false
	}
	d := 0.0
	for _, y := range c.idx {
		if y != c.opts.Ignore.Index() {
			d += w[y]
		}
	}
	return d > 0 && math.IsInf(1/d, 1)
}

// tolerateProductOrder lets the softmax fuzz targets skip inputs whose
// products of upstream gradient g, weight w_k and target t_k (or smoothing
// share) leave the normal range: the library evaluates a = Σ b_k and the
// terms b_k in different orders, as (g·w_k)·t_k and (g·ε/C)·w_k, so an
// overflow of g·w_k gives NaN for t_k = 0, and an underflow loses b_k or a
// and gives a wrong gradient (TestDenseGradientProductOrder,
// testdata/fuzz/FuzzDense/upstream-times-weight-nan,
// testdata/fuzz/FuzzDense/weight-times-upstream-underflow,
// testdata/fuzz/FuzzDense/smoothing-share-underflow). Set it to false once
// that is fixed.
const tolerateProductOrder = true

// abnormal reports whether the product of the factors, none of them zero,
// is not a normal float64 (it underflowed to a subnormal or 0, or
// overflowed), or whether a factor is itself subnormal.
func abnormal(xs ...float64) bool {
	p := 1.0
	for _, x := range xs {
		if x == 0 {
			return false
		}
		if math.Abs(x) < 0x1p-1022 {
			return true
		}
		p *= x
	}
	p = math.Abs(p)
	return p < 0x1p-1022 || p > math.MaxFloat64
}

func productOrderDiffers(c *fuzzCase, t64, w, u []float64) bool {
	if c.kind == kindSigmoid || c.kind == kindFocal || w == nil {
		return false
	}
	// The upstream gradients a position may get: 1 (Sum), a mean's 1/n
	// (normal for these sizes), a weighted mean's 1/Σ w_y, which may be
	// subnormal (testdata/fuzz/FuzzCrossEntropy/a81863075b3b81b4: Σ w_y is
	// 1e308), and the caller's.
	ups := []float64{1}
	if c.kind == kindIndex && c.opts.Reduction == Mean {
		d := 0.0
		for _, y := range c.idx {
			if y != c.opts.Ignore.Index() && y >= 0 && y < len(w) {
				d += w[y]
			}
		}
		if d > 0 {
			ups = append(ups, 1/d)
		}
	}
	for _, v := range u {
		if v != 0 {
			ups = append(ups, v)
		}
	}
	eps := c.opts.LabelSmoothing
	g := geomOf(c.shape)
	for _, up := range ups {
		for k, wk := range w {
			if abnormal(wk) || abnormal(up, wk) || abnormal(wk, eps) || abnormal(up, wk, eps) {
				return true
			}
			for pos := 0; c.kind != kindIndex && pos < g.P; pos++ {
				tk := t64[g.at(pos, k)]
				if abnormal(wk, tk) || abnormal(up, wk, tk) || abnormal(up, tk) {
					return true
				}
			}
		}
	}
	return false
}

// fuzzReader hands out the fuzz bytes, then zeros.
type fuzzReader struct {
	b []byte
	i int
}

func (r *fuzzReader) next() byte {
	if r.i >= len(r.b) {
		return 0
	}
	r.i++
	return r.b[r.i-1]
}

var (
	// logitPalette: bytes ≥ 256−len are these values, others (b−100)/8.
	logitPalette = []float64{inf, ninf, ninf, ninf, nan, 5e-324, -5e-324, 1e-45, 3e38, -3e38,
		1e308, -1e308, 1e300, -1e300, 1e-310, 88.7, -87.3, 709.7, -745}
	// targetPalette: a byte picks one of these.
	targetPalette = []float64{0, 0, 0, 0, 1, 1, 0.5, 0.25, 2, 1e-300, 5e-324, 3e38, 1e308, -1, nan, inf}
	// weightPalette: a byte picks one of these.
	weightPalette = []float64{1, 1, 1, 0.5, 2, 0, 1e-300, 5e-324, 1e30, 3e38, 1e308, -1, nan, inf}
	// upstreamPalette: a byte picks one of these.
	upstreamPalette = []float64{1, 1, -1, 0.5, -2, 0, 1e-300, 1e30, -3e38, 1e308, nan, inf}
	// gammaPalette: a byte picks the focal γ (the first is the default).
	gammaPalette = []float64{2, 0, 0.5, 1, 3, 0.25, 1.5, 7, 1e-300, 1e300, -1, nan, inf}
	// alphaPalette: a byte picks the focal α; −2 means none.
	alphaPalette = []float64{-2, -2, 0.25, 0.5, 0, 1, 0.75, -0.1, 1.5, nan}
)

// fuzzCase is a decoded fuzz input.
type fuzzCase struct {
	kind    lossKind
	f32     bool
	inPlace bool
	shape   []int
	logits  []float64
	idx     []int
	dense   []float64
	opts    Options[float64]
	focal   Focal // kindFocal only
}

func (c *fuzzCase) String() string {
	return fmt.Sprintf("%v f32=%v inPlace=%v shape=%v\nlogits=%v\nidx=%v dense=%v\nreduction=%v weights=%v ignore=%v ε=%v upstream=%v focal=%+v",
		c.kind, c.f32, c.inPlace, c.shape, c.logits, c.idx, c.dense, c.opts.Reduction, c.opts.Weights,
		c.opts.Ignore, c.opts.LabelSmoothing, c.opts.Upstream, c.focal)
}

// fuzzCall runs the case's entry point.
func fuzzCall[T Float](c *fuzzCase, grad, logits []T, dense []T, opts *Options[T]) (Result, error) {
	if c.kind == kindFocal {
		return SigmoidFocal(grad, logits, c.shape, dense, c.focal, opts)
	}
	return callLoss(c.kind, grad, logits, c.shape, c.idx, dense, opts)
}

func decodeFuzz(kind lossKind, data []byte) *fuzzCase {
	r := &fuzzReader{b: data}
	flags := r.next()
	c := &fuzzCase{kind: kind, f32: flags&1 != 0, inPlace: flags&0x80 != 0}
	c.opts.Reduction = Reduction(((flags >> 1) & 3) % 3)
	N := int(r.next() % 5)
	C := int(r.next() % 10) // C = 0 is refused
	c.shape = []int{N, C}
	for k := int(r.next() % 3); k > 0; k-- {
		c.shape = append(c.shape, int(r.next()%4))
	}
	g := geomOf(c.shape)
	if skipEmptySpatial && C > 0 && g.inner == 0 {
		return nil
	}
	c.logits = make([]float64, g.size)
	for i := range c.logits {
		b := int(r.next())
		if j := b - (256 - len(logitPalette)); j >= 0 {
			c.logits[i] = logitPalette[j]
		} else {
			c.logits[i] = float64(b-100) / 8
		}
	}
	if kind == kindIndex {
		c.idx = make([]int, g.P)
		for i := range c.idx {
			b := r.next()
			switch {
			case b == 255:
				c.idx[i] = DefaultIgnoreIndex
			case b == 254:
				c.idx[i] = -1
			default:
				c.idx[i] = int(b) % (C + 2) // C and C+1 are out of range
			}
		}
	} else {
		c.dense = make([]float64, g.size)
		for i := range c.dense {
			c.dense[i] = targetPalette[r.next()%uint8(len(targetPalette))]
		}
	}
	if flags&8 != 0 {
		c.opts.Weights = make([]float64, C)
		for i := range c.opts.Weights {
			c.opts.Weights[i] = weightPalette[r.next()%uint8(len(weightPalette))]
		}
	}
	if flags&16 != 0 {
		b := r.next()
		c.opts.LabelSmoothing = float64(b) / 200 // up to 1.275: some are refused
		if b == 255 {
			c.opts.LabelSmoothing = nan
		}
	}
	if flags&32 != 0 {
		c.opts.Ignore = IgnoreIndex(int(int8(r.next())) % 12)
	}
	if flags&64 != 0 && c.opts.Reduction == None {
		n := g.P
		if kind == kindSigmoid || kind == kindFocal {
			n = g.size
		}
		c.opts.Upstream = make([]float64, n)
		for i := range c.opts.Upstream {
			c.opts.Upstream[i] = upstreamPalette[r.next()%uint8(len(upstreamPalette))]
		}
	}
	if kind == kindFocal {
		c.focal.Gamma = gammaPalette[r.next()%uint8(len(gammaPalette))]
		if a := alphaPalette[r.next()%uint8(len(alphaPalette))]; a != -2 {
			c.focal = c.focal.WithAlpha(a)
		}
	}
	return c
}

func fuzzLoss(f *testing.F, kind lossKind) {
	// Seeds: plain, spatial, float32, masked, NaN, ignore, smoothing,
	// weights, upstream, in place, huge values.
	f.Add([]byte{0, 2, 3, 0, 100, 108, 116, 92, 100, 100, 1, 2, 4, 5, 0, 0})
	f.Add([]byte{1, 3, 4, 2, 2, 3, 100, 120, 80, 237, 100, 101, 102, 103, 104, 105, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{2, 2, 3, 0, 238, 100, 110, 100, 238, 239, 0, 1, 4, 5, 4, 0})
	f.Add([]byte{0x18, 3, 5, 0, 237, 100, 120, 90, 100, 100, 100, 241, 100, 100, 100, 100, 100, 100, 100, 255, 1, 4, 4, 0, 1, 2, 3, 4, 5, 40})
	f.Add([]byte{0x24, 2, 3, 1, 2, 100, 110, 120, 130, 140, 150, 160, 170, 180, 190, 200, 210, 3, 255, 254, 1, 5})
	f.Add([]byte{0xcd, 2, 2, 0, 100, 247, 100, 248, 1, 0, 4, 4, 2, 3, 0, 60, 5, 6, 7, 8})
	f.Add([]byte{0x8c, 4, 9, 1, 3})
	f.Add([]byte{0x4c, 1, 2, 0, 247, 246, 4, 4, 10, 10, 9, 9})
	f.Add([]byte{0x01, 2, 2, 0, 252, 253, 245, 244, 4, 4, 4, 4})
	f.Fuzz(func(t *testing.T, data []byte) {
		c := decodeFuzz(kind, data)
		if c == nil {
			return
		}
		if c.f32 {
			checkFuzz[float32](t, c)
		} else {
			checkFuzz[float64](t, c)
		}
	})
}

func FuzzCrossEntropy(f *testing.F) { fuzzLoss(f, kindIndex) }
func FuzzDense(f *testing.F)        { fuzzLoss(f, kindDense) }
func FuzzMultiLabel(f *testing.F)   { fuzzLoss(f, kindMulti) }
func FuzzSigmoid(f *testing.F)      { fuzzLoss(f, kindSigmoid) }

func checkFuzz[T Float](t *testing.T, c *fuzzCase) {
	logits := convert[T](c.logits)
	dense := convert[T](c.dense)
	opts := Options[T]{Reduction: c.opts.Reduction, Weights: convert[T](c.opts.Weights), Ignore: c.opts.Ignore,
		LabelSmoothing: c.opts.LabelSmoothing, Upstream: convert[T](c.opts.Upstream)}
	// The values the loss sees, in float64.
	s64, t64 := convert[float64](logits), convert[float64](dense)
	w64, u64 := convert[float64](opts.Weights), convert[float64](opts.Upstream)

	var grad []T
	in := logits
	if c.inPlace {
		grad = slices.Clone(logits)
		in = grad
	} else {
		grad = make([]T, len(logits))
		for i := range grad {
			grad[i] = 7
		}
	}
	r, err := fuzzCall(c, grad, in, dense, &opts)
	if err != nil {
		found := false
		for _, s := range sentinels {
			found = found || errors.Is(err, s)
		}
		if !found {
			t.Fatalf("error %q wraps no sentinel\n%v", err, c)
		}
		// Errors found while computing leave a zero gradient. (Those of
		// the up-front shape and option checks are TestBadInputZeroesGrad's.)
		if errors.Is(err, ErrShape) || errors.Is(err, ErrOption) || errors.Is(err, ErrWeight) {
			return
		}
		for i, v := range grad {
			if v != 0 {
				t.Fatalf("gradient[%d] = %v after error %q\n%v", i, v, err, c)
			}
		}
		return
	}

	g := geomOf(c.shape)
	if tolerateProductOrder && productOrderDiffers(c, t64, w64, u64) {
		return
	}
	if !isFinite(r.Loss) {
		if tolerateReductionOverflow {
			// Known bug: are the per-position losses finite?
			o := opts
			o.Reduction = None
			rn, err := fuzzCall(c, nil, logits, dense, &o)
			finite := err == nil
			for _, l := range rn.Losses {
				finite = finite && isFinite(l)
			}
			if finite {
				return
			}
		}
		t.Fatalf("loss %v without an error\n%v", r.Loss, c)
	}
	for i, v := range grad {
		if !isFinite(float64(v)) {
			if tolerateTinyMean && opts.Reduction == Mean && meanOverflows(c, w64) {
				return
			}
			t.Fatalf("gradient[%d] = %v\n%v", i, v, c)
		}
		if math.IsInf(s64[i], -1) && v != 0 {
			t.Fatalf("gradient[%d] = %v on a −Inf logit\n%v", i, v, c)
		}
	}
	for _, l := range r.Losses {
		if !isFinite(l) {
			t.Fatalf("per-position loss %v\n%v", l, c)
		}
	}
	if c.kind == kindSigmoid {
		checkSigmoidGrad(t, c, grad, s64, t64, w64, u64)
		return
	}
	if c.kind == kindFocal {
		checkFocalGrad(t, c, grad, s64, t64, w64, u64)
		return
	}
	if r.Loss < 0 {
		t.Fatalf("softmax loss %v < 0\n%v", r.Loss, c)
	}

	// The index loss's weighted mean is unchanged when every weight is
	// scaled; when Σ w_y overflows or nearly underflows, the library brings
	// the largest counted w_y near 1. The model does the same.
	if c.kind == kindIndex && opts.Reduction == Mean && w64 != nil {
		d, wmax := 0.0, 0.0
		for _, y := range c.idx {
			if y != opts.Ignore.Index() {
				d += w64[y]
				wmax = math.Max(wmax, w64[y])
			}
		}
		if math.IsInf(d, 1) || d > 0 && d < 0x1p-1000 {
			w64 = normalizedWeights(w64, wmax)
		}
	}

	// The upstream gradient of each position, and which positions count.
	counted := make([]bool, g.P)
	denom := 0.0
	for pos := range counted {
		switch c.kind {
		case kindIndex:
			y := c.idx[pos]
			if y != opts.Ignore.Index() {
				counted[pos] = true
				if w64 == nil {
					denom++
				} else {
					denom += w64[y]
				}
			}
		case kindDense:
			counted[pos] = true
			denom++
		case kindMulti:
			for cl := 0; cl < g.C; cl++ {
				counted[pos] = counted[pos] || t64[g.at(pos, cl)] != 0
			}
			if counted[pos] {
				denom++
			}
		}
	}
	n := 0
	for pos := range counted {
		if counted[pos] {
			n++
		}
	}
	if r.Counted != n {
		t.Fatalf("Counted = %d, want %d\n%v", r.Counted, n, c)
	}
	eps32 := 0x1p-52
	tiny := 0x1p-1022
	if c.f32 {
		eps32, tiny = 0x1p-23, 0x1p-126
	}
	for pos := 0; pos < g.P; pos++ {
		if !counted[pos] {
			for cl := 0; cl < g.C; cl++ {
				if v := grad[g.at(pos, cl)]; v != 0 {
					t.Fatalf("position %d is not counted but its gradient at class %d is %v\n%v", pos, cl, v, c)
				}
			}
			continue
		}
		up := 1.0
		switch {
		case opts.Reduction == Mean && denom == 0:
			up = 0
		case opts.Reduction == Mean:
			up = 1 / denom
		case u64 != nil:
			up = u64[pos]
		}
		y := 0
		if c.kind == kindIndex {
			y = c.idx[pos]
		}
		b := coefficients(c.kind, g, s64, t64, y, w64, opts.LabelSmoothing, pos)
		a := 0.0
		for _, v := range b {
			a += v
		}
		sum, abs := 0.0, 0.0
		for cl := 0; cl < g.C; cl++ {
			v := float64(grad[g.at(pos, cl)])
			sum += v
			abs += math.Abs(v)
		}
		// Each element is g·(a·p_k − b_k), rounded in T: the sum's error is a
		// few ulps of g·a per class, plus subnormal flushing.
		tol := 16*eps32*float64(g.C+1)*(math.Abs(up)*a+abs) + float64(g.C)*tiny
		if !(math.Abs(sum) <= tol) {
			t.Fatalf("position %d: Σ_k gradient = %g > %g (g·a = %g)\n%v", pos, sum, tol, up*a, c)
		}

		// Each element against g·(a·p_k − b_k), p from a float64 softmax.
		m := math.Inf(-1)
		for cl := 0; cl < g.C; cl++ {
			m = math.Max(m, s64[g.at(pos, cl)])
		}
		z := 0.0
		for cl := 0; cl < g.C; cl++ {
			z += math.Exp(s64[g.at(pos, cl)] - m)
		}
		for cl := 0; cl < g.C; cl++ {
			p := math.Exp(s64[g.at(pos, cl)]-m) / z
			ga, gb := prod(up, a, p), prod(up, b[cl])
			bound := math.Abs(ga) + math.Abs(gb)
			if math.IsInf(bound, 0) {
				continue
			}
			got := float64(grad[g.at(pos, cl)])
			// p itself may be subnormal: allow a few of its ulps, times g·a.
			pUlp := 0x1p-1074
			if c.f32 {
				pUlp = 0x1p-149
			}
			if d := math.Abs(got - (ga - gb)); !(d <= 16*eps32*float64(g.C+1)*bound+2*tiny+4*math.Abs(prod(up, a, pUlp))) {
				t.Fatalf("position %d class %d: gradient %v, want g·(a·p − b) = %v (g %v, a %v, p %v, b %v)\n%v",
					pos, cl, got, ga-gb, up, a, p, b[cl], c)
			}
		}
	}
}

// prod multiplies, with 0 times anything 0.
func prod(xs ...float64) float64 {
	r := 1.0
	for _, x := range xs {
		if x == 0 {
			return 0
		}
		r *= x
	}
	return r
}

// checkSigmoidGrad compares each element's gradient with g·w_c·(σ(s) − t)
// computed here in float64 (SPEC 2.4).
func checkSigmoidGrad[T Float](t *testing.T, c *fuzzCase, grad []T, s, tg, w, u []float64) {
	g := geomOf(c.shape)
	eps := 0x1p-52
	tiny := 0x1p-1022
	if c.f32 {
		eps, tiny = 0x1p-23, 0x1p-149
	}
	for i, x := range s {
		if math.IsInf(x, -1) {
			continue // checked: exactly 0
		}
		up := 1.0
		switch {
		case c.opts.Reduction == Mean:
			up = 1 / float64(g.size)
		case u != nil:
			up = u[i]
		}
		wc := 1.0
		if w != nil {
			wc = w[(i/g.inner)%g.C]
		}
		sig := 1 / (1 + math.Exp(-x))
		if x < 0 {
			e := math.Exp(x) // exp(−x) would overflow for x < −709
			sig = e / (1 + e)
		}
		want := up * (wc * (sig - tg[i]))
		if wc == 0 {
			want = 0
		}
		got := float64(grad[i])
		bound := 0.0 // |g|·w·(σ + t), the size of the terms
		if up != 0 && wc != 0 {
			bound = math.Abs(up) * (wc * (sig + tg[i]))
		}
		tol := 16*eps*(math.Abs(want)+bound) + tiny
		if !(math.Abs(got-want) <= tol) {
			t.Fatalf("element %d: gradient %v, want g·w·(σ(s) − t) = %v\n%v", i, got, want, c)
		}
	}
}

// normalizedWeights scales w by a power of two (exactly, in two steps) so
// that wmax lands in [1/4, 1).
func normalizedWeights(w []float64, wmax float64) []float64 {
	_, e := math.Frexp(wmax)
	out := make([]float64, len(w))
	for i, v := range w {
		out[i] = math.Ldexp(math.Ldexp(v, -e/2), -(e - e/2))
	}
	return out
}
