package kernel

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"regexp"
	"strings"
	"testing"
)

// forEachImpl runs f as a subtest under every available implementation.
func forEachImpl(t *testing.T, f func(t *testing.T)) {
	for _, name := range Implementations() {
		t.Run("impl="+name, func(t *testing.T) {
			restore, ok := Select(name)
			if !ok {
				t.Fatalf("Select(%q) failed", name)
			}
			defer restore()
			f(t)
		})
	}
}

// useAsm reports whether an assembly implementation is selected now.
func useAsm() bool { return archImpls.AnyEnabled() }

func TestSelect(t *testing.T) {
	names := Implementations()
	if names[0] != "generic" {
		t.Fatalf("Implementations() = %v, want generic first", names)
	}
	if _, ok := Select("no-such-impl"); ok {
		t.Error(`Select("no-such-impl") succeeded`)
	}
	t.Logf("implementations: %v", names)
}

var testLens = func() []int {
	var ls []int
	for n := 0; n <= 70; n++ {
		ls = append(ls, n)
	}
	for _, c := range []int{128, 256, 1024} {
		ls = append(ls, c-1, c, c+1)
	}
	return append(ls, 1000, 4099)
}()

const guard = 19

// Guard-padded slices: n elements with guard sentinels on both sides.
func guarded32(n int) (all, s []float32) {
	all = make([]float32, n+2*guard)
	for i := range all {
		all[i] = math.Float32frombits(0x7fc0dead)
	}
	return all, all[guard : guard+n : guard+n]
}

func guarded64(n int) (all, s []float64) {
	all = make([]float64, n+2*guard)
	for i := range all {
		all[i] = math.Float64frombits(0x7ff8deaddeaddead)
	}
	return all, all[guard : guard+n : guard+n]
}

func checkGuard32(t *testing.T, all []float32, n int) {
	t.Helper()
	for i, v := range all {
		if (i < guard || i >= guard+n) && math.Float32bits(v) != 0x7fc0dead {
			t.Fatalf("write outside dst at %d (len %d): %v", i-guard, n, v)
		}
	}
}

func checkGuard64(t *testing.T, all []float64, n int) {
	t.Helper()
	for i, v := range all {
		if (i < guard || i >= guard+n) && math.Float64bits(v) != 0x7ff8deaddeaddead {
			t.Fatalf("write outside dst at %d (len %d): %v", i-guard, n, v)
		}
	}
}

// Row generators: random logits and adversarial rows. Each returns a row of
// length n (n ≥ 1 where it matters).
type rowGen struct {
	name string
	f    func(r *rand.Rand, i, n int) float64
}

var (
	inf     = math.Inf(1)
	nan     = math.NaN()
	rowGens = []rowGen{
		{"normal", func(r *rand.Rand, i, n int) float64 { return 3 * r.NormFloat64() }},
		{"wide", func(r *rand.Rand, i, n int) float64 { return 60 * r.NormFloat64() }},
		{"ascending", func(r *rand.Rand, i, n int) float64 { return float64(i) * 0.5 }},
		{"equal", func(r *rand.Rand, i, n int) float64 { return 1.25 }},
		{"huge", func(r *rand.Rand, i, n int) float64 { return 1e30 * r.NormFloat64() }},
		{"maxfloat32", func(r *rand.Rand, i, n int) float64 {
			if r.IntN(2) == 0 {
				return -3e38
			}
			return 3e38 * r.Float64()
		}},
		{"neginf-mixed", func(r *rand.Rand, i, n int) float64 {
			if r.IntN(3) == 0 {
				return -inf
			}
			return r.NormFloat64()
		}},
		{"neginf-prefix", func(r *rand.Rand, i, n int) float64 {
			if i < n-1 {
				return -inf
			}
			return -5
		}},
		{"all-neginf", func(r *rand.Rand, i, n int) float64 { return -inf }},
		{"nan-first", func(r *rand.Rand, i, n int) float64 {
			if i == 0 {
				return nan
			}
			return r.NormFloat64()
		}},
		{"nan-last", func(r *rand.Rand, i, n int) float64 {
			if i == n-1 {
				return nan
			}
			return r.NormFloat64()
		}},
		{"nan-neginf", func(r *rand.Rand, i, n int) float64 {
			if i%2 == 0 {
				return nan
			}
			return -inf
		}},
		{"posinf", func(r *rand.Rand, i, n int) float64 {
			if i == n/2 {
				return inf
			}
			return r.NormFloat64()
		}},
		{"subnormal", func(r *rand.Rand, i, n int) float64 { return 1e-40 * r.NormFloat64() }},
		{"subnormal64", func(r *rand.Rand, i, n int) float64 { return 1e-310 * r.NormFloat64() }},
		{"spread", func(r *rand.Rand, i, n int) float64 {
			if i%7 == 3 {
				return 0
			}
			return -80 - 700*r.Float64()
		}},
		// Around the bounds of the AVX2 kernels' fast exponential
		// (normlim: 87 for float32, 708 for float64) below a max of 0.
		{"normlim32", func(r *rand.Rand, i, n int) float64 { return nearNormlim(r, i, -87) }},
		{"normlim64", func(r *rand.Rand, i, n int) float64 { return nearNormlim(r, i, -708) }},
	}
)

func nearNormlim(r *rand.Rand, i int, lim float64) float64 {
	if i%9 == 4 {
		return 0
	}
	return lim + []float64{0, 0x1p-20, -0x1p-20, 0.3, -0.3, -0.7, -1.2}[r.IntN(7)]
}

func row64(g rowGen, n int, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, uint64(n)))
	s := make([]float64, n)
	for i := range s {
		s[i] = g.f(r, i, n)
	}
	return s
}

func row32(g rowGen, n int, seed uint64) []float32 {
	s := make([]float32, n)
	for i, v := range row64(g, n, seed) {
		s[i] = float32(v)
	}
	return s
}

// sameOrClose reports whether got is within rtol·|want| + atol of want,
// treating NaNs as equal and infinities as exact.
func sameOrClose(got, want, rtol, atol float64) bool {
	switch {
	case want != want:
		return got != got
	case math.IsInf(want, 0) || math.IsInf(got, 0):
		return got == want
	}
	return math.Abs(got-want) <= rtol*math.Abs(want)+atol
}

func sumRtol32(n int) float64 { return math.Max(1e-6, 4e-8*math.Sqrt(float64(n))) }
func sumRtol64(n int) float64 { return math.Max(1e-14, 1e-16*math.Sqrt(float64(n))) }

