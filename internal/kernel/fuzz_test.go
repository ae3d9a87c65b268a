package kernel

import (
	"encoding/binary"
	"math"
	"testing"
)

// FuzzRow32 holds every implementation to the portable code on rows made
// of arbitrary bit patterns.
func FuzzRow32(f *testing.F) {
	f.Add([]byte{0, 0, 0x80, 0x3f, 0, 0, 0x80, 0xff, 0, 0, 0xc0, 0x7f})
	f.Add(make([]byte, 4*37))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := make([]float32, len(b)/4)
		for i := range s {
			s[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		wm, _, wnan := maxSumExp32Generic(s)
		// The generic code sums in order in float32; hold every
		// implementation to a float64 sum instead, with room for that.
		ref := 0.0
		for _, v := range s {
			if v == v && wm > float32(math.Inf(-1)) {
				ref += math.Exp(float64(v) - float64(wm))
			}
		}
		rtol := 1e-5 + float64(len(s))*0x1p-24
		wmax, _ := max32Generic(s)
		for _, name := range Implementations() {
			restore, _ := Select(name)
			m, sum, nan := MaxSumExp32(s)
			mx, nan2 := Max32(s)
			if m != wm || nan != wnan || mx != wmax || nan2 != wnan {
				restore()
				t.Fatalf("%s: m, nan = %v, %v (Max32 %v, %v); want %v, %v", name, m, nan, mx, nan2, wm, wnan)
			}
			if !math.IsInf(float64(wm), 1) && !wnan && !sameOrClose(float64(sum), ref, rtol, 0) {
				restore()
				t.Fatalf("%s: sum = %v; want %v", name, sum, ref)
			}
			if !math.IsInf(float64(wm), 0) && !wnan {
				want := make([]float32, len(s))
				expScale32Generic(want, s, wm, 0.5)
				got := make([]float32, len(s))
				ExpScale32(got, s, wm, 0.5)
				for i := range got {
					if !close32(got[i], want[i], float64(s[i])-float64(wm)) {
						restore()
						t.Fatalf("%s: ExpScale32 [%d] exp(%v − %v)/2 = %v; want %v", name, i, s[i], wm, got[i], want[i])
					}
				}
			}
			// The pipelined kernels against the separate ones, bit for
			// bit: the first half of s as the row, the second as the next.
			h := len(s) / 2
			row, nextRow := s[:h], s[h:2*h]
			rm, rnan := Max32(row)
			if rnan || math.IsInf(float64(rm), 0) {
				rm = 0.5
			}
			want, got := make([]float32, h), make([]float32, h)
			wsum := ExpSum32(want, row, rm)
			if useAsm() {
				// ExpSum's exponentials are Exp32's of row − rm, whichever
				// path each step takes (TestExpSumIsExp).
				x := make([]float32, h)
				for i := range x {
					x[i] = row[i] - rm
				}
				Exp32(got, x)
				for i := range got {
					if !same32(got[i], want[i]) {
						restore()
						t.Fatalf("%s: ExpSum32 [%d] = %v; Exp32(%v) = %v", name, i, want[i], x[i], got[i])
					}
				}
			}
			wnm, wnn := Max32(nextRow)
			prev, wantPrev := make([]float32, h), make([]float32, h)
			for i := range prev {
				prev[i] = float32(i) - 3.5
			}
			copy(wantPrev, prev)
			Scale32(wantPrev, 0.3)
			for _, scaled := range []bool{false, true} {
				var sum, nm float32
				var nn bool
				if scaled {
					sum, nm, nn = ScaleExpSumMax32(prev, 0.3, got, row, rm, nextRow)
				} else {
					sum, nm, nn = ExpSumMax32(got, row, rm, nextRow)
				}
				bad := !same32(sum, wsum) || !same32(nm, wnm) || nn != wnn
				for i := range got {
					bad = bad || !same32(got[i], want[i]) || scaled && !same32(prev[i], wantPrev[i])
				}
				if bad {
					restore()
					t.Fatalf("%s: ExpSumMax32 (scaling %v) = %v, %v, %v, %v; want %v, %v, %v, %v",
						name, scaled, sum, nm, nn, got, wsum, wnm, wnn, want)
				}
			}
			restore()
		}
	})
}

// same32 reports whether a and b have the same bits, or are both NaN.
func same32(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || a != a && b != b
}

