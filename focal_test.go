package xent

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// Tests of SigmoidFocal: gradient checks, the identities with the sigmoid
// cross-entropy, bad input, edge input and fuzzing. The golden vectors are
// in testdata/golden/focal.json (golden_test.go).

// focalParamSets are the focal parameters of the gradient checks.
var focalParamSets = []Focal{
	{Gamma: 0.5}, DefaultFocal(), {Gamma: 3}, {Gamma: 1, Alpha: 0.75, UseAlpha: true},
	DefaultFocal().WithAlpha(0.25), {Gamma: 0.5, Alpha: 0, UseAlpha: true}, {Gamma: 2.5, Alpha: 1, UseAlpha: true},
}

// focalCases returns gradient-check cases for SigmoidFocal: the sigmoid
// cases' configurations and shapes, with the targets clipped to [0, 1] (so
// that some are exactly 1), for each parameter set.
func focalCases() []*gcase {
	rng := rand.New(rand.NewPCG(1702, 18))
	var cases []*gcase
	for _, f := range focalParamSets {
		for _, cfg := range gradConfigs {
			if !cfg.applies(kindSigmoid) {
				continue
			}
			for _, shape := range gradShapes {
				c := newCase(rng, kindSigmoid, shape, cfg)
				c.kind, c.focal = kindFocal, f
				c.name = fmt.Sprintf("%v/%v/%s", f, shape, cfg.name)
				for i, v := range c.dense {
					c.dense[i] = min(v, 1)
				}
				cases = append(cases, c)
			}
		}
	}
	return cases
}

func TestFocalGradCheck(t *testing.T) {
	cases := focalCases()
	if len(cases) < 300 {
		t.Fatalf("only %d focal gradient cases", len(cases))
	}
	for _, c := range cases {
		grad := make([]float64, len(c.logits))
		for i := range grad {
			grad[i] = 7
		}
		f, _, err := c.eval(grad, nil)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !isFinite(f) {
			t.Errorf("%s: loss %v", c.name, f)
		}
		for _, p := range c.checkGrad(grad) {
			t.Errorf("%s: %s", c.name, p)
		}
	}
}

// TestFocalGradInPlace: the gradient written over the logits is the
// separate-buffer gradient bit for bit.
func TestFocalGradInPlace(t *testing.T) {
	for _, c := range focalCases() {
		o := c.opts
		sep := make([]float64, len(c.logits))
		if _, err := SigmoidFocal(sep, c.logits, c.shape, c.dense, c.focal, &o); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		buf := slices.Clone(c.logits)
		o = c.opts
		if _, err := SigmoidFocal(buf, buf, c.shape, c.dense, c.focal, &o); err != nil {
			t.Fatalf("%s in place: %v", c.name, err)
		}
		if !bitsEqual(sep, buf) {
			t.Errorf("%s: in-place gradient differs", c.name)
		}
	}
}

// runBoth runs SigmoidFocal with f and SigmoidCrossEntropy on a case, in T.
func runBoth[T Float](c *gcase, f Focal) (rf, rs Result, gf, gs []T, err error) {
	logits, dense := convert[T](c.logits), convert[T](c.dense)
	mk := func() *Options[T] {
		return &Options[T]{Reduction: c.opts.Reduction, Weights: convert[T](c.opts.Weights),
			Upstream: convert[T](c.opts.Upstream)}
	}
	gf, gs = make([]T, len(logits)), make([]T, len(logits))
	if rf, err = SigmoidFocal(gf, logits, c.shape, dense, f, mk()); err != nil {
		return
	}
	rs, err = SigmoidCrossEntropy(gs, logits, c.shape, dense, mk())
	return
}

