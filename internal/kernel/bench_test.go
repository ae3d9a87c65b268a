package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
)

var benchCs = []int{10, 1000, 32000}

// benchImpls runs f under every implementation as impl=…/C=… and the copy
// yardstick beside them as impl=copy/C=…. SetBytes counts the logits once.
func benchImpls(b *testing.B, f func(b *testing.B, s, dst []float32)) {
	for _, name := range append(Implementations(), "copy") {
		for _, C := range benchCs {
			b.Run(fmt.Sprintf("impl=%s/C=%d", name, C), func(b *testing.B) {
				s := make([]float32, C)
				r := rand.New(rand.NewPCG(1, 2))
				for i := range s {
					s[i] = 4 * float32(r.NormFloat64())
				}
				dst := make([]float32, C)
				b.SetBytes(int64(4 * C))
				if name == "copy" {
					for b.Loop() {
						copy(dst, s)
					}
					return
				}
				restore, _ := Select(name)
				defer restore()
				for b.Loop() {
					f(b, s, dst)
				}
			})
		}
	}
}

var sink float32

func BenchmarkMaxSumExp32(b *testing.B) {
	benchImpls(b, func(b *testing.B, s, dst []float32) {
		m, sum, _ := MaxSumExp32(s)
		sink += m + sum
	})
}

func BenchmarkExpScale32(b *testing.B) {
	benchImpls(b, func(b *testing.B, s, dst []float32) {
		ExpScale32(dst, s, 3, 0.5)
	})
}

// BenchmarkRow32 is the per-row work of a forward+backward pass: the
// online max and sum, then the gradient into dst.
func BenchmarkRow32(b *testing.B) {
	benchImpls(b, func(b *testing.B, s, dst []float32) {
		m, sum, _ := MaxSumExp32(s)
		ExpScale32(dst, s, m, 1/sum)
	})
}

// BenchmarkMaskedRow32 is Row32's work on a row of C = 1000 whose classes
// are masked (−Inf) but for one in four (masked=3/4), or whose values
// span 100 (spread=100: a fifth of them more than 87.3 below the max,
// where exp underflows), beside the plain row. On an Intel core each
// vector instruction whose result underflows takes a microcode assist,
// which the exponentials avoid where exp(x) rounds to 0 (see expvTab and
// expvTab8 in _asm).
func BenchmarkMaskedRow32(b *testing.B) {
	const C = 1000
	for _, name := range Implementations() {
		for _, kind := range []string{"plain", "masked=3/4", "spread=100"} {
			b.Run(fmt.Sprintf("impl=%s/%s", name, kind), func(b *testing.B) {
				s := make([]float32, C)
				r := rand.New(rand.NewPCG(1, 2))
				for i := range s {
					switch {
					case kind == "masked=3/4" && i%4 != 0:
						s[i] = float32(math.Inf(-1))
					case kind == "spread=100":
						s[i] = float32(100 * r.Float64())
					default:
						s[i] = 4 * float32(r.NormFloat64())
					}
				}
				dst := make([]float32, C)
				b.SetBytes(4 * C)
				restore, _ := Select(name)
				defer restore()
				for b.Loop() {
					m, sum, _ := MaxSumExp32(s)
					ExpScale32(dst, s, m, 1/sum)
				}
			})
		}
	}
}

func BenchmarkSum32(b *testing.B) {
	benchImpls(b, func(b *testing.B, s, dst []float32) {
		sink += Sum32(s)
	})
}

func BenchmarkExp32(b *testing.B) {
	benchImpls(b, func(b *testing.B, s, dst []float32) {
		Exp32(dst, s)
	})
}

