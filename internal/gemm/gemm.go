// Package gemm is a single-precision matrix multiply for row-major
// matrices, in the manner of BLIS and GotoBLAS.
//
// Sgemm walks C in blocks: a kc×nc panel of op(B) and an mc×kc block of
// op(A) are packed into contiguous buffers, in micro-panels of nr columns
// and mr rows, so that the transposes are dealt with once, while packing.
// A register-blocked micro-kernel then computes each mr×nr tile of C from
// one micro-panel of each, the B micro-panel staying in L1 and the A block
// in L2. Tiles at the bottom and right edges are computed into a padded
// scratch tile and copied out.
//
// One call runs on the calling goroutine; its packing buffers come from a
// pool, so that a steady stream of calls allocates nothing.
package gemm

import "sync"

const errPrefix = "gemm: "

// Sgemm computes c = alpha·op(a)·op(b) + beta·c, where op(a) is m×k and
// op(b) is k×n and c is m×n, all row-major: element (i, j) of c is
// c[i*ldc+j]. op(a) is a, an m×k matrix with row stride lda, or if transA
// is set the transpose of a, a k×m matrix with row stride lda; likewise
// op(b) with transB and ldb. If beta is zero, c is overwritten without
// being read, so that it may hold NaNs.
//
// It panics if a dimension is negative, a stride is less than its row
// length (or 1), or a slice is too short.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(errPrefix + "negative dimension")
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkMatrix("a", ar, ac, a, lda)
	checkMatrix("b", br, bc, b, ldb)
	checkMatrix("c", m, n, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if alpha == 0 || k == 0 {
		scale(m, n, beta, c, ldc)
		return
	}
	im := current()
	if s := im.short; s != nil && roundUp(m, s.mr) <= roundUp(m, im.mr) {
		im = s
	}
	w := pool.Get().(*workspace)
	im.run(w, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	pool.Put(w)
}

func roundUp(m, r int) int { return (m + r - 1) / r * r }

func checkMatrix(name string, r, c int, s []float32, ld int) {
	if ld < max(c, 1) {
		panic(errPrefix + "bad stride for " + name)
	}
	if r > 0 && c > 0 && len(s) < (r-1)*ld+c {
		panic(errPrefix + name + " is too short")
	}
}

// scale sets c = beta·c, or c = 0 if beta is zero.
func scale(m, n int, beta float32, c []float32, ldc int) {
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// workspace holds one call's packed operands and its edge tile.
type workspace struct {
	a, b, tile []float32
}

var pool = sync.Pool{New: func() any { return new(workspace) }}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// impl is one micro-kernel with its register and cache blocking.
type impl struct {
	name       string
	mr, nr     int // micro-tile
	kc, mc, nc int // cache blocks: mc is a multiple of mr, nc of nr
	// kernel computes the mr×nr tile c = alpha·Σ_p a[p·mr+i]·b[p·nr+j]
	// (+ beta·c unless beta is zero) for p < k, k ≥ 1.
	kernel func(k int, alpha float32, a, b []float32, beta float32, c []float32, ldc int)
	// transpose, if not nil, speeds up the packing of transposed panels.
	transpose transposer
	// half, if not nil, is the mr×(nr/2) kernel, for a last panel of B at
	// most nr/2 wide.
	half func(k int, alpha float32, a, b []float32, beta float32, c []float32, ldc int)
	// copyRows, if not nil, speeds up the packing of B panels.
	copyRows rowCopier
	// short, if not nil, is a kernel with fewer rows (and as fast per
	// flop), run when it pads m less: 14×32 tiles leave 6 of 70 rows idle
	// for m = 64, 8×32 tiles none.
	short *impl
}

func (im *impl) run(w *workspace, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	mr, nr := im.mr, im.nr
	// Split k into equal blocks of at most kc.
	kc := (k + (k+im.kc-1)/im.kc - 1) / ((k + im.kc - 1) / im.kc)
	nc := min(im.nc, (n+nr-1)/nr*nr)
	mc := min(im.mc, (m+mr-1)/mr*mr)
	w.b = grow(w.b, kc*nc)
	w.a = grow(w.a, mc*kc)
	w.tile = grow(w.tile, mr*nr)
	tile := w.tile
	for jc := 0; jc < n; jc += nc {
		ncur := min(nc, n-jc)
		for pc := 0; pc < k; pc += kc {
			kcur := min(kc, k-pc)
			bet := beta
			if pc > 0 {
				bet = 1
			}
			packB(im.transpose, im.copyRows, w.b, transB, b, ldb, pc, jc, kcur, ncur, nr, im.half != nil)
			for ic := 0; ic < m; ic += mc {
				mcur := min(mc, m-ic)
				packA(im.transpose, w.a, transA, a, lda, ic, pc, mcur, kcur, mr)
				for jr := 0; jr < ncur; jr += nr {
					nrr := min(nr, ncur-jr)
					kernel, pw := im.kernel, nr
					if im.half != nil && nrr <= nr/2 {
						kernel, pw = im.half, nr/2
					}
					bp := w.b[jr*kcur : jr*kcur+pw*kcur]
					for ir := 0; ir < mcur; ir += mr {
						mrr := min(mr, mcur-ir)
						ap := w.a[ir*kcur : (ir+mr)*kcur]
						ci := (ic+ir)*ldc + jc + jr
						if mrr == mr && nrr == pw {
							kernel(kcur, alpha, ap, bp, bet, c[ci:], ldc)
							continue
						}
						kernel(kcur, alpha, ap, bp, 0, tile, pw)
						for i := range mrr {
							t := tile[i*pw : i*pw+nrr]
							row := c[ci+i*ldc : ci+i*ldc+nrr]
							if bet == 0 {
								copy(row, t)
								continue
							}
							for j, v := range t {
								row[j] = v + bet*row[j]
							}
						}
					}
				}
			}
		}
	}
}
