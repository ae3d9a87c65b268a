package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkTrainStep times one training step (forward, loss, backward,
// Adam) of the default LeNet at batch 64 on random images, and reports
// images per second. The loss is a local softmax cross-entropy, so that
// the benchmark measures the network, not package xent.
func BenchmarkTrainStep(b *testing.B) {
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("net=lenet/batch=64/threads=%d", threads), func(b *testing.B) {
			benchTrainStep(b, LeNetConfig{Threads: threads}, 64)
		})
	}
	b.Run("net=lenet-16-32/batch=64/threads=2", func(b *testing.B) {
		benchTrainStep(b, LeNetConfig{Threads: 2, Conv1: 16, Conv2: 32}, 64)
	})
}

func benchTrainStep(b *testing.B, cfg LeNetConfig, batch int) {
	net, err := NewLeNet(cfg)
	if err != nil {
		b.Fatal(err)
	}
	net.loss.fn = refLoss
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, batch*net.InputSize())
	for i := range x {
		x[i] = r.Float32()
	}
	labels := make([]int32, batch)
	for i := range labels {
		labels[i] = int32(r.IntN(net.Classes()))
	}
	opt := NewAdam(1e-3)
	if _, err := net.TrainStep(x, Targets{Labels: labels}, opt); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuSeconds()
	for b.Loop() {
		if _, err := net.TrainStep(x, Targets{Labels: labels}, opt); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "images/s")
	// On a shared machine the wall clock depends on the neighbours; the
	// CPU time of the process does much less.
	if cpu := cpuSeconds() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N*batch)/cpu, "images/cpu-s")
	}
}
