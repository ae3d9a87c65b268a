package xent

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// Identities between the losses, which hold whatever the implementation.

// close64 reports whether got and want agree to rel relative to scale.
func close64(got, want, rel, scale float64) bool {
	return math.Abs(got-want) <= rel*math.Max(scale, math.Max(math.Abs(got), math.Abs(want)))
}

// randLogits returns n normal logits with standard deviation sd.
func randLogits(rng *rand.Rand, n int, sd float64) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = sd * rng.NormFloat64()
	}
	return s
}

func randWeights(rng *rand.Rand, C int) []float64 {
	w := make([]float64, C)
	for i := range w {
		w[i] = 0.1 + 2*rng.Float64()
	}
	return w
}

// compareGrads fails the test if got and want differ by more than rel
// relative to the largest element of want (at least 1e-3, so that rounding
// noise around a zero gradient, C = 1, passes).
func compareGrads(t *testing.T, name string, got, want []float64, rel float64) {
	t.Helper()
	scale := 1e-3
	for _, v := range want {
		scale = math.Max(scale, math.Abs(v))
	}
	for i := range want {
		if !close64(got[i], want[i], rel, scale) {
			t.Errorf("%s: gradient[%d] = %.17g, want %.17g", name, i, got[i], want[i])
			return
		}
	}
}

var identityShapes = [][]int{{5, 1}, {6, 2}, {7, 6}, {3, 4, 5}, {2, 5, 3, 2}}

// TestMultiLabelIsDenseOverM: with binary labels, the multi-label loss is
// the dense loss with targets t/M, loss and gradient, with or without
// weights (Sum and None; Mean too when every position has a label).
func TestMultiLabelIsDenseOverM(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 3))
	for _, shape := range identityShapes {
		g := geomOf(shape)
		for _, weights := range []bool{false, true} {
			for _, red := range []Reduction{Mean, Sum, None} {
				name := fmt.Sprintf("%v/weights=%v/%v", shape, weights, red)
				logits := randLogits(rng, g.size, 2)
				labels := make([]float64, g.size)
				over := make([]float64, g.size)
				for pos := 0; pos < g.P; pos++ {
					M := 0
					for c := 0; c < g.C; c++ {
						if c == pos%g.C || rng.IntN(3) == 0 { // every position has a label
							labels[g.at(pos, c)] = 1
							M++
						}
					}
					for c := 0; c < g.C; c++ {
						over[g.at(pos, c)] = labels[g.at(pos, c)] / float64(M)
					}
				}
				var w []float64
				if weights {
					w = randWeights(rng, g.C)
				}
				gm, gd := make([]float64, g.size), make([]float64, g.size)
				rm, err := MultiLabel(gm, logits, shape, labels, &Options[float64]{Weights: w, Reduction: red})
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				rd, err := CrossEntropyDense(gd, logits, shape, over, &Options[float64]{Weights: w, Reduction: red})
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if !close64(rm.Loss, rd.Loss, 1e-13, 0) {
					t.Errorf("%s: multi-label loss %.17g, dense t/M %.17g", name, rm.Loss, rd.Loss)
				}
				for i := range rm.Losses {
					if !close64(rm.Losses[i], rd.Losses[i], 1e-13, 0) {
						t.Errorf("%s: loss %d: multi-label %.17g, dense t/M %.17g", name, i, rm.Losses[i], rd.Losses[i])
					}
				}
				if rm.Counted != g.P {
					t.Errorf("%s: Counted = %d, want %d", name, rm.Counted, g.P)
				}
				compareGrads(t, name, gm, gd, 1e-13)
			}
		}
	}
}