// TestFocalIdentities: γ = 0 without α is SigmoidCrossEntropy bit for bit
// (loss, per-element losses, gradient), in float64 and float32; γ = 0 with
// α = 0.5 is exactly half of it; for any γ, α = 0.5 is half of no α.
func TestFocalIdentities(t *testing.T) {
	for _, c := range focalCases() {
		if c.focal != focalParamSets[0] {
			continue // the inputs, once
		}
		rf, rs, gf, gs, err := runBoth[float64](c, Focal{})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if math.Float64bits(rf.Loss) != math.Float64bits(rs.Loss) || !bitsEqual(gf, gs) ||
			!bitsEqual(rf.Losses, rs.Losses) || rf.Counted != rs.Counted {
			t.Errorf("%s: γ = 0 differs from SigmoidCrossEntropy: loss %v vs %v\ngrad %v\nvs   %v",
				c.name, rf.Loss, rs.Loss, gf, gs)
		}
		rf32, rs32, gf32, gs32, err := runBoth[float32](c, Focal{})
		if err != nil {
			t.Fatalf("%s float32: %v", c.name, err)
		}
		if math.Float64bits(rf32.Loss) != math.Float64bits(rs32.Loss) || !bitsEqual(gf32, gs32) {
			t.Errorf("%s float32: γ = 0 differs from SigmoidCrossEntropy", c.name)
		}

		rh, _, gh, _, err := runBoth[float64](c, Focal{}.WithAlpha(0.5))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if rh.Loss != rs.Loss/2 {
			t.Errorf("%s: γ = 0, α = 0.5: loss %v, want %v", c.name, rh.Loss, rs.Loss/2)
		}
		for i := range gh {
			if gh[i] != gs[i]/2 {
				t.Errorf("%s: γ = 0, α = 0.5: grad[%d] = %v, want %v", c.name, i, gh[i], gs[i]/2)
				break
			}
		}
		for i := range rh.Losses {
			if rh.Losses[i] != rs.Losses[i]/2 {
				t.Errorf("%s: γ = 0, α = 0.5: Losses[%d] = %v, want %v", c.name, i, rh.Losses[i], rs.Losses[i]/2)
				break
			}
		}

		for _, gamma := range []float64{0.5, 2, 3} {
			r1, _, g1, _, err1 := runBoth[float64](c, Focal{Gamma: gamma})
			r2, _, g2, _, err2 := runBoth[float64](c, Focal{Gamma: gamma}.WithAlpha(0.5))
			if err1 != nil || err2 != nil {
				t.Fatalf("%s: %v %v", c.name, err1, err2)
			}
			if !close64(r2.Loss, r1.Loss/2, 1e-15, math.Abs(r1.Loss)) {
				t.Errorf("%s: γ = %v, α = 0.5: loss %v, want %v", c.name, gamma, r2.Loss, r1.Loss/2)
			}
			for i := range g1 {
				if !close64(g2[i], g1[i]/2, 1e-15, math.Abs(g1[i])) {
					t.Errorf("%s: γ = %v, α = 0.5: grad[%d] = %v, want %v", c.name, gamma, i, g2[i], g1[i]/2)
					break
				}
			}
		}
	}
}

// TestFocalDownweights: for binary targets, (1 − p_t)^γ ≤ 1 so the focal
// loss of each element is at most the cross-entropy, and much smaller for
// well-classified elements.
func TestFocalDownweights(t *testing.T) {
	logits := []float64{4, -4, 0, 4}
	targets := []float64{1, 0, 1, 0}
	o := &Options[float64]{Reduction: None}
	bce, err := SigmoidCrossEntropy(nil, logits, []int{1, 4}, targets, o)
	if err != nil {
		t.Fatal(err)
	}
	bl := slices.Clone(bce.Losses)
	fr, err := SigmoidFocal(nil, logits, []int{1, 4}, targets, DefaultFocal(), &Options[float64]{Reduction: None})
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range fr.Losses {
		q := 1 / (1 + math.Exp(4)) // 1 − p_t of the elements classified well
		switch i {
		case 2:
			q = 0.5
		case 3:
			q = 1 / (1 + math.Exp(-4))
		}
		if want := bl[i] * q * q; !close64(l, want, 1e-14, want) {
			t.Errorf("element %d: focal loss %v, want ce·(1−p_t)² = %v", i, l, want)
		}
	}
}