// TestMaxSumExpUnderflow: terms whose exponential is below the smallest
// normal, where the AVX2 sums' exponential is not exact (see expvTab8 in
// _asm), and −Inf terms, leave the max's term of 1 exactly 1, in whatever
// lane the max and they sit (lanes with no term near the max are scaled
// by such an exponential too); a row of −Inf alone sums to 0 exactly, so
// that its max is reported as −Inf (the flushing exponential's clamp must
// give +0).
func TestMaxSumExpUnderflow(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		for n := 1; n <= 40; n++ {
			s32, s64 := make([]float32, n), make([]float64, n)
			for i := range s32 {
				s32[i], s64[i] = float32(math.Inf(-1)), math.Inf(-1)
			}
			if m, sum, _ := MaxSumExp32(s32); !math.IsInf(float64(m), -1) || sum != 0 {
				t.Fatalf("float32 n=%d of −Inf: m, sum = %v, %v; want −Inf, 0", n, m, sum)
			}
			if m, sum, _ := MaxSumExp64(s64); !math.IsInf(m, -1) || sum != 0 {
				t.Fatalf("float64 n=%d of −Inf: m, sum = %v, %v; want −Inf, 0", n, m, sum)
			}
		}
		for _, d := range []float64{87.2, 87.4, 87.6, 87.9, 88, 88.05, 89, 100, 104.5} {
			for n := 1; n <= 40; n++ {
				for at := range n {
					s := make([]float32, n)
					for i := range s {
						s[i] = float32(-d)
						if i%3 == 1 {
							s[i] = float32(math.Inf(-1))
						}
					}
					s[at] = 0
					if m, sum, nan := MaxSumExp32(s); m != 0 || sum != 1 || nan {
						t.Fatalf("float32 d=%v n=%d max at %d: m, sum, nan = %v, %v, %v; want 0, 1, false", d, n, at, m, sum, nan)
					}
				}
			}
		}
		for _, d := range []float64{708.3, 708.5, 708.9, 709.05, 709.09, 709.2, 740} {
			for n := 1; n <= 20; n++ {
				for at := range n {
					s := make([]float64, n)
					for i := range s {
						s[i] = -d
						if i%3 == 1 {
							s[i] = math.Inf(-1)
						}
					}
					s[at] = 0
					if m, sum, nan := MaxSumExp64(s); m != 0 || sum != 1 || nan {
						t.Fatalf("float64 d=%v n=%d max at %d: m, sum, nan = %v, %v, %v; want 0, 1, false", d, n, at, m, sum, nan)
					}
				}
			}
		}
	})
}

func TestMaxSumExp32(t *testing.T) {
	lens := append(append([]int{}, testLens...), 100000)
	forEachImpl(t, func(t *testing.T) {
		for _, g := range rowGens {
			for _, n := range lens {
				s := row32(g, n, 1)
				wm, ws, wnan := maxSumExp32Generic(s)
				// A float64 reference for the sum: the generic code sums in
				// order in float32 and is itself off by up to ~n·eps.
				ref := 0.0
				for _, v := range s {
					if v == v && wm > float32(math.Inf(-1)) {
						ref += math.Exp(float64(v) - float64(wm))
					}
				}
				m, sum, isNaN := MaxSumExp32(s)
				if m != wm && !(m != m && wm != wm) || isNaN != wnan {
					t.Fatalf("%s n=%d: m, nan = %v, %v; want %v, %v", g.name, n, m, isNaN, wm, wnan)
				}
				if math.IsInf(float64(wm), 1) {
					continue // sum unspecified
				}
				rtol := sumRtol32(n)
				if Implementations()[0] == "generic" && !useAsm() {
					rtol += float64(n) * 0x1p-24 // sums in order in float32
				}
				if !sameOrClose(float64(sum), ref, rtol, 0) {
					t.Fatalf("%s n=%d: sum = %v; want %v (generic %v)", g.name, n, sum, ref, ws)
				}
			}
		}
	})
}

func TestMaxSumExp64(t *testing.T) {
	lens := append(append([]int{}, testLens...), 100000)
	forEachImpl(t, func(t *testing.T) {
		for _, g := range rowGens {
			for _, n := range lens {
				s := row64(g, n, 1)
				wm, ws, wnan := maxSumExp64Generic(s)
				m, sum, isNaN := MaxSumExp64(s)
				if m != wm && !(m != m && wm != wm) || isNaN != wnan {
					t.Fatalf("%s n=%d: m, nan = %v, %v; want %v, %v", g.name, n, m, isNaN, wm, wnan)
				}
				if math.IsInf(wm, 1) {
					continue
				}
				if !sameOrClose(sum, ws, sumRtol64(n), 0) {
					t.Fatalf("%s n=%d: sum = %v; want %v", g.name, n, sum, ws)
				}
			}
		}
	})
}

// Elementwise tolerances for scale·exp(d): a few ulps, plus a couple of the
// smallest subnormals for results that underflow, plus |d|·eps/2 because
// the assembly rounds d = s − m to the element type first (the portable
// code subtracts in float64) and exp turns that absolute error in d into a
// relative error in the result.
func close32(got, want float32, d float64) bool {
	if math.IsInf(d, 0) || d != d {
		d = 0
	}
	return sameOrClose(float64(got), float64(want), 4*0x1p-23+math.Abs(d)*0x1p-24, 2*0x1p-149)
}

func close64(got, want float64, d float64) bool {
	if math.IsInf(d, 0) || d != d {
		d = 0
	}
	return sameOrClose(got, want, 4*0x1p-52+math.Abs(d)*0x1p-53, 2*0x1p-1074)
}

func TestExpScale32(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		for _, g := range rowGens {
			for _, n := range testLens {
				s := row32(g, n, 2)
				m, sum, _ := maxSumExp32Generic(s)
				if math.IsInf(float64(m), 0) || m != m {
					m = 0.5 // any finite m; s − m may be positive
				}
				scale := 1 / sum
				if sum == 0 || math.IsInf(float64(scale), 0) || scale != scale {
					scale = 0.75
				}
				want := make([]float32, n)
				expScale32Generic(want, s, m, scale)
				all, dst := guarded32(n)
				ExpScale32(dst, s, m, scale)
				checkGuard32(t, all, n)
				in := append([]float32(nil), s...)
				ExpScale32(in, in, m, scale) // in place
				for i := range want {
					if !close32(dst[i], want[i], float64(s[i])-float64(m)) || math.Float32bits(in[i]) != math.Float32bits(dst[i]) &&
						!(in[i] != in[i] && dst[i] != dst[i]) {
						t.Fatalf("%s n=%d: [%d] exp(%v−%v)·%v = %v (in place %v); want %v",
							g.name, n, i, s[i], m, scale, dst[i], in[i], want[i])
					}
				}
			}
		}
	})
}

func TestExpScale64(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		for _, g := range rowGens {
			for _, n := range testLens {
				s := row64(g, n, 2)
				m, sum, _ := maxSumExp64Generic(s)
				if math.IsInf(m, 0) || m != m {
					m = 0.5
				}
				scale := 1 / sum
				if sum == 0 || math.IsInf(scale, 0) || scale != scale {
					scale = 0.75
				}
				want := make([]float64, n)
				expScale64Generic(want, s, m, scale)
				all, dst := guarded64(n)
				ExpScale64(dst, s, m, scale)
				checkGuard64(t, all, n)
				in := append([]float64(nil), s...)
				ExpScale64(in, in, m, scale)
				for i := range want {
					if !close64(dst[i], want[i], s[i]-m) || math.Float64bits(in[i]) != math.Float64bits(dst[i]) &&
						!(in[i] != in[i] && dst[i] != dst[i]) {
						t.Fatalf("%s n=%d: [%d] exp(%v−%v)·%v = %v (in place %v); want %v",
							g.name, n, i, s[i], m, scale, dst[i], in[i], want[i])
					}
				}
			}
		}
	})
}

var colShapes = func() (cs [][3]int) { // C, L, stride
	cs = append(cs, [3]int{0, 5, 5}, [3]int{0, 0, 0})
	for _, C := range []int{1, 2, 3, 10} {
		for L := 0; L <= 40; L++ {
			cs = append(cs, [3]int{C, L, L}, [3]int{C, L, L + 3})
		}
		for _, L := range []int{63, 64, 65, 200} {
			cs = append(cs, [3]int{C, L, L}, [3]int{C, L, 2*L + 1})
		}
	}
	return cs
}()

// block64 returns a C×L block at the given stride; the gaps between rows
// hold NaN, which the kernels must not read.
func block64(g rowGen, C, L, stride int, seed uint64) []float64 {
	n := 0
	if C > 0 {
		n = (C-1)*stride + L
	}
	s := make([]float64, n)
	r := rand.New(rand.NewPCG(seed, uint64(C*1000+L)))
	for i := range s {
		s[i] = nan
	}
	for j := 0; j < L; j++ {
		for c := 0; c < C; c++ {
			s[c*stride+j] = g.f(r, c, C)
		}
	}
	return s
}

