package nn

import (
	"fmt"

	"github.com/xent-go/xent"
)

// LossKind selects the loss of a Loss layer, one of the losses of package
// xent.
type LossKind int

const (
	// SoftmaxIndex is the softmax cross-entropy against one class index per
	// sample (xent.CrossEntropy); targets are Targets.Labels.
	SoftmaxIndex LossKind = iota
	// SoftmaxDense is the softmax cross-entropy against a probability (or
	// one-hot, or soft) target row per sample (xent.CrossEntropyDense);
	// targets are Targets.Values.
	SoftmaxDense
	// SoftmaxMultiLabel is the multi-label softmax loss with the 1/M
	// scaling (xent.MultiLabel); targets are Targets.Values, typically 0/1
	// per class.
	SoftmaxMultiLabel
	// Sigmoid is the per-class sigmoid (binary) cross-entropy
	// (xent.SigmoidCrossEntropy); targets are Targets.Values.
	Sigmoid
	// SigmoidFocal is the per-class sigmoid focal loss
	// (xent.SigmoidFocal) with the parameters Loss.Focal; targets are
	// Targets.Values, in [0, 1].
	SigmoidFocal
)

var lossKindNames = [...]string{"softmax", "dense", "multilabel", "sigmoid", "focal"}

// String returns "softmax", "dense", "multilabel", "sigmoid" or "focal".
func (k LossKind) String() string {
	if k >= 0 && int(k) < len(lossKindNames) {
		return lossKindNames[k]
	}
	return fmt.Sprintf("LossKind(%d)", int(k))
}

// ParseLossKind is the inverse of LossKind.String.
func ParseLossKind(s string) (LossKind, error) {
	for i, n := range lossKindNames {
		if s == n {
			return LossKind(i), nil
		}
	}
	return 0, fmt.Errorf("nn: loss %q is not one of softmax, dense, multilabel, sigmoid, focal", s)
}

// Targets holds the targets of a batch of N samples. Exactly one field is
// used, depending on the loss kind.
type Targets struct {
	// Labels holds one class index per sample, for SoftmaxIndex. A label
	// equal to the loss's ignore index makes the sample count for nothing.
	Labels []int32
	// Values holds N×C target values, row-major, for the other kinds.
	Values []float32
}

// Loss is the loss as a layer (Caffe's SoftmaxWithLoss): it takes the
// logits (N, C) of the last layer and the targets, and gives the mean loss
// and its gradient with respect to the logits. The work is done by package
// xent, in one fused pass; Forward keeps the gradient and Backward hands it
// down.
//
// The reduction is always the mean, with xent's rule for each kind (SPEC
// 2.1–2.4): over the samples not ignored (weighted), over all samples
// (dense), over the samples with at least one label (multi-label), over
// N·C elements (sigmoid and focal).
type Loss struct {
	// Kind is the loss.
	Kind LossKind
	// Weights, when not nil, holds one weight per class.
	Weights []float32
	// LabelSmoothing is ε in [0, 1] (SoftmaxIndex and SoftmaxDense only).
	LabelSmoothing float64
	// Ignore is the ignore index for SoftmaxIndex (zero value: −100).
	Ignore xent.Ignore
	// Focal holds γ and the optional α of SigmoidFocal (ignored by the
	// other kinds). NewLoss sets xent.DefaultFocal(), γ = 2 without α; the
	// zero value, γ = 0, is the sigmoid cross-entropy.
	Focal xent.Focal
	// Threads is passed to xent; 0 means 1, since a batch of logits is
	// small.
	Threads int

	grad []float32 // d mean loss / d logits, from the last Forward
	opts xent.Options[float32]
	res  xent.Result
	// fn replaces the call into xent in tests; nil means xent.
	fn func(grad, logits []float32, shape []int, t Targets, opts *xent.Options[float32]) (xent.Result, error)
}