// TestFocalEdgeInput: inputs that are valid and must not give NaN: 1 − p_t
// = 0 (σ saturates) with γ < 1, where q^(γ−1) is infinite; −Inf logits with
// target 0 or a zero coefficient; huge logits.
func TestFocalEdgeInput(t *testing.T) {
	cases := []struct {
		name    string
		shape   []int
		logits  []float64
		targets []float64
		focal   Focal
		weights []float64
		zero    []int // elements whose loss and gradient are exactly 0
	}{
		{"saturated γ 0.5", []int{1, 4}, []float64{800, -800, 40, -40}, []float64{1, 0, 1, 0}, Focal{Gamma: 0.5}, nil, []int{0, 1}},
		{"saturated γ 0.25 α", []int{2, 2}, []float64{1e300, -1e300, 750, -750}, []float64{1, 0, 1, 0},
			Focal{Gamma: 0.25}.WithAlpha(0.25), nil, []int{0, 1, 2, 3}},
		{"wrong and saturated", []int{1, 2}, []float64{-1e300, 1e300}, []float64{1, 0}, Focal{Gamma: 0.5}, nil, nil},
		{"masked target 0", []int{2, 2}, []float64{ninf, 1, ninf, ninf}, []float64{0, 1, 0, 0}, DefaultFocal(), nil, []int{0, 2, 3}},
		{"masked zero weight", []int{1, 3}, []float64{ninf, 1, 2}, []float64{0.7, 1, 0}, DefaultFocal(), []float64{0, 1, 1}, []int{0}},
		{"masked α 0 positive", []int{1, 2}, []float64{ninf, 1}, []float64{1, 0}, Focal{Gamma: 2}.WithAlpha(0), nil, []int{0}},
		{"masked α 1 negative", []int{1, 2}, []float64{1, ninf}, []float64{0, 0}, Focal{Gamma: 2}.WithAlpha(1), nil, []int{0, 1}},
		{"γ huge", []int{1, 3}, []float64{0.5, -3, 2}, []float64{1, 0, 0.5}, Focal{Gamma: 1e6}, nil, []int{0, 1, 2}},
		{"γ huge, wrong and saturated", []int{1, 2}, []float64{-1e300, 1e300}, []float64{1, 0}, Focal{Gamma: 1e300}, nil, nil},
		{"γ tiny", []int{1, 3}, []float64{0.5, -3, 2}, []float64{1, 0, 0.5}, Focal{Gamma: 1e-300}, nil, nil},
	}
	for _, c := range cases {
		for _, red := range []Reduction{Mean, Sum, None} {
			grad := make([]float64, len(c.logits))
			r, err := SigmoidFocal(grad, c.logits, c.shape, c.targets, c.focal, &Options[float64]{Reduction: red, Weights: c.weights})
			if err != nil {
				t.Errorf("%s/%v: %v", c.name, red, err)
				continue
			}
			if !isFinite(r.Loss) || r.Loss < 0 {
				t.Errorf("%s/%v: loss %v", c.name, red, r.Loss)
			}
			for i, g := range grad {
				if !isFinite(g) || math.IsInf(c.logits[i], -1) && g != 0 {
					t.Errorf("%s/%v: grad[%d] = %v", c.name, red, i, g)
				}
			}
			for _, i := range c.zero {
				if grad[i] != 0 || red == None && r.Losses[i] != 0 {
					t.Errorf("%s/%v: element %d: gradient %v, want 0", c.name, red, i, grad[i])
				}
			}
			if red == None && len(r.Losses) != len(c.logits) {
				t.Errorf("%s: %d losses for %d elements", c.name, len(r.Losses), len(c.logits))
			}
		}
	}
}