func block32(g rowGen, C, L, stride int, seed uint64) []float32 {
	b := block64(g, C, L, stride, seed)
	s := make([]float32, len(b))
	for i, v := range b {
		s[i] = float32(v)
	}
	return s
}

// colD returns s[i] − m[j] for the position j of element i of a block.
func colD[T float32 | float64](s []T, C, stride int, m []T, i int) float64 {
	if stride == 0 {
		return 0
	}
	j := i % stride
	if j >= len(m) {
		return 0
	}
	return float64(s[i]) - float64(m[j])
}

func TestMaxSumExpCols32(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		for _, g := range rowGens {
			for _, sh := range colShapes {
				C, L, stride := sh[0], sh[1], sh[2]
				s := block32(g, C, L, stride, 3)
				wm, ws := make([]float32, L), make([]float32, L)
				wnan := maxSumExpCols32Generic(wm, ws, s, C, stride)
				allm, m := guarded32(L)
				alls, sum := guarded32(L)
				isNaN := MaxSumExpCols32(m, sum, s, C, stride)
				checkGuard32(t, allm, L)
				checkGuard32(t, alls, L)
				if isNaN != wnan {
					t.Fatalf("%s C=%d L=%d: nan = %v", g.name, C, L, isNaN)
				}
				for j := range wm {
					if m[j] != wm[j] || !sameOrClose(float64(sum[j]), float64(ws[j]), 1e-6, 0) {
						t.Fatalf("%s C=%d L=%d stride=%d: [%d] m, sum = %v, %v; want %v, %v",
							g.name, C, L, stride, j, m[j], sum[j], wm[j], ws[j])
					}
				}
			}
		}
	})
}

func TestMaxSumExpCols64(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		for _, g := range rowGens {
			for _, sh := range colShapes {
				C, L, stride := sh[0], sh[1], sh[2]
				s := block64(g, C, L, stride, 3)
				wm, ws := make([]float64, L), make([]float64, L)
				wnan := maxSumExpCols64Generic(wm, ws, s, C, stride)
				allm, m := guarded64(L)
				alls, sum := guarded64(L)
				isNaN := MaxSumExpCols64(m, sum, s, C, stride)
				checkGuard64(t, allm, L)
				checkGuard64(t, alls, L)
				if isNaN != wnan {
					t.Fatalf("%s C=%d L=%d: nan = %v", g.name, C, L, isNaN)
				}
				for j := range wm {
					if m[j] != wm[j] || !sameOrClose(sum[j], ws[j], 1e-14, 0) {
						t.Fatalf("%s C=%d L=%d stride=%d: [%d] m, sum = %v, %v; want %v, %v",
							g.name, C, L, stride, j, m[j], sum[j], wm[j], ws[j])
					}
				}
			}
		}
	})
}

func TestExpScaleCols32(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		for _, g := range rowGens {
			for _, sh := range colShapes {
				C, L, stride := sh[0], sh[1], sh[2]
				s := block32(g, C, L, stride, 4)
				m, sum := make([]float32, L), make([]float32, L)
				maxSumExpCols32Generic(m, sum, s, C, stride)
				scale := make([]float32, L)
				for j := range m {
					if math.IsInf(float64(m[j]), 0) || m[j] != m[j] {
						m[j] = -1
					}
					scale[j] = 1 / sum[j]
					if sum[j] == 0 || math.IsInf(float64(scale[j]), 0) || scale[j] != scale[j] {
						scale[j] = 0.5
					}
				}
				want := append([]float32(nil), s...)
				expScaleCols32Generic(want, s, C, stride, m, scale)
				all, dst := guarded32(len(s))
				copy(dst, s) // the gaps keep s's NaN sentinels
				ExpScaleCols32(dst, s, C, stride, m, scale)
				checkGuard32(t, all, len(s))
				in := append([]float32(nil), s...)
				ExpScaleCols32(in, in, C, stride, m, scale)
				for i := range want {
					if d := colD(s, C, stride, m, i); !close32(dst[i], want[i], d) || !close32(in[i], want[i], d) {
						t.Fatalf("%s C=%d L=%d stride=%d: [%d] = %v (in place %v); want %v",
							g.name, C, L, stride, i, dst[i], in[i], want[i])
					}
				}
			}
		}
	})
}

func TestExpScaleCols64(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		for _, g := range rowGens {
			for _, sh := range colShapes {
				C, L, stride := sh[0], sh[1], sh[2]
				s := block64(g, C, L, stride, 4)
				m, sum := make([]float64, L), make([]float64, L)
				maxSumExpCols64Generic(m, sum, s, C, stride)
				scale := make([]float64, L)
				for j := range m {
					if math.IsInf(m[j], 0) || m[j] != m[j] {
						m[j] = -1
					}
					scale[j] = 1 / sum[j]
					if sum[j] == 0 || math.IsInf(scale[j], 0) || scale[j] != scale[j] {
						scale[j] = 0.5
					}
				}
				want := append([]float64(nil), s...)
				expScaleCols64Generic(want, s, C, stride, m, scale)
				all, dst := guarded64(len(s))
				copy(dst, s)
				ExpScaleCols64(dst, s, C, stride, m, scale)
				checkGuard64(t, all, len(s))
				in := append([]float64(nil), s...)
				ExpScaleCols64(in, in, C, stride, m, scale)
				for i := range want {
					if d := colD(s, C, stride, m, i); !close64(dst[i], want[i], d) || !close64(in[i], want[i], d) {
						t.Fatalf("%s C=%d L=%d stride=%d: [%d] = %v (in place %v); want %v",
							g.name, C, L, stride, i, dst[i], in[i], want[i])
					}
				}
			}
		}
	})
}

func TestSum(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		for _, n := range append(append([]int{}, testLens...), 100000) {
			s64 := row64(rowGens[0], n, 5)
			s32 := row32(rowGens[0], n, 5)
			ref32, abs32, ref64, abs64 := 0.0, 0.0, 0.0, 0.0
			for i := range s64 {
				ref32 += float64(s32[i])
				abs32 += math.Abs(float64(s32[i]))
				ref64 += s64[i]
				abs64 += math.Abs(s64[i])
			}
			all32, g32 := guarded32(n)
			copy(g32, s32)
			if got := Sum32(g32); math.Abs(float64(got)-ref32) > sumRtol32(n)*abs32 {
				t.Fatalf("n=%d: Sum32 = %v; want %v", n, got, ref32)
			}
			all64, g64 := guarded64(n)
			copy(g64, s64)
			if got := Sum64(g64); math.Abs(got-ref64) > sumRtol64(n)*abs64 {
				t.Fatalf("n=%d: Sum64 = %v; want %v", n, got, ref64)
			}
			_, _ = all32, all64
		}
	})
}

// ulps32 is the error of got against the exact value want, in units of the
// float32 spacing at want (the subnormal spacing below the normal range).
func ulps32(got float32, want float64) float64 {
	if got != got || want != want {
		if got != got && want != want {
			return 0
		}
		return math.Inf(1)
	}
	if math.IsInf(want, 0) || want > math.MaxFloat32 {
		if math.IsInf(float64(got), 1) {
			return 0
		}
		return math.Abs(float64(got)-want) / math.Ldexp(1, 127-23)
	}
	if math.IsInf(float64(got), 0) {
		return math.Inf(1)
	}
	e := math.Max(float64(math.Ilogb(want)), -126)
	return math.Abs(float64(got)-want) / math.Ldexp(1, int(e)-23)
}

