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

func checkPasses[T Float](t *testing.T, flag *bool, tol float64) {
	saved := *flag
	defer func() { *flag = saved }()
	r := rand.New(rand.NewPCG(5, 6))
	for _, shape := range [][]int{{7, 1}, {9, 3}, {33, 17}, {5, 1000}, {3, 5, 7}, {2, 21, 40}, {2, 4, 3, 300}} {
		N, C := shape[0], shape[1]
		inner := 1
		for _, d := range shape[2:] {
			inner *= d
		}
		logits := make([]T, N*C*inner)
		for i := range logits {
			logits[i] = T(r.NormFloat64() * 5)
			if C > 2 && r.IntN(10) == 0 {
				logits[i] = T(math.Inf(-1))
			}
		}
		targets := make([]int, N*inner)
		for pos := range targets {
			targets[pos] = r.IntN(C)
			n, j := pos/inner, pos%inner
			logits[(n*C+targets[pos])*inner+j] = T(r.NormFloat64()) // never masked
			if r.IntN(5) == 0 {
				targets[pos] = DefaultIgnoreIndex
			}
		}
		weights := make([]T, C)
		for i := range weights {
			weights[i] = T(r.Float64() * 2)
		}
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