// focalBadCases are bad inputs of SigmoidFocal; the defaults are those of
// the errors_test.go table (targets: class 0 of each position is 1).
var focalBadCases = []struct {
	badCase
	focal Focal
}{
	{badCase{name: "γ negative", shape: []int{2, 3}, logits: seq(6), want: ErrOption, contains: []string{"γ", "-1"}}, Focal{Gamma: -1}},
	{badCase{name: "γ NaN", shape: []int{2, 3}, logits: seq(6), want: ErrOption, contains: []string{"γ"}}, Focal{Gamma: nan}},
	{badCase{name: "γ +Inf", shape: []int{2, 3}, logits: seq(6), want: ErrOption, contains: []string{"γ"}}, Focal{Gamma: inf}},
	{badCase{name: "α negative", shape: []int{2, 3}, logits: seq(6), want: ErrOption, contains: []string{"α", "-0.25"}}, DefaultFocal().WithAlpha(-0.25)},
	{badCase{name: "α above 1", shape: []int{2, 3}, logits: seq(6), want: ErrOption, contains: []string{"α"}}, DefaultFocal().WithAlpha(1.5)},
	{badCase{name: "α NaN", shape: []int{2, 3}, logits: seq(6), want: ErrOption, contains: []string{"α"}}, DefaultFocal().WithAlpha(nan)},
	{badCase{name: "shape", shape: []int{2, 3}, logits: seq(5), gradLen: 5, want: ErrShape}, DefaultFocal()},
	{badCase{name: "targets length", shape: []int{2, 3}, logits: seq(6), dense: seq(5), want: ErrShape}, DefaultFocal()},
	{badCase{name: "target above 1", shape: []int{2, 3}, logits: seq(6), dense: with(6, 4, 1.5), want: ErrTarget,
		contains: []string{"row 1", "class 1", "1.5", "[0, 1]"}}, DefaultFocal()},
	{badCase{name: "target above 1, γ 0", shape: []int{2, 3}, logits: seq(6), dense: with(6, 4, 1.5), want: ErrTarget}, Focal{}},
	{badCase{name: "target negative", shape: []int{2, 3}, logits: seq(6), dense: with(6, 2, -0.5), want: ErrTarget,
		contains: []string{"row 0", "class 2"}}, DefaultFocal()},
	{badCase{name: "target NaN", shape: []int{2, 3}, logits: seq(6), dense: with(6, 5, nan), want: ErrTarget}, DefaultFocal()},
	{badCase{name: "target +Inf", shape: []int{2, 3}, logits: seq(6), dense: with(6, 5, inf), want: ErrTarget}, DefaultFocal()},
	{badCase{name: "NaN logit", shape: []int{2, 3}, logits: with(6, 4, nan), want: ErrLogit, contains: []string{"row 1", "class 1"}}, DefaultFocal()},
	{badCase{name: "+Inf logit spatial", shape: []int{2, 2, 2}, logits: with(8, 7, inf), want: ErrLogit,
		contains: []string{"position 3", "class 1"}}, DefaultFocal()},
	{badCase{name: "target on masked", shape: []int{2, 3}, logits: with(6, 3, ninf), want: ErrMasked,
		contains: []string{"row 1", "class 0"}}, Focal{Gamma: 0.5}.WithAlpha(0.25)},
	{badCase{name: "negative weight", shape: []int{2, 3}, logits: seq(6), opts: Options[float64]{Weights: []float64{1, -1, 1}},
		want: ErrWeight}, DefaultFocal()},
	{badCase{name: "label smoothing", shape: []int{2, 3}, logits: seq(6), opts: Options[float64]{LabelSmoothing: 0.1},
		want: ErrOption}, DefaultFocal()},
	{badCase{name: "ignore index", shape: []int{2, 3}, logits: seq(6), opts: Options[float64]{Ignore: IgnoreIndex(1)},
		want: ErrOption}, DefaultFocal()},
	{badCase{name: "upstream with mean", shape: []int{2, 3}, logits: seq(6), opts: Options[float64]{Upstream: seq(6)},
		want: ErrOption}, DefaultFocal()},
	{badCase{name: "upstream NaN", shape: []int{2, 3}, logits: seq(6), opts: Options[float64]{Reduction: None, Upstream: with(6, 5, nan)},
		want: ErrOption, contains: []string{"row 1", "class 2"}}, DefaultFocal()},
	{badCase{name: "overflow", shape: []int{1, 2}, logits: []float64{-1e308, 0}, opts: Options[float64]{Weights: []float64{1e10, 1}},
		want: ErrOverflow, contains: []string{"row 0", "class 0"}, only64: true}, DefaultFocal()},
	// The loss 1e306·40 is finite, its derivative 1e306·(γ·40·σ(−40) + 1) is not.
	{badCase{name: "gradient overflow", shape: []int{1, 2}, logits: []float64{-40, 0}, dense: []float64{1, 0},
		opts: Options[float64]{Weights: []float64{1e306, 1}},
		want: ErrOverflow, contains: []string{"row 0", "class 0"}, only64: true}, Focal{Gamma: 1e20}},
	// The derivative γ·100·σ(−100) ≈ 4e258 fits a float64, not a float32.
	{badCase{name: "float32 gradient overflow", shape: []int{1, 2}, logits: []float64{-100, 0}, dense: []float64{1, 0},
		want: ErrOverflow, contains: []string{"row 0", "class 0"}, only32: true}, Focal{Gamma: 1e300}},
}

