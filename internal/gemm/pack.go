package gemm

// packB packs the kc×nc block of op(b) at (pc, jc) into micro-panels of nr
// columns: element (p, j) of panel q goes to dst[q·nr·kc + p·nr + j], the
// columns past nc are zero.
func packB(dst []float32, trans bool, b []float32, ldb, pc, jc, kc, nc, nr int) {
	for q := 0; q*nr < nc; q++ {
		w := min(nr, nc-q*nr)
		d := dst[q*nr*kc : (q+1)*nr*kc]
		j0 := jc + q*nr
		if !trans {
			// op(b)(p, j) = b[p·ldb + j]: copy row pieces.
			for p := range kc {
				src := b[(pc+p)*ldb+j0:]
				row := d[p*nr : p*nr+nr]
				copy(row[:w], src[:w])
				clear(row[w:])
			}
			continue
		}
		// op(b)(p, j) = b[j·ldb + p]: scatter each row of b down a column.
		for j := range w {
			src := b[(j0+j)*ldb+pc:]
			src = src[:kc]
			for p, v := range src {
				d[p*nr+j] = v
			}
		}
		if w < nr {
			for p := range kc {
				clear(d[p*nr+w : p*nr+nr])
			}
		}
	}
}

// packA packs the mc×kc block of op(a) at (ic, pc) into micro-panels of mr
// rows: element (i, p) of panel q goes to dst[q·mr·kc + p·mr + i], the rows
// past mc are zero.
func packA(dst []float32, trans bool, a []float32, lda, ic, pc, mc, kc, mr int) {
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
		for i := range h {
			src := a[(i0+i)*lda+pc:]
			src = src[:kc]
			for p, v := range src {
				d[p*mr+i] = v
			}
		}
		if h < mr {
			for p := range kc {
				clear(d[p*mr+h : p*mr+mr])
			}
		}
	}
}
