package nn

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// gemm computes c = alpha·op(a)·op(b) + beta·c for row-major matrices,
// where op(a) is m×k and op(b) is k×n, through blas32.Gemm (gonum's BLAS
// unless blas32.Use installed another).
func gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, b []float32, beta float32, c []float32) {
	ta, tb := blas.NoTrans, blas.NoTrans
	ga := blas32.General{Rows: m, Cols: k, Stride: k, Data: a}
	if transA {
		ta = blas.Trans
		ga = blas32.General{Rows: k, Cols: m, Stride: m, Data: a}
	}
	gb := blas32.General{Rows: k, Cols: n, Stride: n, Data: b}
	if transB {
		tb = blas.Trans
		gb = blas32.General{Rows: n, Cols: k, Stride: k, Data: b}
	}
	blas32.Gemm(ta, tb, alpha, ga, gb, beta, blas32.General{Rows: m, Cols: n, Stride: n, Data: c})
}