func TestFocalBadInput(t *testing.T) {
	for _, fc := range focalBadCases {
		if !fc.only32 {
			runFocalBad[float64](t, &fc.badCase, fc.focal)
		}
		if !fc.only64 {
			runFocalBad[float32](t, &fc.badCase, fc.focal)
		}
	}
}

func runFocalBad[T Float](t *testing.T, c *badCase, f Focal) {
	t.Helper()
	name := fmt.Sprintf("%s/%T", c.name, T(0))
	grad, logits, _, dense, opts := badCaseInputs[T](c, eSigmoid)
	opts.Losses = make([]float64, len(logits))
	for i := range opts.Losses {
		opts.Losses[i] = 7
	}
	var (
		r   Result
		err error
	)
	func() {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic: %v", p)
			}
		}()
		r, err = SigmoidFocal(grad, logits, c.shape, dense, f, &opts)
	}()
	if !errors.Is(err, c.want) {
		t.Errorf("%s: error %v, want %v", name, err, c.want)
		return
	}
	for _, s := range sentinels {
		if s != c.want && errors.Is(err, s) {
			t.Errorf("%s: error %q also wraps %q", name, err, s)
		}
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "SigmoidFocal: ") {
		t.Errorf("%s: error %q does not start with the entry point", name, msg)
	}
	for _, s := range c.contains {
		if !strings.Contains(msg, s) {
			t.Errorf("%s: error %q does not mention %q", name, msg, s)
		}
	}
	for i, g := range grad {
		if g != 0 {
			t.Errorf("%s: gradient[%d] = %v after the error, want all zeros", name, i, g)
			break
		}
	}
	if opts.Reduction == None {
		for i, l := range opts.Losses {
			if l != 0 {
				t.Errorf("%s: Losses[%d] = %v after the error", name, i, l)
				break
			}
		}
	}
	if r.Loss != 0 || r.Losses != nil || r.Counted != 0 {
		t.Errorf("%s: partial result %+v with the error", name, r)
	}
	var ie *InputError
	if errors.As(err, &ie) && ie.Op != "SigmoidFocal" {
		t.Errorf("%s: InputError.Op = %q", name, ie.Op)
	}
}

