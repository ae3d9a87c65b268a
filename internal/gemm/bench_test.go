package gemm

import (
	"fmt"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// BenchmarkSgemm times the LeNet shapes under each implementation, and
// gonum's blas32.Gemm as the yardstick, and reports GFLOPS (2·m·n·k per
// call).
func BenchmarkSgemm(b *testing.B) {
	for _, s := range nnShapes {
		for _, name := range append(Implementations(), "gonum") {
			b.Run(fmt.Sprintf("shape=%s/m=%d/n=%d/k=%d/impl=%s", s.name, s.m, s.n, s.k, name), func(b *testing.B) {
				f := Sgemm
				if name == "gonum" {
					f = gonumSgemm
				} else {
					restore, _ := Select(name)
					defer restore()
				}
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
					f(s.transA, s.transB, s.m, s.n, s.k, 1, x, lda, y, ldb, s.beta, z, s.n)
				}
				b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
			})
		}
	}
}

// gonumSgemm is Sgemm through gonum's blas32.
func gonumSgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ta, tb := blas.NoTrans, blas.NoTrans
	ga := blas32.General{Rows: m, Cols: k, Stride: lda, Data: a}
	if transA {
		ta, ga = blas.Trans, blas32.General{Rows: k, Cols: m, Stride: lda, Data: a}
	}
	gb := blas32.General{Rows: k, Cols: n, Stride: ldb, Data: b}
	if transB {
		tb, gb = blas.Trans, blas32.General{Rows: n, Cols: k, Stride: ldb, Data: b}
	}
	blas32.Gemm(ta, tb, alpha, ga, gb, beta, blas32.General{Rows: m, Cols: n, Stride: ldc, Data: c})
}
