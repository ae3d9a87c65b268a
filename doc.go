// Package xent computes the softmax cross-entropy loss and its gradient
// exactly, fast, and without NaN surprises.
//
// Logits have shape (N, C) or (N, C, d1..dk), class axis second (PyTorch's
// layout), stored flat in C order. A position is one (n, d1..dk) index; there
// are P = N·d1···dk of them. For one position p = softmax(s) and
//
//	log p_c = (s_c − m) − log Σ_j exp(s_j − m),   m = max_j s_j.
//
// # Losses
//
//   - CrossEntropy: one class index per position, with class weights, an
//     ignore index and label smoothing (PyTorch's CrossEntropyLoss).
//   - CrossEntropyDense: a target distribution per position (probabilities,
//     one-hot or soft labels), with weights and smoothing.
//   - MultiLabel: several labels per position, the loss scaled by 1/M, the
//     number of labels (the source document's multi-label softmax loss, which
//     no framework ships).
//   - SigmoidCrossEntropy: per-class sigmoid cross-entropy, for comparison
//     (PyTorch's BCEWithLogitsLoss).
//   - SigmoidFocal: the per-class sigmoid focal loss of Lin et al.
//     (torchvision's sigmoid_focal_loss): the sigmoid cross-entropy times
//     (1 − p_t)^γ, with an optional α balance (Focal, DefaultFocal).
//   - Softmax and LogSoftmax.
//
// Each loss reduces with Mean (the default), Sum or None, and writes the
// gradient of the reduced loss into a buffer the caller gives, which may be
// the logits themselves. With None, Options.Upstream is an upstream gradient
// g: the gradient is that of Σ g_i·ℓ_i.
//
// # Choices where the frameworks disagree or are silent
//
//   - A mean whose denominator is 0 (every position ignored, every label
//     missing, every target weight 0) is 0 with a zero gradient; PyTorch
//     returns NaN.
//   - A class whose logit is −Inf is masked: p_c = 0, its gradient is 0, and
//     a term whose coefficient is 0 contributes 0 (never 0·log 0). Label
//     smoothing spreads ε over the C' classes with a finite logit. A positive
//     coefficient on a masked class would make the loss infinite: it is an
//     error (ErrMasked) naming the row and class.
//   - Ignored positions (index targets) and positions without labels
//     (multi-label) are not read at all: their logits may hold anything.
//   - The multi-label gradient for real-valued labels is the true gradient
//     (T·p_k − w_k·t_k)/M, T = Σ_c w_c·t_c; the source document's code keeps
//     p_k − 1/M, which is not the derivative of its own loss.
//   - Losses are accumulated in float64 whatever the logits' type, so a
//     float32 loss does not overflow where the true value is finite. A finite
//     input whose loss is still not representable is an error (ErrOverflow).
//   - With None, the sigmoid and focal losses keep one loss per element (as
//     PyTorch does), the others one per position.
//
// # Bad input
//
// Nothing in this package panics on bad input. Each entry point returns an
// error that wraps one of the sentinel errors (ErrShape, ErrTarget,
// ErrWeight, ErrLogit, ErrMasked, ErrOption, ErrOverflow), most often inside
// an *InputError naming the row (or position), class and value. On error the
// gradient buffer is left all zeros, never half written. The checks ride the
// loss's own passes over the logits; index targets get one pass of their own
// over the P targets (which also finds the mean's denominator) before any
// gradient is written.
//
// # Speed
//
// A row of logits is read from memory once and its gradient written once;
// the other passes find the row in cache. Forward only, one online pass
// finds the max and the sum of exponentials together (Milakov and
// Gimelshein, 2018). With a gradient, the common case (index targets, no
// smoothing) takes three passes: the max, the exponentials written straight
// into the gradient with their sum, and a scale, so that each exponential is
// computed once. They are pipelined across rows: one kernel call computes a
// row's exponentials while it takes the next row's max, which streams in
// from memory meanwhile, and scales the row before, still in cache, and
// each row's checks still come before its first write. The rows go to the
// threads in chunks of at least 8 where that leaves 16 chunks, so that long
// rows are pipelined too, and chunks of rows or of blocks of positions grow
// up to 2^18 logits where that leaves 16, so that each thread's stream of
// logits breaks less often.
// The other kinds take the online pass and then write scaled exponentials.
// Spatial inputs (class stride > 1) are processed in blocks of positions,
// vectorised across the positions. For float32 index targets with up to 64
// classes, one kernel (AVX-512 or AVX2) does a block's whole loss and
// gradient: it copies each step of positions into a scratch that stays in
// L1 while taking the max, so the logits are read once even when the
// classes of a position lie 64 KiB apart and share cache sets (a 128×128
// image; there, on AVX-512 with up to 32 classes, a step is 256 positions,
// so that the gradient is written in runs of 1 KiB per class). With
// unweighted 64-bit targets the kernel also makes the block's targets,
// losses and count, leaving no per-position loop to Go, and on AVX-512 the
// targets are checked by a vector kernel first. The loops that stream rows
// from memory prefetch 2 KiB ahead.
// The exponential reads a table: on AVX-512 of 2^(k/16), with a cubic after
// it for float32 and a polynomial of degree 6 for float64; on AVX2 of
// 2^(k/8) for float32 and of 2^(k/256) for float64 (a gather from memory),
// with a quartic after either; there the kernels that keep their
// exponentials (the gradient's) check each step's lanes, and where all lie
// within ±87 (±708 for float64) skip the clamps and the two-part scaling
// that only results beyond need, with the same results. No lane makes an
// exponential underflow unless its result is a subnormal the gradient
// keeps: lanes whose exp rounds to 0 (masked −Inf classes among them), and
// in the sums those whose exp would be subnormal, get +0 from a mask, since
// an Intel core takes a microcode assist of about 80 ns for each
// instruction whose result underflows. The passes are
// SIMD kernels (internal/kernel: AVX-512 or AVX2+FMA assembly on amd64,
// chosen at run time; portable Go elsewhere and under the purego build
// tag).
// Large inputs are split into fixed chunks across a pool of goroutines;
// results are bitwise identical whatever Options.Threads is, and a call
// allocates nothing in steady state (except the Losses slice of a None
// reduction when the caller does not give one). After a parallel call the
// pool's goroutines look for more work for 100 µs, yielding between looks,
// before they block, so that calls in quick succession need not wake them.
package xent