// FuzzLog32 holds every implementation of Log32 to the portable code on
// arbitrary bit patterns: within 2 ulp, special values exact.
func FuzzLog32(f *testing.F) {
	f.Add([]byte{0, 0, 0x80, 0x3f, 0, 0, 0x80, 0xff, 0, 0, 0xc0, 0x7f, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		x := make([]float32, len(b)/4)
		for i := range x {
			x[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		for _, name := range Implementations() {
			restore, _ := Select(name)
			got := make([]float32, len(x))
			Log32(got, x)
			restore()
			for i, v := range x {
				if u := logUlps32(got[i], v); u > 2 {
					t.Fatalf("%s: Log32(%v) = %v, %.2f ulp from %v", name, v, got[i], u, math.Log(float64(v)))
				}
			}
		}
	})
}

// FuzzSoftmaxCols32 holds every implementation of SoftmaxCols32 to the
// portable code on blocks of arbitrary bit patterns: the same stopping
// point (up to the assembly's steps of 32 positions, or 256 in its wide
// steps, which a length byte ≥ 0xf0 asks for: 256 positions with rows
// 4 KiB apart), the same max and target logit, sums and gradients within
// rounding, and nothing written from the stopping point on.
func FuzzSoftmaxCols32(f *testing.F) {
	f.Add([]byte{20, 40, 3, 1, 2, 3, 0, 0, 0x80, 0x3f, 0, 0, 0x80, 0xff, 0, 0, 0xc0, 0x7f})
	f.Add(append([]byte{5, 33, 0}, make([]byte, 4*5*33)...))
	f.Add([]byte{20, 0xf0, 0, 3, 1, 2, 3, 0, 0, 0x80, 0x3f, 0, 0, 0x80, 0xff, 0, 0, 0xc0, 0x7f}) // a wide step
	f.Fuzz(func(t *testing.T, b []byte) {
		next := func() byte {
			if len(b) == 0 {
				return 0
			}
			v := b[0]
			b = b[1:]
			return v
		}
		C, lb := 1+int(next())%ColsMaxC, next()
		L := 1 + int(lb)%70
		stride := L + int(next())%20
		step := 31
		if lb >= 0xf0 {
			L, stride = ColsMaxL, 1024
			if C <= 32 {
				step = 255
			}
		}
		var in ColsBlock32
		for j := range L {
			in.Y[j] = int32(next())%int32(C+1) - 1
			in.GW[j] = float64(next()) / 97
		}
		s := make([]float32, (C-1)*stride+L)
		for i := range s {
			var w [4]byte
			for k := range w {
				w[k] = next()
			}
			s[i] = math.Float32frombits(binary.LittleEndian.Uint32(w[:]))
		}
		want := in
		wd := make([]float32, len(s))
		wdone := softmaxCols32Generic(wd, s, C, stride, L, &want)
		for _, name := range Implementations() {
			restore, _ := Select(name)
			got := in
			d := make([]float32, len(s))
			for i := range d {
				d[i] = -7
			}
			done := SoftmaxCols32(d, s, C, stride, L, &got)
			restore()
			if done > wdone || done < wdone&^step && wdone < L || wdone == L && done != L {
				t.Fatalf("%s C=%d L=%d: done = %d; the portable code did %d", name, C, L, done, wdone)
			}
			rtol := 1e-5 + float64(C)*0x1p-23
			for j := range done {
				if got.M[j] != want.M[j] || got.Y[j] >= 0 && got.SY[j] != want.SY[j] ||
					!sameOrClose(float64(got.Sum[j]), float64(want.Sum[j]), rtol, 0) {
					t.Fatalf("%s C=%d L=%d: M, SY, Sum[%d] = %v, %v, %v; want %v, %v, %v", name, C, L, j,
						got.M[j], got.SY[j], got.Sum[j], want.M[j], want.SY[j], want.Sum[j])
				}
			}
			for i, v := range d {
				col := i % stride
				switch {
				case col >= L:
				case col >= done && v != -7:
					t.Fatalf("%s C=%d L=%d: d[%d] = %v written at position %d, past done = %d", name, C, L, i, v, col, done)
				case col < done && !sameOrClose(float64(v), float64(wd[i]), rtol, 1e-6*in.GW[col]+0x1p-125):
					t.Fatalf("%s C=%d L=%d: d[%d] = %v; want %v", name, C, L, i, v, wd[i])
				}
			}

			// The index-target kernel against this one, bit for bit: the
			// targets are Y with −1 as the ignore index, one gw for all.
			targets := make([]int64, L)
			ref := in
			for j := range L {
				targets[j] = int64(in.Y[j])
				if in.Y[j] >= 0 {
					ref.GW[j] = 0.75
				} else {
					ref.GW[j] = 0
				}
			}
			restore, _ = Select(name)
			rd := make([]float32, len(s))
			rdone := SoftmaxCols32(rd, s, C, stride, L, &ref)
			rl := make([]float64, L)
			rcounted := colsLosses(rl, &ref, rdone)
			var idx ColsBlock32
			id := make([]float32, len(s))
			il := make([]float64, L)
			idone, icounted := SoftmaxColsIndex32(id, s, C, stride, L, targets, -1, 0.75, il, &idx)
			restore()
			if idone != rdone || icounted != rcounted {
				t.Fatalf("%s C=%d L=%d: SoftmaxColsIndex32 done, counted = %d, %d; SoftmaxCols32 %d, %d", name, C, L, idone, icounted, rdone, rcounted)
			}
			for j := range idone {
				if idx.Y[j] != ref.Y[j] || idx.GW[j] != ref.GW[j] || math.Float64bits(il[j]) != math.Float64bits(rl[j]) {
					t.Fatalf("%s C=%d L=%d: position %d: Y, GW, loss = %d, %v, %v; want %d, %v, %v",
						name, C, L, j, idx.Y[j], idx.GW[j], il[j], ref.Y[j], ref.GW[j], rl[j])
				}
			}
			for i := range id {
				if math.Float32bits(id[i]) != math.Float32bits(rd[i]) && !(id[i] != id[i] && rd[i] != rd[i]) {
					t.Fatalf("%s C=%d L=%d: SoftmaxColsIndex32 d[%d] = %v; SoftmaxCols32 %v", name, C, L, i, id[i], rd[i])
				}
			}
		}
	})
}
