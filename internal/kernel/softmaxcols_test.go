package kernel

import (
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// TestColsBlockLayout: the assembly reads ColsBlock32 at fixed offsets
// (see _asm/softmaxcols.go).
func TestColsBlockLayout(t *testing.T) {
	var b ColsBlock32
	for _, f := range []struct {
		name      string
		got, want uintptr
	}{
		{"Y", unsafe.Offsetof(b.Y), 0},
		{"GW", unsafe.Offsetof(b.GW), 1024},
		{"M", unsafe.Offsetof(b.M), 3072},
		{"Sum", unsafe.Offsetof(b.Sum), 4096},
		{"SY", unsafe.Offsetof(b.SY), 5120},
		{"aux", unsafe.Offsetof(b.aux), 6144},
		{"tmp", unsafe.Offsetof(b.tmp), 8256},
	} {
		if f.got != f.want {
			t.Errorf("offset of %s = %d; the assembly reads it at %d", f.name, f.got, f.want)
		}
	}
}

// softmaxCols3Pass32 is SoftmaxCols32 made of the three-pass kernels and
// Go, the way package xent did it before the fused kernel: the fused
// AVX-512 kernel must match it bit for bit.
func softmaxCols3Pass32(d, s []float32, C, stride, L int, b *ColsBlock32) {
	m, sum := b.M[:L], b.Sum[:L]
	MaxCols32(m, s, C, stride)
	for j := range L {
		if y := b.Y[j]; y >= 0 {
			b.SY[j] = s[int(y)*stride+j]
		}
	}
	ExpSumCols32(d, s, C, stride, m, sum)
	a := make([]float32, L)
	for j := range a {
		a[j] = float32(b.GW[j] / float64(sum[j]))
	}
	ScaleCols32(d, C, stride, a)
	for j := range L {
		if y := b.Y[j]; y >= 0 {
			i := int(y)*stride + j
			d[i] = float32(float64(d[i]) - b.GW[j])
		}
	}
}

// softmaxColsCase sets targets (some ignored) and gw (some zero) for the
// positions of C classes.
func softmaxColsCase(r *rand.Rand, C int, b *ColsBlock32) {
	for j := range b.Y {
		b.Y[j] = int32(r.IntN(C))
		b.GW[j] = 1 / 3.0 * (1 + r.Float64())
		switch r.IntN(8) {
		case 0:
			b.Y[j], b.GW[j] = -1, 0
		case 1:
			b.GW[j] = 0
		}
	}
}

func TestSoftmaxCols32(t *testing.T) {
	// Wide steps: {21, 256, 16384}, {32, 256, 1024}, {1, 256, 4096}; not
	// {33, 256, 1024} (C > 32) nor {21, 256, 256} (stride).
	shapes := [][3]int{{21, 256, 16384}, {32, 256, 1024}, {1, 256, 4096}, {33, 256, 1024}, {21, 256, 256}, {1, 17, 17}, {2, 40, 40}, {5, 1, 3}, {64, 33, 100}, {21, 15, 16}, {3, 16, 16}, {7, 0, 5}}
	forEachImpl(t, func(t *testing.T) {
		exact := HasSoftmaxCols() || !useAsm()
		for _, g := range rowGens {
			for _, sh := range shapes {
				C, L, stride := sh[0], sh[1], sh[2]
				r := rand.New(rand.NewPCG(uint64(C), uint64(L)))
				s := block32(g, C, L, stride, uint64(stride))
				var want, got ColsBlock32
				softmaxColsCase(r, C, &want)
				wd := append([]float32(nil), s...)
				softmaxCols3Pass32(wd, s, C, stride, L, &want)
				if hasNaNOrInf(want.M[:L]) || hasNaN(s) || hasNegInf(want.SY[:L], want.Y[:L]) {
					continue // blocks that stop early are TestSoftmaxCols32Stops' business
				}
				for _, inPlace := range []bool{false, true} {
					got.Y, got.GW = want.Y, want.GW
					d := make([]float32, len(s))
					in := s
					if inPlace {
						d = append([]float32(nil), s...)
						in = d
					}
					if done := SoftmaxCols32(d, in, C, stride, L, &got); done != L {
						t.Fatalf("%s C=%d L=%d: done = %d; want %d", g.name, C, L, done, L)
					}
					for i := range wd {
						if i%stride >= L {
							continue
						}
						if exact && math.Float32bits(d[i]) != math.Float32bits(wd[i]) ||
							!exact && !sameOrClose(float64(d[i]), float64(wd[i]), 1e-5, 1e-30) {
							t.Fatalf("%s C=%d L=%d stride=%d in place %v: d[%d] = %v; want %v (three passes)",
								g.name, C, L, stride, inPlace, i, d[i], wd[i])
						}
					}
					if !inPlace {
						// The forward kernel gives the same M, Sum and SY.
						var fwd ColsBlock32
						fwd.Y = want.Y
						if done := SoftmaxColsFwd32(s, C, stride, L, &fwd); done != L {
							t.Fatalf("%s C=%d L=%d: forward done = %d; want %d", g.name, C, L, done, L)
						}
						for j := range L {
							if fwd.M[j] != got.M[j] || fwd.Sum[j] != got.Sum[j] || fwd.Y[j] >= 0 && fwd.SY[j] != got.SY[j] {
								t.Fatalf("%s C=%d L=%d: forward M, Sum, SY[%d] = %v, %v, %v; want %v, %v, %v", g.name, C, L, j,
									fwd.M[j], fwd.Sum[j], fwd.SY[j], got.M[j], got.Sum[j], got.SY[j])
							}
						}
					}
					for j := range L {
						if got.M[j] != want.M[j] || got.SY[j] != want.SY[j] && want.Y[j] >= 0 ||
							exact && got.Sum[j] != want.Sum[j] || !sameOrClose(float64(got.Sum[j]), float64(want.Sum[j]), 1e-5, 0) {
							t.Fatalf("%s C=%d L=%d: M, SY, Sum[%d] = %v, %v, %v; want %v, %v, %v", g.name, C, L, j,
								got.M[j], got.SY[j], got.Sum[j], want.M[j], want.SY[j], want.Sum[j])
						}
					}
				}
			}
		}
	})
}

func hasNaN(x []float32) bool {
	for _, v := range x {
		if v != v {
			return true
		}
	}
	return false
}

func hasNaNOrInf(x []float32) bool {
	for _, v := range x {
		if v != v || math.IsInf(float64(v), 0) {
			return true
		}
	}
	return false
}

func hasNegInf(sy []float32, y []int32) bool {
	for j, v := range sy {
		if y[j] >= 0 && math.IsInf(float64(v), -1) {
			return true
		}
	}
	return false
}

// TestSoftmaxCols32Stops puts a NaN, a +Inf, a column of −Inf or a −Inf
// target logit at position j: the kernel must stop at j or before it, at
// the start of its step (32 positions, or 256 for the gradient's wide
// steps), with the positions before it done and the rest of d untouched.
func TestSoftmaxCols32Stops(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		t.Run("narrow", func(t *testing.T) { softmaxCols32Stops(t, 7, 50, 64, []int{0, 1, 15, 16, 17, 33, 49}, 31) })
		t.Run("wide", func(t *testing.T) { softmaxCols32Stops(t, 7, 256, 1024, []int{0, 17, 100, 255}, 255) })
	})
}

