package xent

import (
	"math/rand/v2"
	"testing"
)

// TestAllocs checks that a call allocates nothing in steady state, on the
// single-threaded and the parallel paths, in place and not.
func TestAllocs(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name    string
		shape   []int
		threads int
	}{
		{"rows/threads=1", []int{64, 1000}, 1},
		{"rows/threads=2", []int{64, 1000}, 2},
		{"spatial/threads=2", []int{2, 21, 32, 32}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := 1
			for _, d := range tc.shape {
				n *= d
			}
			P := n / tc.shape[1]
			logits := make([]float32, n)
			for i := range logits {
				logits[i] = float32(r.NormFloat64())
			}
			grad := make([]float32, n)
			idx := make([]int64, P)
			dense := make([]float32, n)
			for i := range idx {
				idx[i] = int64(r.IntN(tc.shape[1]))
			}
			for i := range dense {
				dense[i] = float32(r.IntN(2))
			}
			losses := make([]float64, P)
			opts := &Options[float32]{Threads: tc.threads}
			none := &Options[float32]{Threads: tc.threads, Reduction: None, Losses: losses}
			calls := map[string]func(){
				"index":    func() { CrossEntropy(grad, logits, tc.shape, idx, opts) },
				"index/in": func() { CrossEntropy(logits, logits, tc.shape, idx, opts) },
				"none":     func() { CrossEntropy(grad, logits, tc.shape, idx, none) },
				"dense":    func() { CrossEntropyDense(grad, logits, tc.shape, dense, opts) },
				"multi":    func() { MultiLabel(grad, logits, tc.shape, dense, opts) },
				"sigmoid":  func() { SigmoidCrossEntropy(grad, logits, tc.shape, dense, opts) },
				"softmax":  func() { Softmax(grad, logits, tc.shape) },
				"forward":  func() { CrossEntropy(nil, logits, tc.shape, idx, opts) },
			}
			for name, f := range calls {
				f()
				if a := testing.AllocsPerRun(20, f); a != 0 {
					t.Errorf("%s: allocs = %v, want 0", name, a)
				}
			}
		})
	}
}