// BenchmarkRows32 streams 256 rows of C = 32000 (32 MiB, beyond cache)
// through Row32's work, with copy as the yardstick, as package xent's
// single-threaded inner loop would.
func BenchmarkRows32(b *testing.B) {
	const R, C = 256, 32000
	s := make([]float32, R*C)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range s {
		s[i] = 4 * float32(r.NormFloat64())
	}
	dst := make([]float32, R*C)
	for _, name := range append(Implementations(), "copy") {
		b.Run("impl="+name+"/C=32000", func(b *testing.B) {
			b.SetBytes(4 * R * C)
			if name == "copy" {
				for b.Loop() {
					copy(dst, s)
				}
				return
			}
			restore, _ := Select(name)
			defer restore()
			for b.Loop() {
				for i := 0; i < R; i++ {
					row := s[i*C : (i+1)*C]
					m, sum, _ := MaxSumExp32(row)
					ExpScale32(dst[i*C:(i+1)*C], row, m, 1/sum)
				}
			}
		})
	}
}

// BenchmarkRows3Pass32 is BenchmarkRows32 done as Max32, ExpSum32 into
// dst and Scale32: one exponential per element instead of two; and the
// same three passes pipelined, ExpSumMax32 taking the next row's max while
// it computes a row's exponentials, so that each row is read from memory
// during the work on the row before; and with ScaleExpSumMax32 scaling
// the row before in the same loop. 16 MB of rows, in place, restored
// (untimed, in small pieces that leave them in cache) before each run.
func BenchmarkRows3Pass32(b *testing.B) {
	for _, C := range []int{1000, 32000} {
		R := 4 << 20 / C
		orig := make([]float32, R*C)
		r := rand.New(rand.NewPCG(1, 2))
		for i := range orig {
			orig[i] = 4 * float32(r.NormFloat64())
		}
		s := make([]float32, R*C)
		restore := func() {
			for i := 0; i < len(s); i += 16 << 10 {
				copy(s[i:min(i+16<<10, len(s))], orig[i:])
			}
		}
		kinds := map[string]func(){
			"3pass": func() {
				for i := 0; i < R; i++ {
					row := s[i*C : (i+1)*C]
					m, _ := Max32(row)
					Scale32(row, 1/ExpSum32(row, row, m))
				}
			},
			"pipelined": func() {
				m, _ := Max32(s[:C])
				for i := 0; i < R; i++ {
					row := s[i*C : (i+1)*C]
					var sum float32
					if i+1 < R {
						sum, m, _ = ExpSumMax32(row, row, m, s[(i+1)*C:(i+2)*C])
					} else {
						sum = ExpSum32(row, row, m)
					}
					Scale32(row, 1/sum)
				}
			},
			"pipelined+scale": func() {
				m, _ := Max32(s[:C])
				var prev []float32
				var a float32
				for i := 0; i < R; i++ {
					row := s[i*C : (i+1)*C]
					var sum float32
					switch {
					case i+1 == R:
						Scale32(prev, a)
						sum = ExpSum32(row, row, m)
						Scale32(row, 1/sum)
					case prev == nil:
						sum, m, _ = ExpSumMax32(row, row, m, s[(i+1)*C:(i+2)*C])
					default:
						sum, m, _ = ScaleExpSumMax32(prev, a, row, row, m, s[(i+1)*C:(i+2)*C])
					}
					prev, a = row, 1/sum
				}
			},
		}
		for _, name := range Implementations() {
			for _, k := range []string{"3pass", "pipelined", "pipelined+scale"} {
				b.Run(fmt.Sprintf("impl=%s/%s/C=%d", name, k, C), func(b *testing.B) {
					restoreImpl, _ := Select(name)
					defer restoreImpl()
					b.SetBytes(4 * int64(R*C))
					for b.Loop() {
						b.StopTimer()
						restore()
						b.StartTimer()
						kinds[k]()
					}
				})
			}
		}
	}
}

func BenchmarkMaxSumExp64(b *testing.B) {
	bench64(b, func(s, dst []float64) {
		m, sum, _ := MaxSumExp64(s)
		sink += float32(m + sum)
	})
}

// bench64 runs f under every implementation on a row of 32,000 float64
// logits (4·N(0, 1)), as impl=…/C=32000.
func bench64(b *testing.B, f func(s, dst []float64)) {
	for _, name := range Implementations() {
		b.Run("impl="+name+"/C=32000", func(b *testing.B) {
			s := make([]float64, 32000)
			r := rand.New(rand.NewPCG(1, 2))
			for i := range s {
				s[i] = 4 * r.NormFloat64()
			}
			dst := make([]float64, len(s))
			b.SetBytes(8 * 32000)
			restore, _ := Select(name)
			defer restore()
			for b.Loop() {
				f(s, dst)
			}
		})
	}
}

