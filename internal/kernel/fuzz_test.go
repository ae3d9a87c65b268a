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
			restore()
		}
	})
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
