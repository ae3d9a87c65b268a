package nn

import "fmt"

// Tensor is a blob in Caffe's sense: values and their gradients laid out in
// row-major order, with the batch on the first axis. Image tensors have
// shape (N, C, H, W), feature tensors (N, F).
type Tensor struct {
	// Shape is the tensor's shape; Shape[0] is the batch size N.
	Shape []int
	// Data holds the values, len(Data) == product of Shape.
	Data []float32
	// Grad holds d loss / d Data, of the same length, or is nil when no
	// gradient is wanted (for example the network's input).
	Grad []float32
}

// Len returns the number of elements given by Shape.
func (t *Tensor) Len() int { return shapeLen(t.Shape) }

// PerSample returns the number of elements of one sample (Len / N).
func (t *Tensor) PerSample() int { return shapeLen(t.Shape[1:]) }

// resize sets the tensor's shape and sizes Data (and Grad, when withGrad;
// otherwise Grad is left as it is) to it, reusing the slices' capacity so
// that a smaller batch allocates nothing.
func (t *Tensor) resize(shape []int, withGrad bool) {
	t.Shape = append(t.Shape[:0], shape...)
	n := shapeLen(shape)
	t.Data = grow(t.Data, n)
	if withGrad {
		t.Grad = grow(t.Grad, n)
	}
}

// grow returns a slice of length n that reuses buf's memory when it is
// large enough. The contents are unspecified.
func grow(buf []float32, n int) []float32 {
	if cap(buf) >= n {
		return buf[:n]
	}
	return make([]float32, n)
}

// growInt32 is grow for []int32.
func growInt32(buf []int32, n int) []int32 {
	if cap(buf) >= n {
		return buf[:n]
	}
	return make([]int32, n)
}

func shapeLen(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

func shapeString(s []int) string {
	return fmt.Sprint(s)
}

func clear32(s []float32) {
	for i := range s {
		s[i] = 0
	}
}