// NewLoss returns a Loss layer of the given kind with default options
// (for SigmoidFocal, γ = 2 without α).
func NewLoss(kind LossKind) *Loss { return &Loss{Kind: kind, Focal: xent.DefaultFocal()} }

// Name describes the loss.
func (l *Loss) Name() string { return "loss(" + l.Kind.String() + ")" }

// Result returns the details (counted, ignored, skipped samples) of the
// last Forward.
func (l *Loss) Result() xent.Result { return l.res }

// Forward computes the mean loss of logits (N, C) against t. When wantGrad
// is true it also computes the gradient of that mean with respect to the
// logits, which Backward writes out. It returns an error, and no loss, when
// the targets do not fit the logits or xent refuses the input (a label out
// of range, a NaN logit, ...).
func (l *Loss) Forward(logits *Tensor, t Targets, wantGrad bool) (float64, error) {
	if len(logits.Shape) != 2 {
		return 0, fmt.Errorf("nn: %s: logits shape %v, want (N, C)", l.Name(), logits.Shape)
	}
	n, c := logits.Shape[0], logits.Shape[1]
	if l.Kind == SoftmaxIndex {
		if len(t.Labels) != n {
			return 0, fmt.Errorf("nn: %s: %d labels for a batch of %d samples", l.Name(), len(t.Labels), n)
		}
	} else if len(t.Values) != n*c {
		return 0, fmt.Errorf("nn: %s: %d target values for a batch of %d samples × %d classes, want %d",
			l.Name(), len(t.Values), n, c, n*c)
	}
	var grad []float32
	if wantGrad {
		l.grad = grow(l.grad, n*c)
		grad = l.grad
	} else {
		l.grad = l.grad[:0]
	}
	threads := l.Threads
	if threads == 0 {
		threads = 1
	}
	l.opts = xent.Options[float32]{
		Reduction:      xent.Mean,
		Weights:        l.Weights,
		LabelSmoothing: l.LabelSmoothing,
		Ignore:         l.Ignore,
		Threads:        threads,
	}
	opts := &l.opts
	var res xent.Result
	var err error
	switch {
	case l.fn != nil:
		res, err = l.fn(grad, logits.Data, logits.Shape, t, opts)
	case l.Kind == SoftmaxIndex:
		res, err = xent.CrossEntropy(grad, logits.Data, logits.Shape, t.Labels, opts)
	case l.Kind == SoftmaxDense:
		res, err = xent.CrossEntropyDense(grad, logits.Data, logits.Shape, t.Values, opts)
	case l.Kind == SoftmaxMultiLabel:
		res, err = xent.MultiLabel(grad, logits.Data, logits.Shape, t.Values, opts)
	case l.Kind == Sigmoid:
		res, err = xent.SigmoidCrossEntropy(grad, logits.Data, logits.Shape, t.Values, opts)
	case l.Kind == SigmoidFocal:
		res, err = xent.SigmoidFocal(grad, logits.Data, logits.Shape, t.Values, l.Focal, opts)
	default:
		return 0, fmt.Errorf("nn: unknown loss kind %d", int(l.Kind))
	}
	if err != nil {
		l.grad = l.grad[:0]
		return 0, fmt.Errorf("nn: %s: %w", l.Name(), err)
	}
	l.res = res
	return res.Loss, nil
}

// Backward writes scale times the gradient computed by the last Forward,
// which must have had wantGrad, into logits.Grad; scale is the upstream gradient of the
// loss, 1 when the loss is what is minimised. It panics if there is no such
// gradient of the logits' length: that is a misuse of the layer.
func (l *Loss) Backward(logits *Tensor, scale float32) {
	if len(l.grad) != len(logits.Grad) {
		panic("nn: Loss.Backward without a Forward that computed the gradient")
	}
	if scale == 1 {
		copy(logits.Grad, l.grad)
		return
	}
	for i, g := range l.grad {
		logits.Grad[i] = scale * g
	}
}