func softmaxCols32Stops(t *testing.T, C, L, stride int, at []int, step int) {
	for _, bad := range []string{"nan", "+inf", "-inf column", "-inf target"} {
		for _, j := range at {
			r := rand.New(rand.NewPCG(uint64(j), 9))
			s := block32(rowGens[0], C, L, stride, uint64(j))
			var b ColsBlock32
			softmaxColsCase(r, C, &b)
			switch bad {
			case "nan":
				s[3*stride+j] = float32(math.NaN())
			case "+inf":
				s[5*stride+j] = float32(math.Inf(1))
			case "-inf column":
				for c := range C {
					s[c*stride+j] = float32(math.Inf(-1))
				}
			default:
				b.Y[j] = 2
				s[2*stride+j] = float32(math.Inf(-1))
			}
			want := b
			wd := make([]float32, len(s))
			softmaxCols3Pass32(wd, s, C, stride, j, &want)
			d := make([]float32, len(s))
			for i := range d {
				d[i] = -7
			}
			fwd := b
			done := SoftmaxCols32(d, s, C, stride, L, &b)
			if done > j || done < j&^step {
				t.Fatalf("%s at %d: done = %d", bad, j, done)
			}
			if fdone := SoftmaxColsFwd32(s, C, stride, L, &fwd); fdone > j || fdone < j&^31 {
				t.Fatalf("%s at %d: forward done = %d", bad, j, fdone)
			}
			for i, v := range d {
				col := i % stride
				switch {
				case col >= done && v != -7:
					t.Fatalf("%s at %d: d[%d] (position %d) = %v, written after done = %d", bad, j, i, col, v, done)
				case col < done && !sameOrClose(float64(v), float64(wd[i]), 1e-5, 1e-30):
					t.Fatalf("%s at %d: d[%d] = %v; want %v", bad, j, i, v, wd[i])
				}
			}
		}
	}
}

