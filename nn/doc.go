// Package nn is a small convolutional network engine in the manner of
// Caffe's layers, in float32, with the softmax cross-entropy of package
// xent as its loss layer. It is enough to train a LeNet-style MNIST
// classifier on a couple of CPU cores.
//
// # Shapes
//
// N = batch size, C = channels, H, W = height and width, F = features,
// K = classes. Images are (N, C, H, W) and features (N, F), row-major, batch
// first. A batch passed to a Net is a flat []float32 of N·InputSize()
// values; labels are []int32 (N); dense, multi-label, sigmoid and focal
// targets are []float32 (N, K).
//
// # Layers
//
// A Layer has Reshape (sizes its buffers for an input shape), Forward,
// Backward and Params: Conv2D (im2col and one GEMM per sample; stride, zero
// padding), MaxPool2D (remembers its argmax), ReLU, Dense, Flatten and
// Dropout (inverted dropout: scaled at training time, the identity in
// evaluation mode). The GEMMs run on internal/gemm, a packed SGEMM with
// AVX-512 and AVX2 micro-kernels (portable Go elsewhere). After the first
// batch of a given size, a training step allocates nothing in this package
// (the goroutines of the shards still make a few small allocations).
//
// The loss is a layer too (Loss, Caffe's SoftmaxWithLoss): LossKind selects
// xent.CrossEntropy (index targets), xent.CrossEntropyDense,
// xent.MultiLabel (softmax with 1/M targets), xent.SigmoidCrossEntropy or
// xent.SigmoidFocal (the focal loss of Lin et al., with Loss.Focal's γ,
// default 2, and optional α), always with mean reduction (the mean of each
// kind is xent's: see the package documentation there). Class weights,
// label smoothing, the ignore index and the focal parameters pass through to
// xent. Loss.Forward computes the loss and,
// through xent's grad argument, the gradient of the mean with respect to
// the logits; Loss.Backward hands it down.
//
// # Networks
//
// A Net chains layers from an input shape to logits (N, K) and a Loss. Its
// parameters live in one flat buffer (Params) and their gradients in
// another (Grads), in layer order, as in llm.c; optimisers work on those
// buffers. Weights are drawn with He initialisation, N(0, 2/fan-in), biases
// start at 0, from a math/rand/v2 PCG generator seeded by Config.Seed
// (Net.Rand; its state is saved in checkpoints).
//
//	net, err := nn.NewLeNet(nn.LeNetConfig{Classes: 10, Seed: 1, Threads: 2})
//	opt := nn.NewAdam(1e-3)
//	for each batch {
//		loss, err := net.TrainStep(x, nn.Targets{Labels: y}, opt)
//	}
//	pred, err := net.Predict(pred, xTest) // argmax per sample
//	logits, err := net.Logits(logits, xTest) // scores, (N, K)
//
// Buffers are sized for the largest batch seen and kept; evaluation mode
// sizes no gradient buffers, but the activations of a whole batch are
// held at once (about 0.35 MB per 28×28 image for the default LeNet), so
// evaluate in batches of a few hundred.
//
// TrainStep is Forward(x, t, true), Backward, opt.Step(Params, Grads);
// callers that want to clip or inspect gradients call the three
// themselves. Forward(x, t, false) evaluates the loss without dropout.
//
// NewLeNet builds conv 5×5 Conv1 (pad 2) → ReLU → maxpool 2 → conv 5×5
// Conv2 (pad 2) → ReLU → maxpool 2 → FC Hidden → ReLU → [dropout] → FC K,
// for any input size (28×28 for MNIST, 56×56 for the multi-label images).
// The defaults are Conv1 = 32, Conv2 = 64, Hidden = 128. Conv1 = 16,
// Conv2 = 32 is about three times cheaper per image. Measured on two shared
// cores (BenchmarkTrainStep, batch 64, Adam): about 770–980 images/s for
// the default and 1630–2160 for 16/32 (360 and 1170 with gonum's Sgemm
// before internal/gemm). On MNIST with Adam (lr 1e-3, batch 64,
// seed 1, no dropout, inputs standardised) the default reaches 98.7% test
// accuracy after one epoch; 16/32 reaches 98.1% after one epoch and 98.5%
// after two.
//
// # Parallelism and repeatability
//
// A batch is cut into Config.Threads contiguous shards (default
// GOMAXPROCS). Each shard runs on its own goroutine through its own replica
// of the layers (own activations and scratch; the parameter values are
// shared, read-only during the pass, and each replica has its own gradient
// buffer). The shards' logits are gathered so that the loss is computed
// once over the whole batch; the replicas' gradients are then added in
// replica order. A run is therefore bit-for-bit repeatable for a given
// seed and thread count; another thread count only changes the rounding.
// Dropout masks are a hash of (per-step seed drawn from Net.Rand, the
// sample's index in the batch, the value's index), so they do not depend on
// the thread count. Sharding the batch was measured faster than relying on
// the parallelism inside a GEMM (about 1.6× at batch 64 on two cores, with
// gonum's Sgemm); each GEMM call runs on its caller's goroutine.
//
// # Optimisers
//
// SGD (momentum, L2 weight decay, PyTorch's formulation) and Adam (bias
// correction, decoupled weight decay as in AdamW). Their state is in flat
// buffers of the parameters' length (OptimizerState).
//
// # Checkpoints
//
// SaveCheckpoint writes the parameters, the optimiser state, the generator
// state, the step count, the epoch, the network's Arch string and the
// caller's meta bytes (for example the training flags as JSON) to a binary
// file: magic "XENTNNCK", version, length-prefixed sections, CRC-32C of the
// whole. The write is atomic (temporary file in the same directory, fsync,
// rename). LoadCheckpoint checks the magic, version, checksum and every
// length against the bytes actually present, and the architecture and
// sizes against the network, before changing anything; a truncated,
// corrupt or foreign file gives an error wrapping ErrCheckpoint, never a
// panic or a huge allocation.
//
// # Errors
//
// Constructors of single layers (NewConv2D, ...) panic on non-positive
// sizes, which are programming errors. Everything that depends on data or
// configuration read at run time (NewNet, NewLeNet, Forward, TrainStep,
// Predict, checkpoints) returns an error: an input that is not a whole
// number of samples, targets of the wrong length, labels out of range or
// non-finite logits (reported by xent with the row and class).
package nn