func ulps64(got, want float64) float64 {
	if got != got || want != want {
		if got != got && want != want {
			return 0
		}
		return math.Inf(1)
	}
	if math.IsInf(want, 0) || math.IsInf(got, 0) {
		if got == want {
			return 0
		}
		return math.Inf(1)
	}
	if want == 0 {
		return math.Abs(got) / 0x1p-1074
	}
	e := math.Max(float64(math.Ilogb(want)), -1022)
	return math.Abs(got-want) / math.Ldexp(1, int(e)-52)
}

// TestExp32ULP sweeps every 97th float32 bit pattern (all signs, NaNs,
// infinities and subnormals among them) against math.Exp.
func TestExp32ULP(t *testing.T) {
	step := uint64(97)
	if testing.Short() {
		step = 9973
	}
	forEachImpl(t, func(t *testing.T) {
		const chunk = 1 << 16
		x := make([]float32, 0, chunk)
		y := make([]float32, chunk)
		worst, worstX := 0.0, float32(0)
		flush := func() {
			Exp32(y[:len(x)], x)
			for i, v := range x {
				if u := ulps32(y[i], math.Exp(float64(v))); u > worst {
					worst, worstX = u, v
				}
			}
			x = x[:0]
		}
		for b := uint64(0); b < 1<<32; b += step {
			x = append(x, math.Float32frombits(uint32(b)))
			if len(x) == chunk {
				flush()
			}
		}
		flush()
		t.Logf("max error %.3f ulp at x = %v", worst, worstX)
		if worst > 2 {
			t.Errorf("max error %.3f ulp at x = %v (exp = %v)", worst, worstX, math.Exp(float64(worstX)))
		}
	})
}

// TestExp64ULP samples random bit patterns and the interesting range
// uniformly, against math.Exp (itself within 1 ulp).
func TestExp64ULP(t *testing.T) {
	n := 4 << 20
	if testing.Short() {
		n = 1 << 16
	}
	r := rand.New(rand.NewPCG(7, 7))
	x := make([]float64, n)
	for i := range x {
		switch i % 3 {
		case 0:
			x[i] = math.Float64frombits(r.Uint64())
		case 1:
			x[i] = -746 + 1456*r.Float64()
		default:
			x[i] = (2*r.Float64() - 1) * math.Ldexp(1, -r.IntN(60))
		}
	}
	x = append(x, 0, math.Copysign(0, -1), inf, -inf, nan, 709.78, 709.79, -745.13, -745.14, -708.4, 1e-300)
	forEachImpl(t, func(t *testing.T) {
		y := make([]float64, len(x))
		Exp64(y, x)
		worst, worstX := 0.0, 0.0
		for i, v := range x {
			if v > 709.4 && v < 709.79 && useAsm() {
				// math.Exp overflows early on amd64; compare to e·exp(x−1)
				// (itself ~1.5 ulp off) instead.
				if u := ulps64(y[i], math.E*math.Exp(v-1)); u > 3 {
					t.Errorf("Exp64(%v) = %v, off by %.2f ulp from e·exp(x−1)", v, y[i], u)
				}
				continue
			}
			if u := ulps64(y[i], math.Exp(v)); u > worst {
				worst, worstX = u, v
			}
		}
		t.Logf("max error %.3f ulp (vs math.Exp) at x = %v", worst, worstX)
		if worst > 2 {
			t.Errorf("max error %.3f ulp at x = %v", worst, worstX)
		}
	})
}

func TestExpSpecial(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		x32 := []float32{0, float32(math.Inf(-1)), float32(math.Inf(1)), float32(math.NaN()), 100, -200, 88.72, -103.97}
		y32 := make([]float32, len(x32))
		Exp32(y32, x32)
		for i, v := range x32 {
			if want := float32(math.Exp(float64(v))); y32[i] != want && !(want != want && y32[i] != y32[i]) {
				if ulps32(y32[i], math.Exp(float64(v))) > 1 {
					t.Errorf("Exp32(%v) = %v; want %v", v, y32[i], want)
				}
			}
		}
		x64 := []float64{0, -inf, inf, nan, 1000, -1000}
		y64 := make([]float64, len(x64))
		Exp64(y64, x64)
		for i, v := range x64 {
			if want := math.Exp(v); y64[i] != want && !(want != want && y64[i] != y64[i]) {
				t.Errorf("Exp64(%v) = %v; want %v", v, y64[i], want)
			}
		}
	})
}

func TestExpGuard(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		for _, n := range testLens {
			x := row64(rowGens[1], n, 9)
			all, dst := guarded64(n)
			Exp64(dst, x)
			checkGuard64(t, all, n)
			x32 := row32(rowGens[1], n, 9)
			all32, dst32 := guarded32(n)
			Exp32(dst32, x32)
			checkGuard32(t, all32, n)
			Exp32(x32, x32) // in place
			for i := range x32 {
				if x32[i] != dst32[i] {
					t.Fatalf("n=%d: in place [%d] = %v; want %v", n, i, x32[i], dst32[i])
				}
			}
		}
	})
}

func Example() {
	s := []float32{1, 2, 3}
	m, sum, _ := MaxSumExp32(s)
	ExpScale32(s, s, m, 1/sum) // softmax, in place
	fmt.Printf("%.4f\n", s)
	// Output: [0.0900 0.2447 0.6652]
}

// bigExp returns exp(x) to about 200 bits: x = k·ln2 + r, Taylor series
// for exp(r), times 2^k.
func bigExp(x float64) *big.Float {
	const prec = 200
	nf := func() *big.Float { return new(big.Float).SetPrec(prec) }
	ln2 := nf() // Σ 1/(i·2^i)
	for i := 1; i < 220; i++ {
		ln2.Add(ln2, nf().SetMantExp(nf().Quo(nf().SetInt64(1), nf().SetInt64(int64(i))), -i))
	}
	k := math.Round(x / math.Ln2)
	r := nf().SetFloat64(x)
	r.Sub(r, nf().Mul(ln2, nf().SetFloat64(k)))
	sum, term := nf().SetInt64(1), nf().SetInt64(1)
	for i := 1; i < 45; i++ {
		term.Mul(term, r)
		term.Quo(term, nf().SetInt64(int64(i)))
		sum.Add(sum, term)
	}
	return sum.SetMantExp(sum, int(k))
}

// TestExp64ULPExact measures Exp64 against a 200-bit reference on a sample
// of the finite range (math.Exp, the oracle elsewhere, is itself ~1 ulp).
func TestExp64ULPExact(t *testing.T) {
	n := 20000
	if testing.Short() {
		n = 1000
	}
	r := rand.New(rand.NewPCG(8, 8))
	x := make([]float64, n)
	for i := range x {
		if i%2 == 0 {
			x[i] = -745.1 + (709.78+745.1)*r.Float64()
		} else {
			x[i] = (2*r.Float64() - 1) * math.Ldexp(1, -r.IntN(40))
		}
	}
	ref := make([]*big.Float, n)
	for i, v := range x {
		ref[i] = bigExp(v)
	}
	forEachImpl(t, func(t *testing.T) {
		y := make([]float64, n)
		Exp64(y, x)
		worst, worstX := 0.0, 0.0
		for i, v := range x {
			if v > 709.4 && !useAsm() {
				continue // math.Exp overflows early on amd64
			}
			want, _ := ref[i].Float64()
			e := math.Max(float64(math.Ilogb(want)), -1022)
			if want == 0 {
				e = -1022
			}
			d, _ := new(big.Float).Sub(new(big.Float).SetPrec(200).SetFloat64(y[i]), ref[i]).Float64()
			if u := math.Abs(d) / math.Ldexp(1, int(e)-52); u > worst {
				worst, worstX = u, v
			}
		}
		t.Logf("max error %.3f ulp (vs 200-bit exp) at x = %v", worst, worstX)
		if worst > 2 {
			t.Errorf("max error %.3f ulp at x = %v", worst, worstX)
		}
	})
}