func BenchmarkExp64(b *testing.B) {
	bench64(b, func(s, dst []float64) { Exp64(dst, s) })
}

func BenchmarkExpSum64(b *testing.B) {
	bench64(b, func(s, dst []float64) { sink += float32(ExpSum64(dst, s, 3)) })
}

// BenchmarkCols32 is the spatial pair over a C×L block (segmentation-like:
// 21 classes × 4096 positions), with copy of the block as the yardstick.
func BenchmarkCols32(b *testing.B) {
	const C, L = 21, 4096
	s := make([]float32, C*L)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range s {
		s[i] = 4 * float32(r.NormFloat64())
	}
	dst := make([]float32, C*L)
	m, sum, scale := make([]float32, L), make([]float32, L), make([]float32, L)
	for _, name := range append(Implementations(), "copy") {
		b.Run(fmt.Sprintf("impl=%s/C=%d", name, C), func(b *testing.B) {
			b.SetBytes(4 * C * L)
			if name == "copy" {
				for b.Loop() {
					copy(dst, s)
				}
				return
			}
			restore, _ := Select(name)
			defer restore()
			for b.Loop() {
				MaxSumExpCols32(m, sum, s, C, L)
				for j := range scale {
					scale[j] = 1 / sum[j]
				}
				ExpScaleCols32(dst, s, C, L, m, scale)
			}
		})
	}
}

func BenchmarkMax32(b *testing.B) {
	benchImpls(b, func(b *testing.B, s, dst []float32) {
		m, _ := Max32(s)
		sink += m
	})
}

func BenchmarkExpSum32(b *testing.B) {
	benchImpls(b, func(b *testing.B, s, dst []float32) {
		sink += ExpSum32(dst, s, 3)
	})
}

func BenchmarkScale32(b *testing.B) {
	benchImpls(b, func(b *testing.B, s, dst []float32) {
		Scale32(dst, 0.999)
	})
}

// BenchmarkRowsParallel32 is the whole forward+backward shape on every
// thread: 2048 rows of C = 32000 (256 MiB of logits) split across
// GOMAXPROCS goroutines, each row done two-pass (MaxSumExp32, ExpScale32)
// or three-pass (Max32, ExpSum32, Scale32), with a parallel copy as the
// yardstick; and the forward alone (MaxSumExp32) beside a parallel Sum32.
func BenchmarkRowsParallel32(b *testing.B) {
	const R, C = 2048, 32000
	s := make([]float32, R*C)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range s {
		s[i] = 4 * float32(r.NormFloat64())
	}
	dst := make([]float32, R*C)
	copy(dst, s) // fault the pages in outside the timing
	P := runtime.GOMAXPROCS(0)
	par := func(f func(row, out []float32)) {
		var wg sync.WaitGroup
		for p := 0; p < P; p++ {
			wg.Add(1)
			go func(lo, hi int) {
				defer wg.Done()
				for i := lo; i < hi; i++ {
					f(s[i*C:(i+1)*C], dst[i*C:(i+1)*C])
				}
			}(R*p/P, R*(p+1)/P)
		}
		wg.Wait()
	}
	kinds := map[string]func(row, out []float32){
		"2pass": func(row, out []float32) {
			m, sum, _ := MaxSumExp32(row)
			ExpScale32(out, row, m, 1/sum)
		},
		"3pass": func(row, out []float32) {
			m, _ := Max32(row)
			Scale32(out, 1/ExpSum32(out, row, m))
		},
		"fwd": func(row, out []float32) {
			m, sum, _ := MaxSumExp32(row)
			sink += m + sum
		},
		"sum": func(row, out []float32) { sink += Sum32(row) },
	}
	b.Run("impl=copy/C=32000", func(b *testing.B) {
		b.SetBytes(4 * R * C)
		for b.Loop() {
			par(func(row, out []float32) { copy(out, row) })
		}
	})
	for _, name := range Implementations()[1:] {
		for _, k := range []string{"2pass", "3pass", "fwd", "sum"} {
			b.Run("impl="+name+"/"+k+"/C=32000", func(b *testing.B) {
				restore, _ := Select(name)
				defer restore()
				b.SetBytes(4 * R * C)
				for b.Loop() {
					par(kinds[k])
				}
			})
		}
	}
}

