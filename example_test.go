package xent_test

import (
	"fmt"
	"math"

	"github.com/xent-go/xent"
)

// Two images, three classes, one class index per image.
func ExampleCrossEntropy() {
	logits := []float64{
		2, 1, 0.1, // image 0
		0.5, 2.5, 0.3, // image 1
	}
	targets := []int64{0, 1}
	grad := make([]float64, len(logits))

	res, err := xent.CrossEntropy(grad, logits, []int{2, 3}, targets, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("loss %.4f over %d positions\n", res.Loss, res.Counted)
	fmt.Printf("grad row 0: %.4f\n", grad[:3])
	// Output:
	// loss 0.3185 over 2 positions
	// grad row 0: [-0.1705 0.1212 0.0493]
}

// A soft target distribution per image, with label smoothing.
func ExampleCrossEntropyDense() {
	logits := []float32{1, 2, 3, 1, 1, 1}
	targets := []float32{0, 0.25, 0.75, 1, 0, 0}
	res, err := xent.CrossEntropyDense(nil, logits, []int{2, 3}, targets,
		&xent.Options[float32]{LabelSmoothing: 0.1})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("loss %.4f\n", res.Loss)
	// Output:
	// loss 0.9156
}

// Multi-label images: an image with two labels gets target 1/2 on each, and
// a −Inf logit masks a class out.
func ExampleMultiLabel() {
	inf := math.Inf(-1)
	logits := []float64{
		3, 3, -1, inf, // labels 0 and 1; class 3 masked
		0, 0, 4, 0, // label 2
	}
	targets := []float64{
		1, 1, 0, 0,
		0, 0, 1, 0,
	}
	grad := make([]float64, len(logits))
	res, err := xent.MultiLabel(grad, logits, []int{2, 4}, targets, &xent.Options[float64]{Reduction: xent.Sum})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("loss %.4f\n", res.Loss)
	fmt.Printf("grad row 0: %.4f\n", grad[:4])
	// Output:
	// loss 0.7558
	// grad row 0: [-0.0045 -0.0045 0.0091 0.0000]
}

// Bad input is an error that says where, never a NaN or a panic.
func ExampleInputError() {
	logits := []float32{1, 2, 3, 4, float32(math.NaN()), 6}
	_, err := xent.CrossEntropy(nil, logits, []int{2, 3}, []int32{0, 2}, nil)
	fmt.Println(err)
	// Output:
	// CrossEntropy: logits at row 1, class 1 (value NaN): invalid logit
}

// The focal loss of two positions with three classes each (multi-label
// targets), γ = 2 and α = 0.25, next to the plain sigmoid cross-entropy: the
// well-classified elements count for much less, and the confident mistake
// (logit 4, target 0) gets most of the gradient.
func ExampleSigmoidFocal() {
	logits := []float64{3, -2, 0.5, -1, 4, -3}
	targets := []float64{1, 0, 1, 0, 0, 0}
	grad := make([]float64, len(logits))
	focal := xent.DefaultFocal().WithAlpha(0.25)
	res, err := xent.SigmoidFocal(grad, logits, []int{2, 3}, targets, focal, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	bce, _ := xent.SigmoidCrossEntropy(nil, logits, []int{2, 3}, targets, nil)
	fmt.Printf("%v: loss %.4f (sigmoid cross-entropy %.4f)\n", focal, res.Loss, bce.Loss)
	fmt.Printf("grad row 1: %.4f\n", grad[3:])
	// Output:
	// focal(γ=2, α=0.25): loss 0.4903 (sigmoid cross-entropy 0.8383)
	// grad row 1: [0.0066 0.1358 0.0000]
}