func TestMaxExpSumScale32(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		for _, g := range rowGens {
			for _, n := range testLens {
				s := row32(g, n, 6)
				wm, wnan := max32Generic(s)
				m, isNaN := Max32(s)
				if m != wm || isNaN != wnan {
					t.Fatalf("%s n=%d: Max32 = %v, %v; want %v, %v", g.name, n, m, isNaN, wm, wnan)
				}
				if math.IsInf(float64(m), 0) || isNaN {
					m = 0.5
				}
				want := make([]float32, n)
				wsum := expSum32Generic(want, s, m)
				all, dst := guarded32(n)
				sum := ExpSum32(dst, s, m)
				checkGuard32(t, all, n)
				if !sameOrClose(float64(sum), float64(wsum), sumRtol32(n)+float64(n)*0x1p-24, 2*0x1p-149) {
					t.Fatalf("%s n=%d: ExpSum32 sum = %v; want %v", g.name, n, sum, wsum)
				}
				in := append([]float32(nil), s...)
				ExpSum32(in, in, m)
				for i := range want {
					if d := float64(s[i]) - float64(m); !close32(dst[i], want[i], d) || !close32(in[i], want[i], d) {
						t.Fatalf("%s n=%d: ExpSum32 [%d] = %v (in place %v); want %v", g.name, n, i, dst[i], in[i], want[i])
					}
				}
				copy(want, dst)
				scale32Generic(want, 0.3)
				Scale32(dst, 0.3)
				checkGuard32(t, all, n)
				for i := range want {
					if math.Float32bits(dst[i]) != math.Float32bits(want[i]) && !(dst[i] != dst[i] && want[i] != want[i]) {
						t.Fatalf("%s n=%d: Scale32 [%d] = %v; want %v", g.name, n, i, dst[i], want[i])
					}
				}
			}
		}
	})
}

func TestMaxExpSumScale64(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		for _, g := range rowGens {
			for _, n := range testLens {
				s := row64(g, n, 6)
				wm, wnan := max64Generic(s)
				m, isNaN := Max64(s)
				if m != wm || isNaN != wnan {
					t.Fatalf("%s n=%d: Max64 = %v, %v; want %v, %v", g.name, n, m, isNaN, wm, wnan)
				}
				if math.IsInf(m, 0) || isNaN {
					m = 0.5
				}
				want := make([]float64, n)
				wsum := expSum64Generic(want, s, m)
				all, dst := guarded64(n)
				sum := ExpSum64(dst, s, m)
				checkGuard64(t, all, n)
				if !sameOrClose(sum, wsum, sumRtol64(n)+float64(n)*0x1p-53, 2*0x1p-1074) {
					t.Fatalf("%s n=%d: ExpSum64 sum = %v; want %v", g.name, n, sum, wsum)
				}
				in := append([]float64(nil), s...)
				ExpSum64(in, in, m)
				for i := range want {
					if d := s[i] - m; !close64(dst[i], want[i], d) || !close64(in[i], want[i], d) {
						t.Fatalf("%s n=%d: ExpSum64 [%d] = %v (in place %v); want %v", g.name, n, i, dst[i], in[i], want[i])
					}
				}
				copy(want, dst)
				scale64Generic(want, 0.3)
				Scale64(dst, 0.3)
				checkGuard64(t, all, n)
				for i := range want {
					if math.Float64bits(dst[i]) != math.Float64bits(want[i]) && !(dst[i] != dst[i] && want[i] != want[i]) {
						t.Fatalf("%s n=%d: Scale64 [%d] = %v; want %v", g.name, n, i, dst[i], want[i])
					}
				}
			}
		}
	})
}

// Log inputs: the sums of exponentials the kernel is meant for, a wide
// log-uniform spread, values near 1, subnormals, and special values.
var logGens = []rowGen{
	{"sums", func(r *rand.Rand, i, n int) float64 { return 1 + 999*r.Float64() }},
	{"logspread", func(r *rand.Rand, i, n int) float64 { return math.Exp(1400 * (r.Float64() - 0.5)) }},
	{"near1", func(r *rand.Rand, i, n int) float64 { return 1 + 1e-3*r.NormFloat64() }},
	{"subnormal", func(r *rand.Rand, i, n int) float64 { return 1e-40 * r.Float64() }},
	{"subnormal64", func(r *rand.Rand, i, n int) float64 { return 1e-310 * r.Float64() }},
	{"special", func(r *rand.Rand, i, n int) float64 {
		return []float64{0, math.Copysign(0, -1), 1, inf, -inf, nan, -1, 2.5, 1e-45, 5e-324, math.MaxFloat64}[r.IntN(11)]
	}},
	{"special-last", func(r *rand.Rand, i, n int) float64 {
		if i == n-1 {
			return -2
		}
		return 3 + r.Float64()
	}},
}

// logUlps32 is the error of got = log(x) in ulps against math.Log, with
// infinities, zeros and NaN required to be exact.
func logUlps32(got, x float32) float64 {
	want := math.Log(float64(x))
	if float64(got) == want && !math.IsInf(want, 0) || float64(got) == want && math.Signbit(float64(got)) == math.Signbit(want) || got != got && want != want {
		return 0
	}
	if math.IsInf(want, 0) || want != want || math.IsInf(float64(got), 0) || got != got {
		return math.Inf(1)
	}
	return ulps32(got, want)
}

func logUlps64(got, want float64) float64 {
	if got == want || got != got && want != want {
		return 0
	}
	if math.IsInf(want, 0) || want != want || math.IsInf(got, 0) || got != got {
		return math.Inf(1)
	}
	return ulps64(got, want)
}

func TestLog32(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		for _, g := range logGens {
			for _, n := range testLens {
				x := row32(g, n, 10)
				want := make([]float32, n)
				log32Generic(want, x)
				all, dst := guarded32(n)
				Log32(dst, x)
				checkGuard32(t, all, n)
				in := append([]float32(nil), x...)
				Log32(in, in) // in place
				for i := range want {
					if u := logUlps32(dst[i], x[i]); u > 2 || math.Float32bits(in[i]) != math.Float32bits(dst[i]) && !(in[i] != in[i] && dst[i] != dst[i]) {
						t.Fatalf("%s n=%d: [%d] log(%v) = %v (in place %v, %.2f ulp); want %v",
							g.name, n, i, x[i], dst[i], in[i], u, want[i])
					}
				}
			}
		}
	})
}

func TestLog64(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		for _, g := range logGens {
			for _, n := range testLens {
				x := row64(g, n, 10)
				want := make([]float64, n)
				log64Generic(want, x)
				all, dst := guarded64(n)
				Log64(dst, x)
				checkGuard64(t, all, n)
				in := append([]float64(nil), x...)
				Log64(in, in)
				for i := range want {
					if u := logUlps64(dst[i], want[i]); u > 2 || math.Float64bits(in[i]) != math.Float64bits(dst[i]) && !(in[i] != in[i] && dst[i] != dst[i]) {
						t.Fatalf("%s n=%d: [%d] log(%v) = %v (in place %v, %.2f ulp); want %v",
							g.name, n, i, x[i], dst[i], in[i], u, want[i])
					}
				}
			}
		}
	})
}

