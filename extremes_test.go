package xent

import (
	"fmt"
	"math"
	"testing"

	"github.com/xent-go/xent/internal/kernel"
)

// Extreme but valid inputs have exact (or nearly exact) answers, which every
// kernel implementation must give in float32 and float64, on the row path
// and on the spatial path. The expected values are worked out by hand in
// float64 from the inputs; float32 results are checked against the same
// float64 truth: a float32 loss must not overflow where the true value is
// finite, since losses are kept in float64.

type extremeCase struct {
	name    string
	logits  []float64
	index   int       // index target, or -1 for dense
	dense   []float64 // dense targets when index < 0
	loss    func(f32 bool) float64
	grad    []float64
	lossTol float64 // relative
}

func extremeCases() []extremeCase {
	inf := math.Inf(-1)
	f32 := func(v float64) float64 { return float64(float32(v)) }
	pick := func(v float64) func(bool) float64 {
		return func(is32 bool) float64 {
			if is32 {
				return f32(v)
			}
			return v
		}
	}
	return []extremeCase{
		{name: "spread 1e4, target low", logits: []float64{0, 1e4}, index: 0,
			loss: pick(1e4), grad: []float64{-1, 1}},
		{name: "spread 1e4, target high", logits: []float64{0, 1e4}, index: 1,
			loss: pick(0), grad: []float64{0, 0}},
		{name: "spread 2e30", logits: []float64{-1e30, 1e30}, index: 0,
			// (m − s_y) + log 1 = 2·1e30, exact in binary for the stored value.
			loss: func(is32 bool) float64 {
				if is32 {
					return 2 * f32(1e30)
				}
				return 2e30
			}, grad: []float64{-1, 1}},
		{name: "spread 6e38 (beyond float32)", logits: []float64{-3e38, 3e38}, index: 0,
			loss: func(is32 bool) float64 {
				if is32 {
					return 2 * f32(3e38) // 6e38: finite in float64, not in float32
				}
				return 6e38
			}, grad: []float64{-1, 1}},
		{name: "all equal", logits: []float64{7, 7, 7, 7, 7}, index: 2,
			loss: pick(math.Log(5)), grad: []float64{0.2, 0.2, -0.8, 0.2, 0.2}, lossTol: 1e-6},
		{name: "all equal 1e30", logits: []float64{1e30, 1e30, 1e30, 1e30}, index: 0,
			loss: func(bool) float64 { return math.Log(4) }, grad: []float64{-0.75, 0.25, 0.25, 0.25}, lossTol: 1e-6},
		{name: "single finite among −Inf", logits: []float64{inf, 3, inf, inf}, index: 1,
			loss: pick(0), grad: []float64{0, 0, 0, 0}},
		{name: "C = 1", logits: []float64{1e30}, index: 0,
			loss: pick(0), grad: []float64{0}},
		{name: "argmax has target 0", logits: []float64{100, 0}, index: -1, dense: []float64{0, 1},
			// −log p_1 = 100 + log(1 + e^−100) = 100 to float64 precision.
			loss: pick(100), grad: []float64{1, -1}},
	}
}

func forEachImpl(t *testing.T, f func(t *testing.T)) {
	for _, name := range kernel.Implementations() {
		t.Run("impl="+name, func(t *testing.T) {
			restore, ok := kernel.Select(name)
			if !ok {
				t.Skip("not available")
			}
			defer restore()
			f(t)
		})
	}
}

func TestExtremeValues(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		for _, c := range extremeCases() {
			for _, spatial := range []bool{false, true} {
				name := fmt.Sprintf("%s/spatial=%v", c.name, spatial)
				t.Run(name+"/float64", func(t *testing.T) { checkExtreme[float64](t, c, spatial) })
				t.Run(name+"/float32", func(t *testing.T) { checkExtreme[float32](t, c, spatial) })
			}
		}
	})
}

// checkExtreme runs one case as an (1, C) row or, spatially, as (1, C, 3)
// with the same position repeated three times.
func checkExtreme[T Float](t *testing.T, c extremeCase, spatial bool) {
	C := len(c.logits)
	reps := 1
	shape := []int{1, C}
	if spatial {
		reps = 3
		shape = []int{1, C, reps}
	}
	logits := make([]T, C*reps)
	dense := make([]T, C*reps)
	for k := 0; k < C; k++ {
		for j := 0; j < reps; j++ {
			logits[k*reps+j] = T(c.logits[k])
			if c.index < 0 {
				dense[k*reps+j] = T(c.dense[k])
			}
		}
	}
	grad := make([]T, len(logits))
	var r Result
	var err error
	if c.index >= 0 {
		targets := make([]int, reps)
		for j := range targets {
			targets[j] = c.index
		}
		r, err = CrossEntropy(grad, logits, shape, targets, &Options[T]{Reduction: Sum})
	} else {
		r, err = CrossEntropyDense(grad, logits, shape, dense, &Options[T]{Reduction: Sum})
	}
	if err != nil {
		t.Fatal(err)
	}
	want := c.loss(is32[T]()) * float64(reps)
	if d := math.Abs(r.Loss - want); !(d <= c.lossTol*math.Abs(want)) || math.IsInf(r.Loss, 0) {
		t.Errorf("loss %v, want %v", r.Loss, want)
	}
	tol := 1e-15
	if is32[T]() {
		tol = 1e-6
	}
	for k := 0; k < C; k++ {
		for j := 0; j < reps; j++ {
			got := float64(grad[k*reps+j])
			if math.Abs(got-c.grad[k]) > tol {
				t.Errorf("grad[class %d] = %v, want %v", k, got, c.grad[k])
			}
		}
	}
}

// TestMillionClasses: one row of C = 1,000,000. With every logit equal the
// loss is log C exactly; with random logits, a float64 reference.
func TestMillionClasses(t *testing.T) {
	const C = 1_000_000
	forEachImpl(t, func(t *testing.T) {
		for _, random := range []bool{false, true} {
			logits64 := make([]float64, C)
			if random {
				for i := range logits64 {
					logits64[i] = float64(float32(math.Sin(float64(i)*0.7) * 20))
				}
			}
			const y = 123_457
			m := math.Inf(-1)
			for _, v := range logits64 {
				m = math.Max(m, v)
			}
			sum := 0.0
			for _, v := range logits64 {
				sum += math.Exp(v - m)
			}
			want := (m - logits64[y]) + math.Log(sum)
			logits32 := make([]float32, C)
			for i, v := range logits64 {
				logits32[i] = float32(v)
			}
			r64, err := CrossEntropy(logits64, logits64, []int{1, C}, []int{y}, nil)
			if err != nil {
				t.Fatal(err)
			}
			r32, err := CrossEntropy(logits32, logits32, []int{1, C}, []int{y}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(r64.Loss-want) > 1e-12*want {
				t.Errorf("random=%v float64: loss %v, want %v", random, r64.Loss, want)
			}
			if math.Abs(r32.Loss-want) > 2e-5*want {
				t.Errorf("random=%v float32: loss %v, want %v", random, r32.Loss, want)
			}
			// The gradients (written in place) sum to zero over the row.
			s64, s32 := 0.0, 0.0
			for i := range logits64 {
				s64 += logits64[i]
				s32 += float64(logits32[i])
			}
			if math.Abs(s64) > 1e-9 || math.Abs(s32) > 1e-3 {
				t.Errorf("random=%v: gradient sums %v (float64), %v (float32), want 0", random, s64, s32)
			}
		}
	})
}