// TestIgnoreEachClass is Caffe's TestForwardIgnoreLabel: the Sum losses
// ignoring each class k in turn add up to (C−1) times the full loss, and so
// do the gradients (with and without weights).
func TestIgnoreEachClass(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 5))
	for _, shape := range [][]int{{10, 5}, {3, 4, 2, 3}, {8, 2}} {
		g := geomOf(shape)
		for _, weights := range []bool{false, true} {
			name := fmt.Sprintf("%v/weights=%v", shape, weights)
			logits := randLogits(rng, g.size, 3)
			y := make([]int, g.P)
			for i := range y {
				y[i] = rng.IntN(g.C)
			}
			var w []float64
			if weights {
				w = randWeights(rng, g.C)
			}
			full := make([]float64, g.size)
			r, err := CrossEntropy(full, logits, shape, y, &Options[float64]{Weights: w, Reduction: Sum})
			if err != nil {
				t.Fatal(err)
			}
			sum, gsum, ignored := 0.0, make([]float64, g.size), 0
			for k := 0; k < g.C; k++ {
				gk := make([]float64, g.size)
				rk, err := CrossEntropy(gk, logits, shape, y,
					&Options[float64]{Weights: w, Reduction: Sum, Ignore: IgnoreIndex(k)})
				if err != nil {
					t.Fatal(err)
				}
				sum += rk.Loss
				ignored += rk.Ignored
				for i := range gk {
					gsum[i] += gk[i]
				}
			}
			want := float64(g.C-1) * r.Loss
			if !close64(sum, want, 1e-13, 0) {
				t.Errorf("%s: Σ_k loss ignoring k = %.17g, (C−1)·loss = %.17g", name, sum, want)
			}
			if ignored != g.P {
				t.Errorf("%s: %d positions ignored over all k, want %d", name, ignored, g.P)
			}
			for i := range full {
				full[i] *= float64(g.C - 1)
			}
			compareGrads(t, name, gsum, full, 1e-13)
		}
	}
}

// TestSmoothingLinearity: label smoothing is a blend,
// loss(ε) = (1−ε)·loss(0) + ε·loss(uniform targets over the finite classes),
// for index and dense targets, loss and gradient; Mean without weights (the
// denominators agree), Sum with weights, and rows with masked classes.
func TestSmoothingLinearity(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 7))
	for _, shape := range identityShapes {
		g := geomOf(shape)
		for _, tc := range []struct {
			red             Reduction
			weights, masked bool
		}{{Mean, false, false}, {Sum, true, false}, {Mean, false, true}, {Sum, true, true}, {None, true, true}} {
			for _, eps := range []float64{0.1, 0.5, 1} {
				name := fmt.Sprintf("%v/%v/weights=%v/masked=%v/ε=%v", shape, tc.red, tc.weights, tc.masked, eps)
				logits := randLogits(rng, g.size, 2)
				y := make([]int, g.P)
				onehot := make([]float64, g.size)
				uniform := make([]float64, g.size)
				for pos := range y {
					y[pos] = rng.IntN(g.C)
					if tc.masked && g.C > 1 {
						for c := 0; c < g.C; c++ {
							if c != y[pos] && rng.IntN(2) == 0 {
								logits[g.at(pos, c)] = math.Inf(-1)
							}
						}
					}
					finite := 0
					for c := 0; c < g.C; c++ {
						if !math.IsInf(logits[g.at(pos, c)], -1) {
							finite++
						}
					}
					for c := 0; c < g.C; c++ {
						if !math.IsInf(logits[g.at(pos, c)], -1) {
							uniform[g.at(pos, c)] = 1 / float64(finite)
						}
					}
					onehot[g.at(pos, y[pos])] = 1
				}
				var w []float64
				if tc.weights {
					w = randWeights(rng, g.C)
				}
				opts := func(e float64) *Options[float64] {
					return &Options[float64]{Weights: w, Reduction: tc.red, LabelSmoothing: e}
				}
				g0, gu, ge, gd := make([]float64, g.size), make([]float64, g.size), make([]float64, g.size), make([]float64, g.size)
				r0, err := CrossEntropy(g0, logits, shape, y, opts(0))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				ru, err := CrossEntropyDense(gu, logits, shape, uniform, opts(0))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				re, err := CrossEntropy(ge, logits, shape, y, opts(eps))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				rd, err := CrossEntropyDense(gd, logits, shape, onehot, opts(eps))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				want := (1-eps)*r0.Loss + eps*ru.Loss
				if !close64(re.Loss, want, 1e-13, 0) {
					t.Errorf("%s: index loss(ε) = %.17g, blend %.17g", name, re.Loss, want)
				}
				if !close64(rd.Loss, want, 1e-13, 0) {
					t.Errorf("%s: dense one-hot loss(ε) = %.17g, blend %.17g", name, rd.Loss, want)
				}
				blend := make([]float64, g.size)
				for i := range blend {
					blend[i] = (1-eps)*g0[i] + eps*gu[i]
				}
				compareGrads(t, name+"/index", ge, blend, 1e-13)
				compareGrads(t, name+"/dense", gd, blend, 1e-13)
			}
		}
	}
}