// TestLog32ULP sweeps every 97th float32 bit pattern (all signs, zeros,
// NaNs, infinities and subnormals among them) against math.Log.
func TestLog32ULP(t *testing.T) {
	step := uint64(97)
	if testing.Short() {
		step = 9973
	}
	forEachImpl(t, func(t *testing.T) {
		const chunk = 1 << 16
		x := make([]float32, 0, chunk)
		y := make([]float32, chunk)
		worst, worstX := 0.0, float32(0)
		flush := func() {
			Log32(y[:len(x)], x)
			for i, v := range x {
				if u := logUlps32(y[i], v); u > worst {
					worst, worstX = u, v
				}
			}
			x = x[:0]
		}
		for b := uint64(0); b < 1<<32; b += step {
			x = append(x, math.Float32frombits(uint32(b)))
			if len(x) == chunk {
				flush()
			}
		}
		// The neighbourhood of 1, where log is small, bit by bit.
		for b := uint32(0x3f7f0000); b < 0x3f810000; b++ {
			x = append(x, math.Float32frombits(b))
			if len(x) == chunk {
				flush()
			}
		}
		flush()
		t.Logf("max error %.3f ulp at x = %v", worst, worstX)
		if worst > 2 {
			t.Errorf("max error %.3f ulp at x = %v (log = %v)", worst, worstX, math.Log(float64(worstX)))
		}
	})
}

// logSample64 returns random bit patterns, positive values spread over the
// whole range (subnormals included) and values near 1.
func logSample64(n int, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, seed))
	x := make([]float64, n)
	for i := range x {
		switch i % 4 {
		case 0:
			x[i] = math.Float64frombits(r.Uint64())
		case 1:
			x[i] = math.Float64frombits(r.Uint64() >> 1) // positive, NaN and +Inf among them
		case 2:
			x[i] = math.Float64frombits(r.Uint64N(1 << 52)) // subnormal
		default:
			x[i] = 1 + (2*r.Float64()-1)*math.Ldexp(1, -r.IntN(50))
		}
	}
	return x
}

// TestLog64ULP samples the range against the portable code: math.Log
// (within 1 ulp), subnormals scaled first.
func TestLog64ULP(t *testing.T) {
	n := 4 << 20
	if testing.Short() {
		n = 1 << 16
	}
	x := logSample64(n, 11)
	x = append(x, 0, math.Copysign(0, -1), inf, -inf, nan, 1, math.SmallestNonzeroFloat64, math.MaxFloat64, 0x1p-1022, math.Nextafter(1, 0), math.Sqrt2, math.Sqrt2/2)
	want := make([]float64, len(x))
	log64Generic(want, x)
	forEachImpl(t, func(t *testing.T) {
		y := make([]float64, len(x))
		Log64(y, x)
		worst, worstX := 0.0, 0.0
		for i, v := range x {
			if u := logUlps64(y[i], want[i]); u > worst {
				worst, worstX = u, v
			}
		}
		t.Logf("max error %.3f ulp (vs generic) at x = %v", worst, worstX)
		if worst > 2 {
			t.Errorf("max error %.3f ulp at x = %v", worst, worstX)
		}
	})
}

// bigLog returns log(x) to about 200 bits for positive finite x:
// x = 2^k·m, m in [√½, √2), log m = 2·atanh((m−1)/(m+1)) by its series.
func bigLog(x float64) *big.Float {
	const prec = 200
	nf := func() *big.Float { return new(big.Float).SetPrec(prec) }
	ln2 := nf() // Σ 1/(i·2^i)
	for i := 1; i < 220; i++ {
		ln2.Add(ln2, nf().SetMantExp(nf().Quo(nf().SetInt64(1), nf().SetInt64(int64(i))), -i))
	}
	fr, k := math.Frexp(x) // x = fr·2^k, fr in [½, 1)
	if fr < math.Sqrt2/2 {
		fr, k = fr*2, k-1
	}
	m := nf().SetFloat64(fr)
	one := nf().SetInt64(1)
	s := nf().Quo(nf().Sub(m, one), nf().Add(m, one))
	s2 := nf().Mul(s, s)
	sum, p := nf(), nf().Set(s)
	for j := 0; j < 50; j++ {
		sum.Add(sum, nf().Quo(p, nf().SetInt64(int64(2*j+1))))
		p.Mul(p, s2)
	}
	sum.Mul(sum, nf().SetInt64(2))
	return sum.Add(sum, nf().Mul(ln2, nf().SetInt64(int64(k))))
}

// TestLog64ULPExact measures Log64 against a 200-bit reference.
func TestLog64ULPExact(t *testing.T) {
	n := 20000
	if testing.Short() {
		n = 1000
	}
	x := logSample64(n, 12)
	for i, v := range x {
		if !(v > 0 && v <= math.MaxFloat64) {
			x[i] = 1 / (1 + float64(i))
		}
	}
	ref := make([]*big.Float, n)
	for i, v := range x {
		ref[i] = bigLog(v)
	}
	forEachImpl(t, func(t *testing.T) {
		y := make([]float64, n)
		Log64(y, x)
		worst, worstX := 0.0, 0.0
		for i, v := range x {
			want, _ := ref[i].Float64()
			if want == 0 {
				if y[i] != 0 {
					t.Errorf("Log64(%v) = %v; want 0", v, y[i])
				}
				continue
			}
			e := math.Max(float64(math.Ilogb(want)), -1022)
			d, _ := new(big.Float).Sub(new(big.Float).SetPrec(200).SetFloat64(y[i]), ref[i]).Float64()
			if u := math.Abs(d) / math.Ldexp(1, int(e)-52); u > worst {
				worst, worstX = u, v
			}
		}
		t.Logf("max error %.3f ulp (vs 200-bit log) at x = %v", worst, worstX)
		if worst > 2 {
			t.Errorf("max error %.3f ulp at x = %v", worst, worstX)
		}
	})
}

func TestLogSpecial(t *testing.T) {
	negz32 := float32(math.Copysign(0, -1))
	forEachImpl(t, func(t *testing.T) {
		x32 := []float32{0, negz32, 1, float32(inf), float32(-inf), float32(nan), -1, -1e-45, 1e-45, math.MaxFloat32, 2}
		y32 := make([]float32, len(x32))
		Log32(y32, x32)
		for i, v := range x32 {
			want := float32(math.Log(float64(v)))
			if math.Float32bits(y32[i]) != math.Float32bits(want) && !(want != want && y32[i] != y32[i]) {
				if want != want || math.IsInf(float64(want), 0) || want == 0 || ulps32(y32[i], math.Log(float64(v))) > 1 {
					t.Errorf("Log32(%v) = %v; want %v", v, y32[i], want)
				}
			}
		}
		x64 := []float64{0, math.Copysign(0, -1), 1, inf, -inf, nan, -1, -5e-324, 5e-324, math.MaxFloat64, 2}
		y64 := make([]float64, len(x64))
		Log64(y64, x64)
		want64 := make([]float64, len(x64))
		log64Generic(want64, x64)
		for i, v := range x64 {
			want := want64[i]
			if math.Float64bits(y64[i]) != math.Float64bits(want) && !(want != want && y64[i] != y64[i]) {
				if want != want || math.IsInf(want, 0) || want == 0 || ulps64(y64[i], want) > 1 {
					t.Errorf("Log64(%v) = %v; want %v", v, y64[i], want)
				}
			}
		}
	})
}

// colTol32 is the tolerance of a column sum of exponentials against the
// portable one, summed in the same order: each term's own tolerance (see
// close32) plus a rounding of the running sum per term.
func colTol32(e []float32, d []float64, sum float32) float64 {
	tol := float64(len(e)) * 0x1p-24 * math.Abs(float64(sum))
	for i, v := range e {
		dd := d[i]
		if math.IsInf(dd, 0) || dd != dd {
			dd = 0
		}
		tol += math.Abs(float64(v))*(4*0x1p-23+math.Abs(dd)*0x1p-24) + 2*0x1p-149
	}
	return tol
}

func colTol64(e []float64, d []float64, sum float64) float64 {
	tol := float64(len(e)) * 0x1p-53 * math.Abs(sum)
	for i, v := range e {
		dd := d[i]
		if math.IsInf(dd, 0) || dd != dd {
			dd = 0
		}
		tol += math.Abs(v)*(4*0x1p-52+math.Abs(dd)*0x1p-53) + 2*0x1p-1074
	}
	return tol
}

