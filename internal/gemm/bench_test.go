package gemm

import (
	"fmt"
	"testing"
)

// BenchmarkSgemm times the LeNet shapes under each implementation and
// reports GFLOPS (2·m·n·k per call).
func BenchmarkSgemm(b *testing.B) {
	for _, s := range nnShapes {
		for _, name := range Implementations() {
			b.Run(fmt.Sprintf("shape=%s/m=%d/n=%d/k=%d/impl=%s", s.name, s.m, s.n, s.k, name), func(b *testing.B) {
				restore, _ := Select(name)
				defer restore()
				x := make([]float32, s.m*s.k)
				y := make([]float32, s.k*s.n)
				z := make([]float32, s.m*s.n)
				for i := range x {
					x[i] = float32(i%7) - 3
				}
				for i := range y {
					y[i] = float32(i%5) - 2
				}
				lda, ldb := s.k, s.n
				if s.transA {
					lda = s.m
				}
				if s.transB {
					ldb = s.k
				}
				b.ReportAllocs()
				b.SetBytes(int64(4 * (len(x) + len(y) + len(z))))
				for b.Loop() {
					Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, x, lda, y, ldb, s.beta, z, s.n)
				}
				b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
			})
		}
	}
}
