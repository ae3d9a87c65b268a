package gemm

// packB packs the kc×nc block of op(b) at (pc, jc) into micro-panels of nr
// columns: element (p, j) of panel q goes to dst[q·nr·kc + p·nr + j], the
// columns past nc are zero. If half is set, a last panel of at most nr/2
// columns is packed nr/2 wide.
func packB(tr transposer, cp rowCopier, dst []float32, trans bool, b []float32, ldb, pc, jc, kc, nc, nr int, half bool) {
	for q := 0; q*nr < nc; q++ {
		w := min(nr, nc-q*nr)
		pw := nr
		if half && w <= nr/2 {
			pw = nr / 2
		}
		d := dst[q*nr*kc : q*nr*kc+pw*kc]
		j0 := jc + q*nr
		if !trans {
			// op(b)(p, j) = b[p·ldb + j]: copy row pieces.
			o := pc*ldb + j0
			if w == nr && cp != nil {
				_ = b[o+(kc-1)*ldb+nr-1]
				cp(d, b[o:], ldb, kc)
				continue
			}
			for p := range kc {
				src := b[o+p*ldb:]
				row := d[p*pw : p*pw+pw]
				copy(row[:w], src[:w])
				clear(row[w:])
			}
			continue
		}
		// op(b)(p, j) = b[j·ldb + p]: scatter each row of b down a column.
		scatter(tr, d, pw, b, j0*ldb+pc, ldb, w, kc)
		if w < pw {
			for p := range kc {
				clear(d[p*pw+w : p*pw+pw])
			}
		}
	}
}

// packA packs the mc×kc block of op(a) at (ic, pc) into micro-panels of mr
// rows: element (i, p) of panel q goes to dst[q·mr·kc + p·mr + i], the rows
// past mc are zero.
func packA(tr transposer, dst []float32, trans bool, a []float32, lda, ic, pc, mc, kc, mr int) {
	for q := 0; q*mr < mc; q++ {
		h := min(mr, mc-q*mr)
		d := dst[q*mr*kc : (q+1)*mr*kc]
		i0 := ic + q*mr
		if trans {
			// op(a)(i, p) = a[p·lda + i]: copy row pieces.
			for p := range kc {
				src := a[(pc+p)*lda+i0:]
				col := d[p*mr : p*mr+mr]
				copy(col[:h], src[:h])
				clear(col[h:])
			}
			continue
		}
		// op(a)(i, p) = a[i·lda + p]: scatter each row of a down a column.
		scatter(tr, d, mr, a, i0*lda+pc, lda, h, kc)
		if h < mr {
			for p := range kc {
				clear(d[p*mr+h : p*mr+mr])
			}
		}
	}
}

// scatter transposes the w rows of length kc at src[off+r·ld:] into the
// first w columns of d, whose row stride is ld2: d[p·ld2+r] = src[off+r·ld+p].
// tr, if not nil, transposes 8×8 blocks (see transpose8AVX).
func scatter(tr transposer, d []float32, ld2 int, src []float32, off, ld, w, kc int) {
	if tr == nil || w < 8 || kc < 8 {
		scatterGo(d, ld2, src, off, ld, w, kc)
		return
	}
	w8, k8 := w&^7, kc&^7
	for r := 0; r < w8; r += 8 {
		o := off + r*ld
		_ = d[r+(k8-1)*ld2+7]
		tr(d[r:], ld2, src[o:o+7*ld+k8], ld, k8)
	}
	if k8 < kc {
		scatterGo(d[k8*ld2:], ld2, src, off+k8, ld, w8, kc-k8)
	}
	if w8 < w {
		scatterGo(d[w8:], ld2, src, off+w8*ld, ld, w-w8, kc)
	}
}

// rowCopier is an assembly copyRows for width nr: for p < kc,
// d[p·nr:][:nr] = src[p·ld:][:nr].
type rowCopier func(d, src []float32, ld, kc int)

// transposer is an assembly transpose8: for p < kc&^7 and r < 8,
// d[p·ld2+r] = src[r·ld+p].
type transposer func(d []float32, ld2 int, src []float32, ld int, kc int)

// scatterGo is scatter in Go. It takes four rows at a time, so that each
// pass writes four adjacent floats.
func scatterGo(d []float32, ld2 int, src []float32, off, ld, w, kc int) {
	r := 0
	for ; r+4 <= w; r += 4 {
		o := off + r*ld
		r0 := src[o : o+kc]
		r1 := src[o+ld : o+ld+kc]
		r2 := src[o+2*ld : o+2*ld+kc]
		r3 := src[o+3*ld : o+3*ld+kc]
		for p := range r0 {
			q := d[p*ld2+r : p*ld2+r+4 : p*ld2+r+4]
			q[0], q[1], q[2], q[3] = r0[p], r1[p], r2[p], r3[p]
		}
	}
	for ; r < w; r++ {
		o := off + r*ld
		for p, v := range src[o : o+kc] {
			d[p*ld2+r] = v
		}
	}
}