func TestMaxCols32(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		for _, g := range rowGens {
			for _, sh := range colShapes {
				C, L, stride := sh[0], sh[1], sh[2]
				s := block32(g, C, L, stride, 5)
				wm := make([]float32, L)
				wnan := maxCols32Generic(wm, s, C, stride)
				allm, m := guarded32(L)
				isNaN := MaxCols32(m, s, C, stride)
				checkGuard32(t, allm, L)
				if isNaN != wnan {
					t.Fatalf("%s C=%d L=%d stride=%d: nan = %v; want %v", g.name, C, L, stride, isNaN, wnan)
				}
				for j := range wm {
					if math.Float32bits(m[j]) != math.Float32bits(wm[j]) {
						t.Fatalf("%s C=%d L=%d stride=%d: [%d] m = %v; want %v", g.name, C, L, stride, j, m[j], wm[j])
					}
				}
			}
		}
	})
}

func TestMaxCols64(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		for _, g := range rowGens {
			for _, sh := range colShapes {
				C, L, stride := sh[0], sh[1], sh[2]
				s := block64(g, C, L, stride, 5)
				wm := make([]float64, L)
				wnan := maxCols64Generic(wm, s, C, stride)
				allm, m := guarded64(L)
				isNaN := MaxCols64(m, s, C, stride)
				checkGuard64(t, allm, L)
				if isNaN != wnan {
					t.Fatalf("%s C=%d L=%d stride=%d: nan = %v; want %v", g.name, C, L, stride, isNaN, wnan)
				}
				for j := range wm {
					if math.Float64bits(m[j]) != math.Float64bits(wm[j]) {
						t.Fatalf("%s C=%d L=%d stride=%d: [%d] m = %v; want %v", g.name, C, L, stride, j, m[j], wm[j])
					}
				}
			}
		}
	})
}

// TestExpSumScaleCols32 runs ExpSumCols32 and ScaleCols32 on the max from
// the portable MaxCols, with m[j] = 0 where the max is −Inf and on every
// fifth position (as a caller discarding it would: s − m may then be
// large and positive, the exponentials +Inf).
func TestExpSumScaleCols32(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		for _, g := range rowGens {
			for _, sh := range colShapes {
				C, L, stride := sh[0], sh[1], sh[2]
				s := block32(g, C, L, stride, 6)
				m := make([]float32, L)
				maxCols32Generic(m, s, C, stride)
				for j := range m {
					if math.IsInf(float64(m[j]), 0) || j%5 == 4 {
						m[j] = 0
					}
				}
				want, wsum := append([]float32(nil), s...), make([]float32, L)
				expSumCols32Generic(want, s, C, stride, m, wsum)
				all, dst := guarded32(len(s))
				copy(dst, s) // the gaps keep s's NaN sentinels
				alls, sum := guarded32(L)
				ExpSumCols32(dst, s, C, stride, m, sum)
				checkGuard32(t, all, len(s))
				checkGuard32(t, alls, L)
				in, isum := append([]float32(nil), s...), make([]float32, L)
				ExpSumCols32(in, in, C, stride, m, isum)
				for i := range want {
					if d := colD(s, C, stride, m, i); !close32(dst[i], want[i], d) ||
						math.Float32bits(in[i]) != math.Float32bits(dst[i]) && !(in[i] != in[i] && dst[i] != dst[i]) {
						t.Fatalf("%s C=%d L=%d stride=%d: ExpSumCols32 [%d] = %v (in place %v); want %v",
							g.name, C, L, stride, i, dst[i], in[i], want[i])
					}
				}
				for j := range wsum {
					e, d := make([]float32, C), make([]float64, C)
					for c := range e {
						e[c], d[c] = want[c*stride+j], float64(s[c*stride+j])-float64(m[j])
					}
					if !sameOrClose(float64(sum[j]), float64(wsum[j]), 0, colTol32(e, d, wsum[j])) ||
						math.Float32bits(isum[j]) != math.Float32bits(sum[j]) && !(isum[j] != isum[j] && sum[j] != sum[j]) {
						t.Fatalf("%s C=%d L=%d stride=%d: ExpSumCols32 sum[%d] = %v (in place %v); want %v",
							g.name, C, L, stride, j, sum[j], isum[j], wsum[j])
					}
				}
				a := make([]float32, L)
				for j := range a {
					a[j] = 1 / sum[j]
					if j%3 == 2 {
						a[j] = 0x1p-140 // subnormal products
					}
				}
				copy(want, dst)
				scaleCols32Generic(want, C, stride, a)
				ScaleCols32(dst, C, stride, a)
				checkGuard32(t, all, len(s))
				for i := range want {
					if math.Float32bits(dst[i]) != math.Float32bits(want[i]) && !(dst[i] != dst[i] && want[i] != want[i]) {
						t.Fatalf("%s C=%d L=%d stride=%d: ScaleCols32 [%d] = %v; want %v", g.name, C, L, stride, i, dst[i], want[i])
					}
				}
			}
		}
	})
}

func TestExpSumScaleCols64(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		for _, g := range rowGens {
			for _, sh := range colShapes {
				C, L, stride := sh[0], sh[1], sh[2]
				s := block64(g, C, L, stride, 6)
				m := make([]float64, L)
				maxCols64Generic(m, s, C, stride)
				for j := range m {
					if math.IsInf(m[j], 0) || j%5 == 4 {
						m[j] = 0
					}
				}
				want, wsum := append([]float64(nil), s...), make([]float64, L)
				expSumCols64Generic(want, s, C, stride, m, wsum)
				all, dst := guarded64(len(s))
				copy(dst, s)
				alls, sum := guarded64(L)
				ExpSumCols64(dst, s, C, stride, m, sum)
				checkGuard64(t, all, len(s))
				checkGuard64(t, alls, L)
				in, isum := append([]float64(nil), s...), make([]float64, L)
				ExpSumCols64(in, in, C, stride, m, isum)
				for i := range want {
					if d := colD(s, C, stride, m, i); !close64(dst[i], want[i], d) ||
						math.Float64bits(in[i]) != math.Float64bits(dst[i]) && !(in[i] != in[i] && dst[i] != dst[i]) {
						t.Fatalf("%s C=%d L=%d stride=%d: ExpSumCols64 [%d] = %v (in place %v); want %v",
							g.name, C, L, stride, i, dst[i], in[i], want[i])
					}
				}
				for j := range wsum {
					e, d := make([]float64, C), make([]float64, C)
					for c := range e {
						e[c], d[c] = want[c*stride+j], s[c*stride+j]-m[j]
					}
					if !sameOrClose(sum[j], wsum[j], 0, colTol64(e, d, wsum[j])) ||
						math.Float64bits(isum[j]) != math.Float64bits(sum[j]) && !(isum[j] != isum[j] && sum[j] != sum[j]) {
						t.Fatalf("%s C=%d L=%d stride=%d: ExpSumCols64 sum[%d] = %v (in place %v); want %v",
							g.name, C, L, stride, j, sum[j], isum[j], wsum[j])
					}
				}
				a := make([]float64, L)
				for j := range a {
					a[j] = 1 / sum[j]
					if j%3 == 2 {
						a[j] = 0x1p-1060
					}
				}
				copy(want, dst)
				scaleCols64Generic(want, C, stride, a)
				ScaleCols64(dst, C, stride, a)
				checkGuard64(t, all, len(s))
				for i := range want {
					if math.Float64bits(dst[i]) != math.Float64bits(want[i]) && !(dst[i] != dst[i] && want[i] != want[i]) {
						t.Fatalf("%s C=%d L=%d stride=%d: ScaleCols64 [%d] = %v; want %v", g.name, C, L, stride, i, dst[i], want[i])
					}
				}
			}
		}
	})
}