// TestIndexIsDenseOneHot: index targets and one-hot dense targets give the
// same loss and gradient (Sum with weights; Mean without, where the
// denominators Σ w_y and P agree).
func TestIndexIsDenseOneHot(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	for _, shape := range identityShapes {
		g := geomOf(shape)
		for _, weights := range []bool{false, true} {
			red := Mean
			if weights {
				red = Sum
			}
			name := fmt.Sprintf("%v/weights=%v", shape, weights)
			logits := randLogits(rng, g.size, 3)
			y := make([]int, g.P)
			onehot := make([]float64, g.size)
			for pos := range y {
				y[pos] = rng.IntN(g.C)
				onehot[g.at(pos, y[pos])] = 1
			}
			var w []float64
			if weights {
				w = randWeights(rng, g.C)
			}
			gi, gd := make([]float64, g.size), make([]float64, g.size)
			ri, err := CrossEntropy(gi, logits, shape, y, &Options[float64]{Weights: w, Reduction: red})
			if err != nil {
				t.Fatal(err)
			}
			rd, err := CrossEntropyDense(gd, logits, shape, onehot, &Options[float64]{Weights: w, Reduction: red})
			if err != nil {
				t.Fatal(err)
			}
			if !close64(ri.Loss, rd.Loss, 1e-14, 0) {
				t.Errorf("%s: index loss %.17g, one-hot dense %.17g", name, ri.Loss, rd.Loss)
			}
			compareGrads(t, name, gi, gd, 1e-14)
		}
	}
}

// TestThreadsBitwise: results do not depend on Options.Threads, bit for bit,
// on inputs large enough to be cut into many chunks.
func TestThreadsBitwise(t *testing.T) {
	if testing.Short() {
		t.Skip("large inputs")
	}
	rng := rand.New(rand.NewPCG(10, 11))
	for _, shape := range [][]int{{300, 1000}, {4, 21, 64, 64}} {
		g := geomOf(shape)
		logits := randLogits(rng, g.size, 4)
		// A few masked classes, as in a constrained vocabulary.
		for i := 0; i < g.size/97; i++ {
			logits[rng.IntN(g.size)] = math.Inf(-1)
		}
		y := make([]int, g.P)
		dense := make([]float64, g.size)
		for pos := range y {
			for {
				y[pos] = rng.IntN(g.C)
				if !math.IsInf(logits[g.at(pos, y[pos])], -1) {
					break
				}
			}
			if pos%11 == 0 {
				y[pos] = DefaultIgnoreIndex
			}
			if pos%13 == 0 {
				continue // a multi-label position without labels
			}
			for k := 0; k < 3; k++ {
				c := rng.IntN(g.C)
				if !math.IsInf(logits[g.at(pos, c)], -1) {
					dense[g.at(pos, c)] = rng.Float64()
				}
			}
		}
		w := randWeights(rng, g.C)
		for _, k := range allKinds {
			for _, red := range []Reduction{Mean, None} {
				var first Result
				var firstGrad []float64
				for _, threads := range []int{1, 2, 3, 8} {
					eps := 0.1
					if k == kindMulti || k == kindSigmoid {
						eps = 0
					}
					grad := make([]float64, g.size)
					r, err := callLoss(k, grad, logits, shape, y, dense,
						&Options[float64]{Weights: w, Reduction: red, LabelSmoothing: eps, Threads: threads})
					if err != nil {
						t.Fatalf("%v %v threads=%d: %v", k, shape, threads, err)
					}
					if firstGrad == nil {
						first, firstGrad = r, grad
						continue
					}
					if math.Float64bits(r.Loss) != math.Float64bits(first.Loss) || r.Counted != first.Counted ||
						r.Ignored != first.Ignored || r.Skipped != first.Skipped {
						t.Errorf("%v %v %v: threads=%d gives %+v, threads=1 %+v", k, shape, red, threads,
							[]any{r.Loss, r.Counted, r.Ignored, r.Skipped},
							[]any{first.Loss, first.Counted, first.Ignored, first.Skipped})
					}
					if !bitsEqual(r.Losses, first.Losses) {
						t.Errorf("%v %v %v: threads=%d per-position losses differ", k, shape, red, threads)
					}
					if !bitsEqual(grad, firstGrad) {
						t.Errorf("%v %v %v: threads=%d gradient differs", k, shape, red, threads)
					}
				}
			}
		}
	}
}