// BenchmarkLog32 and BenchmarkLog64 take the log of sums of exponentials
// (values in [1, 1000]): short blocks and a long array. SetBytes counts the
// input once.
var logBenchNs = []int{16, 256, 100000}

func BenchmarkLog32(b *testing.B) {
	for _, name := range Implementations() {
		for _, n := range logBenchNs {
			b.Run(fmt.Sprintf("impl=%s/n=%d", name, n), func(b *testing.B) {
				r := rand.New(rand.NewPCG(1, 2))
				x := make([]float32, n)
				for i := range x {
					x[i] = 1 + 999*r.Float32()
				}
				dst := make([]float32, n)
				b.SetBytes(int64(4 * n))
				restore, _ := Select(name)
				defer restore()
				for b.Loop() {
					Log32(dst, x)
				}
			})
		}
	}
}

func BenchmarkLog64(b *testing.B) {
	for _, name := range Implementations() {
		for _, n := range logBenchNs {
			b.Run(fmt.Sprintf("impl=%s/n=%d", name, n), func(b *testing.B) {
				r := rand.New(rand.NewPCG(1, 2))
				x := make([]float64, n)
				for i := range x {
					x[i] = 1 + 999*r.Float64()
				}
				dst := make([]float64, n)
				b.SetBytes(int64(8 * n))
				restore, _ := Select(name)
				defer restore()
				for b.Loop() {
					Log64(dst, x)
				}
			})
		}
	}
}

// colBenchShapes are spatial blocks C×L at a row stride: 21 classes over
// 256 positions of a 128×128 map, a few positions of the same map, and
// 1000 classes over a 4×4 map.
var colBenchShapes = [][3]int{ // C, L, stride
	{21, 256, 16384},
	{21, 16, 16384},
	{21, 4, 16384},
	{1000, 16, 16},
}

// benchCols runs f under every implementation on each shape as
// impl=…/C=…/L=…. SetBytes counts the block's logits once.
func benchCols(b *testing.B, f func(s, dst, m, sum []float32, C, stride int)) {
	for _, name := range Implementations() {
		for _, sh := range colBenchShapes {
			C, L, stride := sh[0], sh[1], sh[2]
			b.Run(fmt.Sprintf("impl=%s/C=%d/L=%d", name, C, L), func(b *testing.B) {
				s := make([]float32, (C-1)*stride+L)
				r := rand.New(rand.NewPCG(1, 2))
				for i := range s {
					s[i] = 4 * float32(r.NormFloat64())
				}
				dst := append([]float32(nil), s...)
				m, sum := make([]float32, L), make([]float32, L)
				MaxSumExpCols32(m, sum, s, C, stride)
				b.SetBytes(int64(4 * C * L))
				restore, _ := Select(name)
				defer restore()
				for b.Loop() {
					f(s, dst, m, sum, C, stride)
				}
			})
		}
	}
}

func BenchmarkMaxCols32(b *testing.B) {
	benchCols(b, func(s, dst, m, sum []float32, C, stride int) {
		MaxCols32(m, s, C, stride)
	})
}

func BenchmarkExpSumCols32(b *testing.B) {
	benchCols(b, func(s, dst, m, sum []float32, C, stride int) {
		ExpSumCols32(dst, s, C, stride, m, sum)
	})
}

func BenchmarkScaleCols32(b *testing.B) {
	benchCols(b, func(s, dst, m, sum []float32, C, stride int) {
		ScaleCols32(dst, C, stride, sum) // sum ≈ 1 after the first pass
	})
}