// TestCols3Pass32 checks that the three-pass triple gives the softmax of
// the two-pass pair on spatial blocks.
func TestCols3Pass32(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		for _, sh := range [][3]int{{21, 256, 16384}, {21, 5, 64}, {1000, 16, 16}, {3, 17, 19}} {
			C, L, stride := sh[0], sh[1], sh[2]
			s := block32(rowGens[0], C, L, stride, 7)
			m, sum, a := make([]float32, L), make([]float32, L), make([]float32, L)
			maxSumExpCols32Generic(m, sum, s, C, stride)
			for j := range a {
				a[j] = 1 / sum[j]
			}
			want := append([]float32(nil), s...)
			expScaleCols32Generic(want, s, C, stride, m, a)
			got := append([]float32(nil), s...)
			MaxCols32(m, got, C, stride)
			ExpSumCols32(got, got, C, stride, m, sum)
			for j := range a {
				a[j] = 1 / sum[j]
			}
			ScaleCols32(got, C, stride, a)
			for i := range want {
				if !sameOrClose(float64(got[i]), float64(want[i]), 1e-5, 1e-30) {
					t.Fatalf("C=%d L=%d stride=%d: [%d] = %v; want %v", C, L, stride, i, got[i], want[i])
				}
			}
		}
	})
}

// TestAVX2Registers checks that no AVX2 function of the generated assembly
// names a register only AVX-512 has (avo allocates Y16–Y31 when a kernel
// needs more than 16 vectors, and the assembler then encodes EVEX), so
// that the AVX2 code runs on machines without AVX-512.
func TestAVX2Registers(t *testing.T) {
	b, err := os.ReadFile("kernel_amd64.s")
	if err != nil {
		t.Skip(err)
	}
	evex := regexp.MustCompile(`\b([XY](1[6-9]|2[0-9]|3[01])|Z[0-9]+|K[1-7])\b`)
	for _, f := range strings.Split(string(b), "\n// func ")[1:] {
		name, _, _ := strings.Cut(f, "(")
		if !strings.HasSuffix(name, "AVX2") {
			continue
		}
		if r := evex.FindString(f); r != "" {
			t.Errorf("%s uses %s", name, r)
		}
	}
}

// TestExpSumIsExp checks that ExpSum's exponentials are bit for bit
// those of Exp applied to s − m, whichever of their paths the AVX2 kernels
// take for each step (see normalFast in _asm), with m the row's max or
// 100 below it (x up to +100: overflow). (The portable float32 code works
// in float64, so its two differ in the last bit.)
func TestExpSumIsExp(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		if !useAsm() {
			t.Skip("the portable code")
		}
		t.Run("float32", func(t *testing.T) { testExpSumIsExp(t, row32, ExpSum32, Exp32, Max32) })
		t.Run("float64", func(t *testing.T) { testExpSumIsExp(t, row64, ExpSum64, Exp64, Max64) })
	})
}

func testExpSumIsExp[T float32 | float64](t *testing.T, row func(rowGen, int, uint64) []T,
	expSum func(dst, s []T, m T) T, exp func(dst, x []T), maxOf func([]T) (T, bool)) {
	for _, g := range rowGens {
		for _, n := range testLens {
			s := row(g, n, 9)
			mx, isNaN := maxOf(s)
			if math.IsInf(float64(mx), 0) || isNaN {
				mx = 0.5
			}
			for _, m := range []T{mx, mx - 100} {
				x := make([]T, n)
				for i := range s {
					x[i] = s[i] - m
				}
				want := make([]T, n)
				exp(want, x)
				got := make([]T, n)
				expSum(got, s, m)
				for i := range want {
					if a, b := float64(got[i]), float64(want[i]); a != b && !(a != a && b != b) {
						t.Fatalf("%s n=%d m=%v: ExpSum [%d] = %v; Exp(%v) = %v", g.name, n, m, i, got[i], x[i], want[i])
					}
				}
			}
		}
	}
}

// TestExpSumMax: ExpSumMax gives, bit for bit, what ExpSum of the row and
// Max of the next row give separately, with each implementation, in place
// or not, without touching next or writing past dst; ScaleExpSumMax gives
// that and Scale of the row before.
func TestExpSumMax(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		t.Run("float32", func(t *testing.T) {
			testExpSumMax(t, row32, ExpSum32, Max32, Scale32, ExpSumMax32, ScaleExpSumMax32)
		})
		t.Run("float64", func(t *testing.T) {
			testExpSumMax(t, row64, ExpSum64, Max64, Scale64, ExpSumMax64, ScaleExpSumMax64)
		})
	})
}

func testExpSumMax[T float32 | float64](t *testing.T, row func(rowGen, int, uint64) []T,
	expSum func(dst, s []T, m T) T, maxOf func([]T) (T, bool), scale func([]T, T),
	expSumMax func(dst, s []T, m T, next []T) (T, T, bool),
	scaleExpSumMax func(prev []T, a T, dst, s []T, m T, next []T) (T, T, bool)) {
	same := func(a, b T) bool {
		x, y := float64(a), float64(b)
		return x == y && math.Signbit(x) == math.Signbit(y) || x != x && y != y
	}
	for gi, g := range rowGens {
		gNext := rowGens[(gi+1)%len(rowGens)] // a different kind of row after it
		for _, n := range testLens {
			s, next := row(g, n, 6), row(gNext, n, 7)
			m, isNaN := maxOf(s)
			if math.IsInf(float64(m), 0) || isNaN {
				m = 0.5
			}
			want := make([]T, n)
			wsum := expSum(want, s, m)
			wm, wnan := maxOf(next)
			nextBefore := append([]T(nil), next...)
			prevRow := row(rowGens[(gi+2)%len(rowGens)], n, 8)
			wantPrev := append([]T(nil), prevRow...)
			scale(wantPrev, 0.3)
			for _, variant := range []int{0, 1, 2, 3} {
				inPlace, withPrev := variant%2 == 1, variant >= 2
				all := make([]T, n+2*guard)
				for i := range all {
					all[i] = -7
				}
				dst := all[guard : guard+n]
				src := s
				if inPlace {
					copy(dst, s)
					src = dst
				}
				var sum, mNext T
				var nan bool
				prev := append([]T(nil), prevRow...)
				if withPrev {
					sum, mNext, nan = scaleExpSumMax(prev, 0.3, dst, src, m, next)
					for i := range prev {
						if !same(prev[i], wantPrev[i]) {
							t.Fatalf("%s n=%d, in place %v: prev[%d] = %v; want %v", g.name, n, inPlace, i, prev[i], wantPrev[i])
						}
					}
				} else {
					sum, mNext, nan = expSumMax(dst, src, m, next)
				}
				if !same(sum, wsum) || !same(mNext, wm) || nan != wnan {
					t.Fatalf("%s then %s, n=%d, in place %v: sum, mNext, nan = %v, %v, %v; want %v, %v, %v",
						g.name, gNext.name, n, inPlace, sum, mNext, nan, wsum, wm, wnan)
				}
				for i := range all {
					switch {
					case i < guard || i >= guard+n:
						if all[i] != -7 {
							t.Fatalf("%s n=%d: write outside dst at %d", g.name, n, i-guard)
						}
					case !same(all[i], want[i-guard]):
						t.Fatalf("%s n=%d, in place %v: dst[%d] = %v; want %v", g.name, n, inPlace, i-guard, all[i], want[i-guard])
					}
				}
				for i := range next {
					if !same(next[i], nextBefore[i]) {
						t.Fatalf("%s n=%d: next[%d] changed", g.name, n, i)
					}
				}
			}
		}
	}
}