// TestSoftmaxRows: Softmax sums to 1 over the classes, LogSoftmax is its log,
// masked classes get 0 and −Inf, in place equals separate, for float64 and
// float32, flat and spatial.
func TestSoftmaxRows(t *testing.T) {
	testSoftmaxRows[float64](t, 1e-14)
	testSoftmaxRows[float32](t, 2e-6)
}

func testSoftmaxRows[T Float](t *testing.T, tol float64) {
	rng := rand.New(rand.NewPCG(12, 13))
	for _, shape := range [][]int{{4, 1}, {5, 2}, {6, 17}, {3, 70}, {2, 3, 4}, {2, 33, 5, 3}} {
		g := geomOf(shape)
		for _, sd := range []float64{1, 30} {
			name := fmt.Sprintf("%T/%v/sd=%v", T(0), shape, sd)
			logits := convert[T](randLogits(rng, g.size, sd))
			if g.C > 1 {
				for pos := 0; pos < g.P; pos += 2 {
					logits[g.at(pos, rng.IntN(g.C))] = T(math.Inf(-1))
				}
			}
			p, lp := make([]T, g.size), make([]T, g.size)
			if err := Softmax(p, logits, shape); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if err := LogSoftmax(lp, logits, shape); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for pos := 0; pos < g.P; pos++ {
				sum := 0.0
				m := math.Inf(-1)
				for c := 0; c < g.C; c++ {
					m = math.Max(m, float64(logits[g.at(pos, c)]))
				}
				ref := 0.0
				for c := 0; c < g.C; c++ {
					ref += math.Exp(float64(logits[g.at(pos, c)]) - m)
				}
				for c := 0; c < g.C; c++ {
					i := g.at(pos, c)
					pc, lc := float64(p[i]), float64(lp[i])
					sum += pc
					if math.IsInf(float64(logits[i]), -1) {
						if pc != 0 || !math.IsInf(lc, -1) {
							t.Errorf("%s: masked class: p = %v, log p = %v", name, pc, lc)
						}
						continue
					}
					if pc < 0 || pc > 1 {
						t.Errorf("%s: p[%d] = %v", name, i, pc)
					}
					// log p from an independent float64 computation.
					want := float64(logits[i]) - m - math.Log(ref)
					if !close64(lc, want, tol, 1) {
						t.Errorf("%s: log p[%d] = %v, want %v", name, i, lc, want)
					}
					if pc > 1e-30 && !close64(math.Log(pc), lc, 4*tol, 1) {
						t.Errorf("%s: log(Softmax)[%d] = %v, LogSoftmax %v", name, i, math.Log(pc), lc)
					}
				}
				if !close64(sum, 1, float64(g.C)*tol, 0) {
					t.Errorf("%s: position %d: Σ p = %.17g", name, pos, sum)
				}
			}
			buf := slices.Clone(logits)
			if err := Softmax(buf, buf, shape); err != nil || !bitsEqual(buf, p) {
				t.Errorf("%s: in-place Softmax differs (err %v)", name, err)
			}
			buf = slices.Clone(logits)
			if err := LogSoftmax(buf, buf, shape); err != nil || !bitsEqual(buf, lp) {
				t.Errorf("%s: in-place LogSoftmax differs (err %v)", name, err)
			}
		}
	}
}