func FuzzFocal(f *testing.F) {
	// Seeds with focal parameters after the case's bytes: γ 0.5 at
	// saturated logits, α 0.25, γ 0 (the sigmoid loss), a bad γ, a bad α.
	f.Add([]byte{0, 1, 4, 0, 255, 100, 250, 247, 4, 0, 4, 0, 2, 2})
	f.Add([]byte{0x08, 2, 3, 0, 100, 120, 80, 90, 100, 110, 4, 6, 7, 0, 4, 0, 0, 3, 4, 3, 2})
	f.Add([]byte{0x44, 2, 2, 0, 110, 90, 239, 100, 4, 0, 6, 0, 1, 2, 3, 4, 1, 3})
	f.Add([]byte{0x02, 1, 2, 0, 100, 100, 4, 4, 10, 0})
	f.Add([]byte{0x02, 1, 2, 0, 100, 100, 4, 4, 3, 7})
	fuzzLoss(f, kindFocal)
}

// checkFocalGrad compares each element's gradient with
// g·w_c·α_t·(γ·q^(γ−1)·q'·ce + q^γ·(σ(s) − t)), q = 1 − p_t,
// q' = (1−2t)·σ(s)·σ(−s), computed here in float64.
func checkFocalGrad[T Float](t *testing.T, c *fuzzCase, grad []T, s, tg, w, u []float64) {
	g := geomOf(c.shape)
	eps := 0x1p-52
	tiny := 0x1p-1022
	if c.f32 {
		eps, tiny = 0x1p-23, 0x1p-149
	}
	gamma := c.focal.Gamma
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
		a := 1.0
		if w != nil {
			a = w[(i/g.inner)%g.C]
		}
		tt := tg[i]
		if c.focal.UseAlpha {
			a *= c.focal.Alpha*tt + (1-c.focal.Alpha)*(1-tt)
		}
		if a == 0 || up == 0 {
			if grad[i] != 0 {
				t.Fatalf("element %d: gradient %v, want 0\n%v", i, grad[i], c)
			}
			continue
		}
		// σ(x) and σ(−x) from exp(−|x|), which never overflows (1/(1+e^x)
		// would give 0 for x past 709.78 where σ(−x) is subnormal).
		e := math.Exp(-math.Abs(x))
		sig, sbar := 1/(1+e), e/(1+e)
		if x < 0 {
			sig, sbar = sbar, sig
		}
		ce := math.Max(x, 0) - x*tt + math.Log1p(math.Exp(-math.Abs(x)))
		q := tt*sbar + (1-tt)*sig
		dq := (1 - 2*tt) * sig * sbar
		mod, dmod := 1.0, 0.0
		if gamma != 0 {
			mod = math.Pow(q, gamma)
			if q > 0 {
				dmod = gamma * math.Pow(q, gamma-1) * dq
			}
		}
		want := up * a * (dmod*ce + mod*(sig-tt))
		bound := math.Abs(up) * a * (math.Abs(dmod)*ce + mod*(sig+tt))
		if math.IsInf(bound, 0) || math.IsNaN(bound) {
			continue // the model overflows where the library's form does not
		}
		got := float64(grad[i])
		// γ·q^(γ−1) and q^γ have a relative error of a few ulps times
		// γ·|log q| (from pow), q' and q of a few ulps.
		rel := 32 * eps * (1 + gamma*math.Abs(math.Log(q)))
		if q == 0 {
			rel = 32 * eps
		}
		// The library applies the upstream g last, to w·α_t·q^γ·(…), which
		// may be subnormal (tiny weights) while the product with g is not:
		// allow a few subnormal ulps of it, times |g| and the bracket's size.
		sub := 4 * math.Abs(up) * (3 + gamma*ce) * 0x1p-1074
		if tol := rel*(math.Abs(want)+bound) + 4*tiny + sub; !(math.Abs(got-want) <= tol) {
			t.Fatalf("element %d: gradient %v, want %v (q %v, ce %v)\n%v", i, got, want, q, ce, c)
		}
	}
}
