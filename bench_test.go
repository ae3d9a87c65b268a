package xent

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/xent-go/xent/internal/kernel"
)

// The benchmarks time the fused forward+backward (in place) and forward only
// beside the yardstick of a plain copy of the logits, in one run. SetBytes
// is the size of the logits, so MB/s compare directly with the copy's.

var benchShapes = [][]int{{4096, 1000}, {256, 32000}, {8, 21, 128, 128}}

func benchData[T Float](shape []int) (logits []T, targets []int64) {
	r := rand.New(rand.NewPCG(3, 4))
	n := 1
	for _, d := range shape {
		n *= d
	}
	logits = make([]T, n)
	for i := range logits {
		logits[i] = T(r.NormFloat64() * 3)
	}
	targets = make([]int64, n/shape[1])
	for i := range targets {
		targets[i] = int64(r.IntN(shape[1]))
	}
	return logits, targets
}

func shapeName(shape []int) string {
	s := ""
	for i, d := range shape {
		if i > 0 {
			s += "x"
		}
		s += fmt.Sprint(d)
	}
	return s
}

func benchIndex[T Float](b *testing.B, dtype string) {
	for _, shape := range benchShapes {
		logits, targets := benchData[T](shape)
		work := make([]T, len(logits))
		bytes := int64(len(logits)) * int64(sizeOf[T]())
		name := "shape=" + shapeName(shape) + "/dtype=" + dtype
		b.Run(name+"/op=copy", func(b *testing.B) {
			b.SetBytes(bytes)
			for b.Loop() {
				copy(work, logits)
			}
		})
		b.Run(name+"/op=fwd", func(b *testing.B) {
			b.SetBytes(bytes)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := CrossEntropy(nil, logits, shape, targets, (*Options[T])(nil)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/op=fwdbwd", func(b *testing.B) {
			b.SetBytes(bytes)
			b.ReportAllocs()
			// In place: after the first call the buffer holds gradients,
			// which are valid logits too.
			copy(work, logits)
			for b.Loop() {
				if _, err := CrossEntropy(work, work, shape, targets, (*Options[T])(nil)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func sizeOf[T Float]() int {
	if is32[T]() {
		return 4
	}
	return 8
}

func BenchmarkCrossEntropy(b *testing.B) {
	benchIndex[float32](b, "float32")
	benchIndex[float64](b, "float64")
}

// BenchmarkPoolOverhead times the forward pass at 4096×1000 float32 on two
// threads beside the bare kernel (MaxSumExp32) over the same rows, half on
// each of two goroutines started for the purpose: the difference is what
// the pool and the loss's own work per row add. Run it with -cpu 2 or more.
func BenchmarkPoolOverhead(b *testing.B) {
	shape := []int{4096, 1000}
	logits, targets := benchData[float32](shape)
	R, C := shape[0], shape[1]
	bytes := int64(len(logits)) * 4
	b.Run("op=loss", func(b *testing.B) {
		b.SetBytes(bytes)
		opts := &Options[float32]{Threads: 2}
		for b.Loop() {
			if _, err := CrossEntropy(nil, logits, shape, targets, opts); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("op=kernel", func(b *testing.B) {
		b.SetBytes(bytes)
		var sums [2]struct {
			v float64
			_ [56]byte // a cache line each
		}
		for b.Loop() {
			var wg sync.WaitGroup
			for p := range 2 {
				wg.Go(func() {
					acc := 0.0
					for i := R * p / 2; i < R*(p+1)/2; i++ {
						m, sum, _ := kernel.MaxSumExp32(logits[i*C : (i+1)*C])
						acc += float64(m) + float64(sum)
					}
					sums[p].v = acc
				})
			}
			wg.Wait()
		}
	})
}
