package xent

// Temporary stubs: the signatures are final, the bodies come next.

// CrossEntropy computes the softmax cross-entropy of logits against index
// targets (SPEC 2.1).
//
// logits has shape (N, C, d1..dk); targets has one entry per position
// (N·d1···dk). grad, when not nil, receives the gradient of the reduced loss
// with respect to the logits; it must have the logits' length and may be the
// logits slice itself.
func CrossEntropy[T Float, I Integer](grad, logits []T, shape []int, targets []I, opts *Options[T]) (Result, error) {
	return Result{}, errorf("CrossEntropy", ErrOption, "not implemented")
}

// CrossEntropyDense computes the softmax cross-entropy of logits against
// dense (probability, one-hot or soft) targets of the logits' shape (SPEC 2.2).
func CrossEntropyDense[T Float](grad, logits []T, shape []int, targets []T, opts *Options[T]) (Result, error) {
	return Result{}, errorf("CrossEntropyDense", ErrOption, "not implemented")
}

// MultiLabel computes the multi-label softmax loss with the 1/M scaling
// (SPEC 2.3); targets have the logits' shape.
func MultiLabel[T Float](grad, logits []T, shape []int, targets []T, opts *Options[T]) (Result, error) {
	return Result{}, errorf("MultiLabel", ErrOption, "not implemented")
}

// SigmoidCrossEntropy computes the elementwise sigmoid (binary)
// cross-entropy (SPEC 2.4); targets have the logits' shape.
func SigmoidCrossEntropy[T Float](grad, logits []T, shape []int, targets []T, opts *Options[T]) (Result, error) {
	return Result{}, errorf("SigmoidCrossEntropy", ErrOption, "not implemented")
}

// Softmax writes softmax(logits) over the class axis into dst.
func Softmax[T Float](dst, logits []T, shape []int) error {
	return errorf("Softmax", ErrOption, "not implemented")
}

// LogSoftmax writes log softmax(logits) over the class axis into dst.
func LogSoftmax[T Float](dst, logits []T, shape []int) error {
	return errorf("LogSoftmax", ErrOption, "not implemented")
}
