package xent

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestTwoAndThreePasses: the two strategies of the index fast path (online
// max and sum then scaled exponentials; or max, exponentials with their sum,
// then a scale) give the same loss and gradient up to rounding, in both
// float types, for rows and spatial blocks, with weights, ignored positions
// and masked classes.
func TestTwoAndThreePasses(t *testing.T) {
	t.Run("float32", func(t *testing.T) { checkPasses[float32](t, &threePassFloat32, 2e-6) })
	t.Run("float64", func(t *testing.T) { checkPasses[float64](t, &threePassFloat64, 1e-13) })
}

// maskedCase makes logits with masked (−Inf) classes, never at the target,
// targets with some ignored, and class weights, for a shape.
func maskedCase[T Float](r *rand.Rand, shape []int) (logits []T, targets []int, weights []T) {
	N, C := shape[0], shape[1]
	inner := 1
	for _, d := range shape[2:] {
		inner *= d
	}
	logits = make([]T, N*C*inner)
	for i := range logits {
		logits[i] = T(r.NormFloat64() * 5)
		if C > 2 && r.IntN(10) == 0 {
			logits[i] = T(math.Inf(-1))
		}
	}
	targets = make([]int, N*inner)
	for pos := range targets {
		targets[pos] = r.IntN(C)
		n, j := pos/inner, pos%inner
		logits[(n*C+targets[pos])*inner+j] = T(r.NormFloat64()) // never masked
		if r.IntN(5) == 0 {
			targets[pos] = DefaultIgnoreIndex
		}
	}
	weights = make([]T, C)
	for i := range weights {
		weights[i] = T(r.Float64() * 2)
	}
	return logits, targets, weights
}

func checkPasses[T Float](t *testing.T, flag *bool, tol float64) {
	saved := *flag
	defer func() { *flag = saved }()
	r := rand.New(rand.NewPCG(5, 6))
	for _, shape := range [][]int{{7, 1}, {9, 3}, {33, 17}, {5, 1000}, {3, 5, 7}, {2, 21, 40}, {2, 4, 3, 300}} {
		logits, targets, weights := maskedCase[T](r, shape)
		var res [2]Result
		var grads [2][]T
		for i, three := range []bool{false, true} {
			*flag = three
			grads[i] = append([]T(nil), logits...) // in place
			var err error
			res[i], err = CrossEntropy(grads[i], grads[i], shape, targets, &Options[T]{Weights: weights})
			if err != nil {
				t.Fatal(err)
			}
		}
		if d := math.Abs(res[0].Loss - res[1].Loss); d > tol*math.Abs(res[0].Loss) {
			t.Errorf("%v: loss %v (two passes) vs %v (three)", shape, res[0].Loss, res[1].Loss)
		}
		for i := range grads[0] {
			if d := math.Abs(float64(grads[0][i] - grads[1][i])); d > tol {
				t.Fatalf("%v: gradient[%d] %v (two passes) vs %v (three)", shape, i, grads[0][i], grads[1][i])
			}
		}
	}
}

// TestFusedBlock: float32 spatial blocks through the fused kernels give
// bitwise the loss, losses and gradient of the three-pass kernels, with and
// without weights, with ignored positions and masked classes; and a NaN or +Inf in the
// middle of a block gives the same error either way. (An +Inf in an ignored
// column sends the fused route's block to the generic code, where the
// three passes finish it themselves: those blocks agree up to rounding.)
func TestFusedBlock(t *testing.T) {
	saved := fusedCols
	defer func() { fusedCols = saved }()
	r := rand.New(rand.NewPCG(7, 8))
	// {1, 21, 32, 32} (weighted) and {2, 32, 1024} (unweighted) take the
	// kernel's wide steps (rows 4 KiB apart, C ≤ 32), {1, 33, 1024} its
	// narrow ones.
	for si, shape := range [][]int{{2, 21, 40}, {3, 5, 7}, {1, 64, 300}, {2, 21, 16, 16}, {1, 1, 33}, {2, 2, 3, 300}, {2, 65, 20}, {1, 33, 1024}, {1, 21, 32, 32}, {2, 32, 1024}} {
		for _, bad := range []float64{0, math.NaN(), math.Inf(1)} {
			red := []Reduction{Mean, None}[si%2]
			logits, targets, weights := maskedCase[float32](r, shape)
			if si%3 == 0 {
				weights = nil // the unweighted branch
			}
			inner := len(targets) / shape[0]
			if bad != 0 {
				logits[len(logits)-inner/2-1] = float32(bad)
			}
			var res [2]Result
			var errs [2]error
			var grads [2][]float32
			var losses [2][]float64
			for i, fused := range []bool{true, false} {
				fusedCols = fused
				grads[i] = append([]float32(nil), logits...)
				losses[i] = make([]float64, len(targets))
				res[i], errs[i] = CrossEntropy(grads[i], grads[i], shape, targets,
					&Options[float32]{Weights: weights, Reduction: red, Losses: losses[i]})
			}
			if (errs[0] == nil) != (errs[1] == nil) || errs[0] != nil && errs[0].Error() != errs[1].Error() {
				t.Fatalf("%v bad %v: error %v (fused) vs %v (three passes)", shape, bad, errs[0], errs[1])
			}
			same := func(x, y float64) bool {
				return math.Float64bits(x) == math.Float64bits(y) || bad != 0 && math.Abs(x-y) <= 1e-6*math.Abs(y)
			}
			a, b := res[0], res[1]
			if !same(a.Loss, b.Loss) || a.Counted != b.Counted || a.Ignored != b.Ignored || a.Skipped != b.Skipped {
				t.Errorf("%v bad %v: loss %v, counted %d, ignored %d (fused) vs %v, %d, %d (three passes)", shape, bad,
					a.Loss, a.Counted, a.Ignored, b.Loss, b.Counted, b.Ignored)
			}
			for i := range grads[0] {
				if !same(float64(grads[0][i]), float64(grads[1][i])) && !(bad != 0 && math.Abs(float64(grads[0][i]-grads[1][i])) <= 1e-7) {
					t.Fatalf("%v bad %v: gradient[%d] %v (fused) vs %v (three passes)", shape, bad, i, grads[0][i], grads[1][i])
				}
			}
			for i := range losses[0] {
				if !same(losses[0][i], losses[1][i]) {
					t.Fatalf("%v bad %v: losses[%d] %v (fused) vs %v (three passes)", shape, bad, i, losses[0][i], losses[1][i])
				}
			}

			// The loss alone: the fused forward gives the fused
			// forward+backward's losses bit for bit, and the online
			// kernel's up to rounding (it sums against moving maxima): a
			// relative 1e-6, and 2^−21 absolute, four ulps of a float32 sum
			// near 1, which is the error of log(sum) where the loss is
			// small (a row's sum differing in its last bit moved a loss of
			// 0.0039 by 2.8e-5 of itself).
			for _, fused := range []bool{true, false} {
				fusedCols = fused
				fwd := make([]float64, len(targets))
				r, err := CrossEntropy(nil, logits, shape, targets,
					&Options[float32]{Weights: weights, Reduction: red, Losses: fwd})
				if (err == nil) != (errs[0] == nil) || err != nil && err.Error() != errs[0].Error() {
					t.Fatalf("%v bad %v fused %v: forward error %v; forward+backward %v", shape, bad, fused, err, errs[0])
				}
				close := func(x, y float64) bool {
					return fused && bad == 0 && math.Float64bits(x) == math.Float64bits(y) ||
						(!fused || bad != 0) && math.Abs(x-y) <= 1e-6*math.Abs(y)+0x1p-21
				}
				if !close(r.Loss, res[0].Loss) {
					t.Errorf("%v bad %v fused %v: forward loss %v; forward+backward %v", shape, bad, fused, r.Loss, res[0].Loss)
				}
				for j := range fwd {
					if !close(fwd[j], losses[0][j]) {
						t.Fatalf("%v bad %v fused %v: forward losses[%d] %v; forward+backward %v", shape, bad, fused, j, fwd[j], losses[0][j])
					}
				}
			}
		}
	}
}

// TestPipelinedRows: rows with a gradient, pipelined (each kernel call also
// takes the next row's max), give bit for bit the loss, losses, gradient
// and error of one row at a time, in both float types: with weights and
// without, ignored rows, masked classes, and a NaN, an +Inf, a row of −Inf
// or a −Inf target logit in some row after the first of a chunk. The loss
// alone, batched, agrees with one row at a time too.
func TestPipelinedRows(t *testing.T) {
	t.Run("float32", func(t *testing.T) { checkPipelined[float32](t) })
	t.Run("float64", func(t *testing.T) { checkPipelined[float64](t) })
}

func checkPipelined[T Float](t *testing.T) {
	saved := pipelineRows
	defer func() { pipelineRows = saved }()
	r := rand.New(rand.NewPCG(9, 10))
	ninf := math.Inf(-1)
	for si, shape := range [][]int{{1, 5}, {2, 1}, {9, 3}, {40, 17}, {6, 1000}, {33, 64}} {
		for bi, bad := range []float64{0, math.NaN(), math.Inf(1), ninf, -2} {
			N, C := shape[0], shape[1]
			logits, targets, weights := maskedCase[T](r, shape)
			if si%2 == 0 {
				weights = nil
			}
			row := N/2 + bi%2 // a row after the first, where there is one
			if row >= N {
				row = N - 1
			}
			targets[row] = r.IntN(C) // counted
			switch {
			case bad == -2: // −Inf at the target
				logits[row*C+targets[row]] = T(ninf)
			case math.IsInf(bad, -1): // the whole row
				for k := 0; k < C; k++ {
					logits[row*C+k] = T(ninf)
				}
			case bad != 0:
				logits[row*C+r.IntN(C)] = T(bad)
			}
			var res [2]Result
			var errs [2]error
			var grads [2][]T
			var losses [2][]float64
			for i, on := range []bool{true, false} {
				pipelineRows = on
				grads[i] = append([]T(nil), logits...) // in place
				losses[i] = make([]float64, N)
				res[i], errs[i] = CrossEntropy(grads[i], grads[i], shape, targets,
					&Options[T]{Weights: weights, Reduction: []Reduction{Mean, None}[bi%2], Losses: losses[i]})
			}
			if (errs[0] == nil) != (errs[1] == nil) || errs[0] != nil && errs[0].Error() != errs[1].Error() {
				t.Fatalf("%v bad %v: error %v (pipelined) vs %v (row by row)", shape, bad, errs[0], errs[1])
			}
			if bad != 0 && errs[0] == nil {
				t.Fatalf("%v bad %v at row %d: no error", shape, bad, row)
			}
			if math.Float64bits(res[0].Loss) != math.Float64bits(res[1].Loss) || res[0].Counted != res[1].Counted || res[0].Ignored != res[1].Ignored {
				t.Errorf("%v bad %v: %+v (pipelined) vs %+v (row by row)", shape, bad, res[0], res[1])
			}
			for i := range grads[0] {
				if math.Float64bits(float64(grads[0][i])) != math.Float64bits(float64(grads[1][i])) {
					t.Fatalf("%v bad %v: gradient[%d] %v (pipelined) vs %v (row by row)", shape, bad, i, grads[0][i], grads[1][i])
				}
			}
			for i := range losses[0] {
				if math.Float64bits(losses[0][i]) != math.Float64bits(losses[1][i]) {
					t.Fatalf("%v bad %v: losses[%d] %v (pipelined) vs %v (row by row)", shape, bad, i, losses[0][i], losses[1][i])
				}
			}

			// The loss alone, whose logs are also taken a batch at a
			// time: the same error, and the same losses up to the
			// rounding of a log, as one row at a time.
			var fwd [2][]float64
			for i, on := range []bool{true, false} {
				pipelineRows = on
				fwd[i] = make([]float64, N)
				res[i], errs[i] = CrossEntropy(nil, logits, shape, targets,
					&Options[T]{Weights: weights, Reduction: []Reduction{Mean, None}[bi%2], Losses: fwd[i]})
			}
			if (errs[0] == nil) != (errs[1] == nil) || errs[0] != nil && errs[0].Error() != errs[1].Error() {
				t.Fatalf("%v bad %v: forward error %v (batched) vs %v (row by row)", shape, bad, errs[0], errs[1])
			}
			if d := math.Abs(res[0].Loss - res[1].Loss); d > 1e-14*math.Abs(res[1].Loss) || res[0].Counted != res[1].Counted {
				t.Errorf("%v bad %v: forward %+v (batched) vs %+v (row by row)", shape, bad, res[0], res[1])
			}
			for i := range fwd[0] {
				if d := math.Abs(fwd[0][i] - fwd[1][i]); d > 1e-14*math.Abs(fwd[1][i]) {
					t.Fatalf("%v bad %v: forward losses[%d] %v (batched) vs %v (row by row)", shape, bad, i, fwd[0][i], fwd[1][i])
				}
			}
		}
	}
}

// TestFusedHandoff: a fused block that stops early without an error (an
// +Inf logit at an ignored position, which the kernel cannot tell from a
// bad one) has the generic path finish it, and the losses of both halves
// count once each: the same result, up to rounding, as without the fused
// kernel.
func TestFusedHandoff(t *testing.T) {
	// Blocks of 256, 256 and 88 positions; and of 256 with the rows 4 KiB
	// apart, where the kernel takes 256 positions at a time.
	t.Run("600", func(t *testing.T) { fusedHandoff(t, 600, []int{300, 700, 1150}) })
	t.Run("1024", func(t *testing.T) { fusedHandoff(t, 1024, []int{300, 1100, 2047}) })
}

func fusedHandoff(t *testing.T, inner int, stops []int) {
	saved := fusedCols
	defer func() { fusedCols = saved }()
	r := rand.New(rand.NewPCG(11, 12))
	shape := []int{2, 5, inner}
	logits := make([]float32, 2*5*inner)
	for i := range logits {
		logits[i] = float32(r.NormFloat64() * 3)
	}
	targets := make([]int, 2*inner)
	for i := range targets {
		targets[i] = r.IntN(5)
	}
	for _, pos := range stops {
		n, j := pos/inner, pos%inner
		targets[pos] = DefaultIgnoreIndex
		logits[(n*5+2)*inner+j] = float32(math.Inf(1))
	}
	var res [2]Result
	var losses [2][]float64
	for i, fused := range []bool{true, false} {
		fusedCols = fused
		grad := make([]float32, len(logits))
		losses[i] = make([]float64, len(targets))
		var err error
		res[i], err = CrossEntropy(grad, logits, shape, targets, &Options[float32]{Reduction: None, Losses: losses[i]})
		if err != nil {
			t.Fatal(err)
		}
		sum, err := CrossEntropy(nil, logits, shape, targets, &Options[float32]{Reduction: Sum})
		if err != nil {
			t.Fatal(err)
		}
		if d := math.Abs(sum.Loss - res[i].Loss); d > 1e-9*math.Abs(sum.Loss) {
			t.Errorf("fused %v: Sum %v, None's total %v", fused, sum.Loss, res[i].Loss)
		}
		want := 0.0
		for _, l := range losses[i] {
			want += l
		}
		if d := math.Abs(want - sum.Loss); d > 1e-9*want {
			t.Errorf("fused %v: Sum %v; the per-position losses add up to %v", fused, sum.Loss, want)
		}
	}
	if d := math.Abs(res[0].Loss - res[1].Loss); d > 1e-6*math.Abs(res[1].Loss) || res[0].Counted != res[1].Counted {
		t.Errorf("loss %v, counted %d (fused) vs %v, %d (three passes)", res[0].Loss, res[0].Counted, res[1].Loss, res[1].Counted)
	}
}

// TestFusedNarrowTargets: int32 and uint8 targets, widened for the fused
// kernel, give bit for bit the loss, losses and gradient of int targets,
// with ignored positions (uint8 with an ignore index of 255).
func TestFusedNarrowTargets(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	shape := []int{2, 21, 300}
	logits, targets, _ := maskedCase[float32](r, shape)
	for i, y := range targets {
		if y == DefaultIgnoreIndex {
			targets[i] = 255
		}
	}
	run := func(f func(grad []float32, o *Options[float32]) (Result, error)) ([]float32, []float64, float64) {
		grad := make([]float32, len(logits))
		losses := make([]float64, len(targets))
		res, err := f(grad, &Options[float32]{Reduction: None, Losses: losses, Ignore: IgnoreIndex(255)})
		if err != nil {
			t.Fatal(err)
		}
		return grad, losses, res.Loss
	}
	wg, wl, wloss := run(func(g []float32, o *Options[float32]) (Result, error) {
		return CrossEntropy(g, logits, shape, targets, o)
	})
	t32 := make([]int32, len(targets))
	t8 := make([]uint8, len(targets))
	for i, y := range targets {
		t32[i], t8[i] = int32(y), uint8(y)
	}
	for name, f := range map[string]func([]float32, *Options[float32]) (Result, error){
		"int32": func(g []float32, o *Options[float32]) (Result, error) { return CrossEntropy(g, logits, shape, t32, o) },
		"uint8": func(g []float32, o *Options[float32]) (Result, error) { return CrossEntropy(g, logits, shape, t8, o) },
	} {
		g, l, loss := run(f)
		if math.Float64bits(loss) != math.Float64bits(wloss) {
			t.Errorf("%s: loss %v; int targets %v", name, loss, wloss)
		}
		for i := range g {
			if math.Float32bits(g[i]) != math.Float32bits(wg[i]) {
				t.Fatalf("%s: gradient[%d] %v; int targets %v", name, i, g[i], wg[i])
			}
		}
		for i := range l {
			if math.Float64bits(l[i]) != math.Float64bits(wl[i]) {
				t.Fatalf("%s: losses[%d] %v; int targets %v", name, i, l[i], wl[i])
			}
		}
	}
}
