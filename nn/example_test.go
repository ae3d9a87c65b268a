package nn_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/xent-go/xent/nn"
)

func ExampleNewLeNet() {
	net, err := nn.NewLeNet(nn.LeNetConfig{Height: 28, Width: 28, Classes: 10, Seed: 1, Threads: 2})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(net)
	// Output:
	// input[1 28 28] → conv2d(1→32, k5, s1, p2) → relu → maxpool2d(k2, s2) → conv2d(32→64, k5, s1, p2) → relu → maxpool2d(k2, s2) → flatten → dense(3136→128) → relu → dense(128→10) → loss(softmax) (454922 parameters)
}

func ExampleNet_TrainStep() {
	// A 4×4 "image" whose class is the row holding the bright pixels.
	net, err := nn.NewNet([]int{1, 4, 4}, []nn.Layer{
		nn.NewFlatten(), nn.NewDense(16, 8), nn.NewReLU(), nn.NewDense(8, 4),
	}, nn.NewLoss(nn.SoftmaxIndex), nn.Config{Seed: 1, Threads: 1})
	if err != nil {
		log.Fatal(err)
	}
	x := make([]float32, 4*16)
	labels := []int32{0, 1, 2, 3}
	for i, c := range labels {
		for j := 0; j < 4; j++ {
			x[i*16+int(c)*4+j] = 1
		}
	}
	opt := nn.NewSGD(0.5, 0.9, 0)
	for step := 0; step < 50; step++ {
		if _, err := net.TrainStep(x, nn.Targets{Labels: labels}, opt); err != nil {
			log.Fatal(err)
		}
	}
	pred, err := net.Predict(nil, x)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(pred)
	// Output: [0 1 2 3]
}

func ExampleSaveCheckpoint() {
	dir, _ := os.MkdirTemp("", "ckpt")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "lenet.ckpt")

	cfg := nn.LeNetConfig{Height: 8, Width: 8, Classes: 3, Conv1: 2, Conv2: 2, Hidden: 4, Seed: 1}
	net, _ := nn.NewLeNet(cfg)
	opt := nn.NewAdam(1e-3)
	if err := nn.SaveCheckpoint(path, net, opt, 3, []byte(`{"lr":0.001}`)); err != nil {
		log.Fatal(err)
	}

	resumed, _ := nn.NewLeNet(cfg)
	epoch, meta, err := nn.LoadCheckpoint(path, resumed, nn.NewAdam(1e-3))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(epoch, string(meta))
	// Output: 3 {"lr":0.001}
}
