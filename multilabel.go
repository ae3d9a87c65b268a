package xent

// MultiLabel computes the multi-label softmax loss with the 1/M scaling of
// the source document (SPEC 2.3). targets have the logits' shape; M is the
// number of classes with t_c ≠ 0 in a position and T = Σ_c w_c·t_c:
//
//	ℓ = (1/M)·Σ_c w_c·t_c·(−log p_c),   ∂ℓ/∂s_k = (T·p_k − w_k·t_k)/M
//
// For binary labels without weights the gradient is p_k − 1/M on a positive
// class and p_k on a negative one, and the loss equals CrossEntropyDense with
// targets t/M. For real-valued labels this is the true gradient of the loss,
// where the source document's code keeps p_k − 1/M.
//
// Positions without labels (M = 0) are skipped: they are not read, get a
// zero gradient, and do not count; Mean divides by the positions with M > 0
// (0 if there are none). Label smoothing and an ignore index are refused.
// grad, when not nil, receives the gradient and may be the logits slice.
//
// It returns an error wrapping one of the package's sentinel errors on bad
// input; grad is then all zeros.
func MultiLabel[T Float](grad, logits []T, shape []int, targets []T, opts *Options[T]) (Result, error) {
	r, err := runDense("MultiLabel", grad, logits, shape, targets, opts, true)
	return r, failed(err, grad, opts)
}
