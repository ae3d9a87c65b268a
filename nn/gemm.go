package nn

import sgemm "github.com/xent-go/xent/internal/gemm"

// gemm computes c = alpha·op(a)·op(b) + beta·c for row-major matrices,
// where op(a) is m×k and op(b) is k×n, through internal/gemm's packed,
// register-blocked Sgemm (AVX-512 or AVX2 micro-kernels where the CPU has
// them). If beta is zero, c is overwritten without being read.
func gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, b []float32, beta float32, c []float32) {
	lda := k
	if transA {
		lda = m
	}
	ldb := n
	if transB {
		ldb = k
	}
	sgemm.Sgemm(transA, transB, m, n, k, alpha, a, max(lda, 1), b, max(ldb, 1), beta, c, max(n, 1))
}