// TestSoftmaxColsIndex32: the index-target kernel gives, bit for bit, what
// SoftmaxCols32 (or SoftmaxColsFwd32) gives with Y and GW made from the
// targets, and the losses (M − SY) + log(Sum) with the log of Log32: the
// same positions done (also where a bad logit stops it), the same Y, GW,
// M, Sum, SY, gradient and losses; nothing written to losses past them.
func TestSoftmaxColsIndex32(t *testing.T) {
	shapes := [][3]int{{21, 256, 16384}, {32, 256, 1024}, {1, 17, 17}, {5, 1, 3}, {64, 33, 100}, {21, 15, 16}, {3, 200, 256}}
	const ignore = -100
	forEachImpl(t, func(t *testing.T) {
		for gi, g := range rowGens {
			for _, sh := range shapes {
				C, L, stride := sh[0], sh[1], sh[2]
				r := rand.New(rand.NewPCG(uint64(C), uint64(L+gi)))
				s := block32(g, C, L, stride, uint64(stride))
				targets := make([]int64, L)
				for j := range targets {
					targets[j] = int64(r.IntN(C))
					if r.IntN(4) == 0 {
						targets[j] = ignore
					}
				}
				const gw = 0.37
				var want ColsBlock32
				for j, y := range targets {
					want.Y[j], want.GW[j] = int32(y), gw
					if y == ignore {
						want.Y[j], want.GW[j] = -1, 0
					}
				}
				for _, grad := range []bool{true, false} {
					var wd, gd []float32
					var wdone int
					w := want
					if grad {
						wd, gd = append([]float32(nil), s...), append([]float32(nil), s...)
						wdone = SoftmaxCols32(wd, wd, C, stride, L, &w)
					} else {
						wdone = SoftmaxColsFwd32(s, C, stride, L, &w)
					}
					wl := make([]float64, L)
					logSum := make([]float32, wdone)
					Log32(logSum, w.Sum[:wdone])
					wcounted := 0
					for j := range wdone {
						if w.Y[j] >= 0 {
							wl[j] = (float64(w.M[j]) - float64(w.SY[j])) + float64(logSum[j])
							wcounted++
						}
					}
					var got ColsBlock32
					gl := make([]float64, L)
					for j := range gl {
						gl[j] = -7 // to see what is written
					}
					src := s
					if grad {
						src = gd // in place
					}
					done, counted := SoftmaxColsIndex32(gd, src, C, stride, L, targets, ignore, gw, gl, &got)
					if done != wdone || counted != wcounted {
						t.Fatalf("%s C=%d L=%d grad %v: done, counted = %d, %d; want %d, %d", g.name, C, L, grad, done, counted, wdone, wcounted)
					}
					for j := range L {
						switch {
						case j >= done:
							if gl[j] != -7 {
								t.Fatalf("%s C=%d L=%d grad %v: losses[%d] = %v written past done = %d", g.name, C, L, grad, j, gl[j], done)
							}
						case got.Y[j] != w.Y[j] || grad && got.GW[j] != w.GW[j] ||
							math.Float32bits(got.M[j]) != math.Float32bits(w.M[j]) ||
							math.Float32bits(got.Sum[j]) != math.Float32bits(w.Sum[j]) ||
							w.Y[j] >= 0 && math.Float32bits(got.SY[j]) != math.Float32bits(w.SY[j]) ||
							math.Float64bits(gl[j]) != math.Float64bits(wl[j]):
							t.Fatalf("%s C=%d L=%d grad %v: position %d: Y %d GW %v M %v Sum %v SY %v loss %v; want %d %v %v %v %v %v",
								g.name, C, L, grad, j, got.Y[j], got.GW[j], got.M[j], got.Sum[j], got.SY[j], gl[j],
								w.Y[j], w.GW[j], w.M[j], w.Sum[j], w.SY[j], wl[j])
						}
					}
					for i := range wd {
						if math.Float32bits(gd[i]) != math.Float32bits(wd[i]) && !(gd[i] != gd[i] && wd[i] != wd[i]) {
							t.Fatalf("%s C=%d L=%d: d[%d] = %v; want %v", g.name, C, L, i, gd[i], wd[i])
						}
					}
				}
			}
		}
	})
}
