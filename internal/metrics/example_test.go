package metrics_test

import (
	"fmt"

	"github.com/xent-go/xent/internal/metrics"
)

func ExampleAveragePrecision() {
	// The two items scored 0.8 enter together: P = 2/3 at R = 1.
	ap := metrics.AveragePrecision([]float64{0.9, 0.8, 0.8, 0.1}, []float64{1, 0, 1, 0})
	fmt.Printf("%.4f\n", ap)
	// Output: 0.8333
}

func ExampleDecideSoftmax() {
	// Two items, three classes: logits of a softmax-loss model.
	logits := []float32{
		2, 2, -3, // two classes equally likely: both predicted
		3, 1, 0, // one sure class
	}
	labels := []float32{1, 1, 0, 1, 0, 1}
	pred := metrics.DecideSoftmax(nil, logits, 2, 3)
	fmt.Println(pred)
	fmt.Printf("micro-F1 %.2f, top-M exact %.2f\n", metrics.MicroF1(pred, labels), metrics.TopMExact(logits, labels, 2, 3))
	// Output:
	// [true true false true false false]
	// micro-F1 0.86, top-M exact 0.50
}