// BenchmarkColsPasses32 compares, on the same blocks in one run, the
// two-pass pair (MaxSumExpCols32, ExpScaleCols32) with the three-pass
// triple (MaxCols32, ExpSumCols32, ScaleCols32), each writing the softmax
// into dst, as impl=…/kind=2pass|3pass/C=…/L=….
func BenchmarkColsPasses32(b *testing.B) {
	for _, name := range Implementations() {
		for _, sh := range colBenchShapes {
			C, L, stride := sh[0], sh[1], sh[2]
			s := make([]float32, (C-1)*stride+L)
			r := rand.New(rand.NewPCG(1, 2))
			for i := range s {
				s[i] = 4 * float32(r.NormFloat64())
			}
			dst := append([]float32(nil), s...)
			m, sum, a := make([]float32, L), make([]float32, L), make([]float32, L)
			kinds := []struct {
				name string
				f    func()
			}{
				{"2pass", func() {
					MaxSumExpCols32(m, sum, s, C, stride)
					for j := range a {
						a[j] = 1 / sum[j]
					}
					ExpScaleCols32(dst, s, C, stride, m, a)
				}},
				{"3pass", func() {
					MaxCols32(m, s, C, stride)
					ExpSumCols32(dst, s, C, stride, m, sum)
					for j := range a {
						a[j] = 1 / sum[j]
					}
					ScaleCols32(dst, C, stride, a)
				}},
			}
			for _, k := range kinds {
				b.Run(fmt.Sprintf("impl=%s/kind=%s/C=%d/L=%d", name, k.name, C, L), func(b *testing.B) {
					b.SetBytes(int64(4 * C * L))
					restore, _ := Select(name)
					defer restore()
					for b.Loop() {
						k.f()
					}
				})
			}
		}
	}
}

// BenchmarkSoftmaxCols32 times the fused spatial gradient against the three
// passes it replaces, in place over 8 images of 21 classes: 128×128 (rows
// 64 KiB apart, where a position's logits share their cache sets), the
// same with rows 65 KiB apart (16640 positions, as if each row were padded,
// to show what the shared sets cost) and 16×16 (a contiguous 21 KiB block,
// which stays in L1), with copy as the yardstick. One thread; SetBytes
// counts the logits once.
func BenchmarkSoftmaxCols32(b *testing.B) {
	const C, N, L = 21, 8, 256
	for _, inner := range []int{128 * 128, 128*128 + 256, 16 * 16} {
		s := make([]float32, N*C*inner)
		r := rand.New(rand.NewPCG(1, 2))
		for i := range s {
			s[i] = float32(3 * r.NormFloat64())
		}
		var blk ColsBlock32
		softmaxColsCase(r, C, &blk)
		each := func(f func(img []float32)) {
			for n := 0; n < N; n++ {
				for j0 := 0; j0 < inner; j0 += L {
					f(s[n*C*inner+j0:])
				}
			}
		}
		name := fmt.Sprintf("inner=%d", inner)
		b.Run(name+"/fused", func(b *testing.B) {
			b.SetBytes(int64(4 * len(s)))
			for b.Loop() {
				each(func(img []float32) {
					if SoftmaxCols32(img, img, C, inner, L, &blk) != L {
						b.Fatal("stopped early")
					}
				})
			}
		})
		b.Run(name+"/fused-index", func(b *testing.B) {
			targets := make([]int64, L)
			for j := range targets {
				targets[j] = int64(blk.Y[j])
			}
			var losses [L]float64
			b.SetBytes(int64(4 * len(s)))
			for b.Loop() {
				each(func(img []float32) {
					if done, _ := SoftmaxColsIndex32(img, img, C, inner, L, targets, -1, 0.5, losses[:], &blk); done != L {
						b.Fatal("stopped early")
					}
				})
			}
		})
		b.Run(name+"/3pass", func(b *testing.B) {
			b.SetBytes(int64(4 * len(s)))
			for b.Loop() {
				each(func(img []float32) { softmaxCols3Pass32(img, img, C, inner, L, &blk) })
			}
		})
		b.Run(name+"/copy", func(b *testing.B) {
			b.SetBytes(int64(4 * len(s)))
			dst := make([]float32, len(s))
			for b.Loop() {
				copy(dst, s)
			}
		})
	}
}
