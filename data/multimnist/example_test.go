package multimnist_test

import (
	"fmt"

	"github.com/xent-go/xent/data/mnist"
	"github.com/xent-go/xent/data/multimnist"
)

func ExampleGenerator_Fill() {
	// A stand-in for MNIST: one 2×2 image per digit. Real use passes the
	// training split for training and the test split for testing.
	src := &mnist.Set{Rows: 2, Cols: 2}
	for d := range 10 {
		src.Pixels = append(src.Pixels, 255, 255, 255, 255)
		src.Labels = append(src.Labels, uint8(d))
	}
	g, err := multimnist.New(src, 1, multimnist.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	// One batch of 3 images (4×4 canvases) into the caller's buffers.
	images := make([]float32, 3*g.H()*g.W())
	labels := make([]float32, 3*multimnist.Classes)
	if err := g.Fill(images, labels, 0); err != nil {
		fmt.Println(err)
		return
	}
	for i := range 3 {
		var ink, k float32
		for _, v := range images[i*16 : (i+1)*16] {
			ink += v
		}
		for _, l := range labels[i*10 : (i+1)*10] {
			k += l
		}
		// Each digit fills one 2×2 cell with ink 1.
		fmt.Println(labels[i*10:(i+1)*10], k == ink/4)
	}
	// Output:
	// [0 1 0 0 0 1 1 0 0 1] true
	// [0 0 1 0 0 0 1 0 0 0] true
	// [0 0 1 0 0 1 0 0 1 0] true
}
