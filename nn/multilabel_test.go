package nn

import (
	"math"
	"testing"

	"github.com/xent-go/xent/data/mnist"
)

// TestMultiLabelOneHotIsSoftmax trains the same LeNet on single-label
// MNIST twice, once with the plain softmax loss (SoftmaxIndex, one label
// per image) and once with the multi-label softmax loss (SoftmaxMultiLabel)
// on one-hot targets, so M = 1 everywhere: the loss ℓ = (1/M)·Σ t_c·(−log
// p_c) is then −log p_y and its gradient p_k − t_k, the plain loss's. The
// losses of every step and the final weights must agree to float rounding,
// with SGD and with Adam. It needs MNIST in the Go module cache and is
// skipped without it.
func TestMultiLabelOneHotIsSoftmax(t *testing.T) {
	dir, err := mnist.FindData()
	if err != nil {
		t.Skipf("no MNIST: %v", err)
	}
	train, _, err := mnist.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	const batch, steps, classes = 32, 6, 10
	size := train.Rows * train.Cols
	xs := make([][]float32, steps)
	labels := make([][]int32, steps)
	onehot := make([][]float32, steps)
	for s := range steps {
		xs[s] = make([]float32, batch*size)
		labels[s] = make([]int32, batch)
		onehot[s] = make([]float32, batch*classes)
		for k := range batch {
			i := s*batch + k
			train.ImageFloat32(xs[s][k*size:(k+1)*size], i)
			labels[s][k] = int32(train.Labels[i])
			onehot[s][k*classes+int(train.Labels[i])] = 1
		}
	}
	for _, optName := range []string{"sgd", "adam"} {
		newOpt := func() Optimizer {
			if optName == "sgd" {
				return NewSGD(0.05, 0.9, 0)
			}
			return NewAdam(1e-3)
		}
		mk := func(kind LossKind) *Net {
			net, err := NewLeNet(LeNetConfig{Height: train.Rows, Width: train.Cols, Conv1: 4, Conv2: 8, Hidden: 32,
				Loss: kind, Seed: 7, Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			return net
		}
		plain, multi := mk(SoftmaxIndex), mk(SoftmaxMultiLabel)
		po, mo := newOpt(), newOpt()
		for s := range steps {
			lp, err := plain.TrainStep(xs[s], Targets{Labels: labels[s]}, po)
			if err != nil {
				t.Fatal(err)
			}
			lm, err := multi.TrainStep(xs[s], Targets{Values: onehot[s]}, mo)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(lp-lm) > 1e-6*math.Max(1, math.Abs(lp)) {
				t.Errorf("%s step %d: loss %v (softmax) vs %v (multi-label, M = 1)", optName, s, lp, lm)
			}
		}
		pp, mp := plain.Params(), multi.Params()
		worst := 0.0
		for i := range pp {
			d := math.Abs(float64(pp[i]-mp[i])) / math.Max(1e-3, math.Abs(float64(pp[i])))
			worst = math.Max(worst, d)
		}
		t.Logf("%s: largest relative difference of the %d weights after %d steps: %.3g", optName, len(pp), steps, worst)
		if worst > 1e-4 {
			t.Errorf("%s: the weights differ after %d steps (relative difference %.3g)", optName, steps, worst)
		}
	}
}
