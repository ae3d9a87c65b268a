package xent

import (
	"math"
	"math/bits"
)

// layout is a validated logits shape (N, C, d1..dk) seen as N × C × inner,
// the view Caffe's softmax layer takes: the class axis has stride inner.
type layout struct {
	shape []int
	N     int // batch size
	C     int // classes
	inner int // d1···dk, 1 without spatial axes
	P     int // positions, N·inner
	size  int // elements, N·C·inner
}

// maxElements caps the element count so that every index, and every byte
// offset of a float64 element, fits in an int: past 2^31 elements on 64-bit
// platforms, about 2^28 on 32-bit ones.
const maxElements = math.MaxInt / 8

// parseShape validates shape against the logits' length n.
func parseShape(op string, shape []int, n int) (layout, error) {
	if len(shape) < 2 {
		return layout{}, errorf(op, ErrShape, "logits shape %v needs at least two axes (N, C)", shape)
	}
	size := uint64(1)
	for i, d := range shape {
		if d < 0 {
			return layout{}, errorf(op, ErrShape, "logits shape %v has a negative size on axis %d", shape, i)
		}
		hi, lo := bits.Mul64(size, uint64(d))
		if hi != 0 || lo > maxElements {
			return layout{}, errorf(op, ErrShape, "logits shape %v has more than %d elements", shape, maxElements)
		}
		size = lo
	}
	if shape[1] == 0 {
		return layout{}, errorf(op, ErrShape, "logits shape %v has no classes (C = 0)", shape)
	}
	if int(size) != n {
		return layout{}, errorf(op, ErrShape, "logits shape %v holds %d elements but the logits slice has %d", shape, size, n)
	}
	l := layout{shape: shape, N: shape[0], C: shape[1], inner: 1, size: int(size)}
	for _, d := range shape[2:] {
		l.inner *= d
	}
	l.P = l.N * l.inner
	return l, nil
}

// positionsShape is the shape of one value per position: (N, d1..dk).
func (l layout) positionsShape() []int {
	s := make([]int, 0, len(l.shape)-1)
	s = append(s, l.shape[0])
	return append(s, l.shape[2:]...)
}