// coefficients returns b_k, the part of ∂ℓ/∂s_k = a·p_k − b_k that does not
// depend on the logits, for one counted position of a softmax kind, from
// SPEC 2.1–2.3 and 2.7 (weights w may be nil). Σ_k b_k = a, so the
// gradient of every position sums to zero: the softmax losses are invariant
// under s → s + c·1.
func coefficients(k lossKind, g geom, logits, dense []float64, y int, w []float64, eps float64, pos int) []float64 {
	wt := func(c int) float64 {
		if w == nil {
			return 1
		}
		return w[c]
	}
	finite := 0
	for c := 0; c < g.C; c++ {
		if !math.IsInf(logits[g.at(pos, c)], -1) {
			finite++
		}
	}
	b := make([]float64, g.C)
	M := 0
	for c := 0; c < g.C; c++ {
		if k != kindIndex && dense[g.at(pos, c)] != 0 {
			M++
		}
	}
	for c := 0; c < g.C; c++ {
		masked := math.IsInf(logits[g.at(pos, c)], -1)
		switch k {
		case kindIndex:
			if c == y {
				b[c] += (1 - eps) * wt(c)
			}
			if !masked {
				b[c] += eps * wt(c) / float64(finite)
			}
		case kindDense:
			b[c] = wt(c) * (1 - eps) * dense[g.at(pos, c)]
			if !masked {
				b[c] += wt(c) * eps / float64(finite)
			}
		case kindMulti:
			b[c] = wt(c) * dense[g.at(pos, c)] / float64(M)
		}
	}
	return b
}

// TestGradientSumsToZero: for every softmax kind, with or without weights,
// smoothing, masked classes, targets that do not sum to 1, the gradient of
// each counted position sums to zero over the classes (the upstream gradient
// is 1, Sum). Derivation: Σ_k (a·p_k − b_k) = a − Σ_k b_k, and a = Σ_k b_k
// for each kind (a = (1−ε)w_y + (ε/C')W' for index targets, T' = Σ w_c t'_c
// for dense ones, T/M for multi-label ones), so the dense case does not need
// targets that sum to 1. The test also checks that each gradient equals
// p_k·Σb − b_k with b from the SPEC's coefficients.
func TestGradientSumsToZero(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 15))
	checked := 0
	defer func() {
		if checked < 500 {
			t.Errorf("only %d positions checked", checked)
		}
	}()
	for _, k := range []lossKind{kindIndex, kindDense, kindMulti} {
		for _, cfg := range gradConfigs {
			if !cfg.applies(k) || cfg.reduction != Mean || cfg.upstream {
				continue
			}
			for _, shape := range gradShapes {
				c := newCase(rng, k, shape, cfg)
				c.opts.Reduction = Sum
				g := geomOf(shape)
				grad := make([]float64, g.size)
				if _, _, err := c.eval(grad, nil); err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				p := make([]float64, g.size)
				for i, s := range c.logits {
					if math.IsNaN(s) {
						p[i] = 0 // an unread position
					} else {
						p[i] = s
					}
				}
				if err := Softmax(p, p, shape); err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				for pos := 0; pos < g.P; pos++ {
					y := 0
					if k == kindIndex {
						y = c.idx[pos]
						if y == c.opts.Ignore.Index() {
							continue
						}
					}
					b := coefficients(k, g, c.logits, c.dense, y, c.opts.Weights, c.opts.LabelSmoothing, pos)
					a, sum, abs := 0.0, 0.0, 0.0
					for _, v := range b {
						a += v
					}
					if k == kindMulti && math.IsNaN(a) {
						continue // M = 0: skipped
					}
					for cl := 0; cl < g.C; cl++ {
						i := g.at(pos, cl)
						sum += grad[i]
						abs += math.Abs(grad[i])
						want := a*p[i] - b[cl]
						if !close64(grad[i], want, 1e-12, a) {
							t.Errorf("%s: position %d class %d: gradient %.17g, a·p − b = %.17g", c.name, pos, cl, grad[i], want)
						}
					}
					checked++
					if math.Abs(sum) > 1e-14*(abs+a)*float64(g.C) {
						t.Errorf("%s: position %d: Σ_k gradient = %g (Σ|g| %g)", c.name, pos, sum, abs)
					}
				}
			}
		}
	}
}
