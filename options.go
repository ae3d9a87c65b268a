package xent

import "fmt"

// Float is the element type of logits, targets, weights and gradients.
type Float interface{ ~float32 | ~float64 }

// Integer is the element type of index targets.
type Integer interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32
}

// Reduction says how the losses of the positions are combined.
type Reduction int

const (
	// Mean divides the sum of the losses by a count that depends on the
	// loss kind (see the package documentation); it is the default.
	Mean Reduction = iota
	// Sum adds the losses of all positions.
	Sum
	// None keeps one loss per position (per element for the sigmoid loss).
	None
)

// String returns "mean", "sum" or "none".
func (r Reduction) String() string {
	switch r {
	case Mean:
		return "mean"
	case Sum:
		return "sum"
	case None:
		return "none"
	}
	return fmt.Sprintf("Reduction(%d)", int(r))
}

// ParseReduction turns "mean", "sum" or "none" into a Reduction.
func ParseReduction(s string) (Reduction, error) {
	switch s {
	case "mean":
		return Mean, nil
	case "sum":
		return Sum, nil
	case "none":
		return None, nil
	}
	return 0, fmt.Errorf("%w: reduction %q is not one of mean, sum, none", ErrOption, s)
}

// DefaultIgnoreIndex is the ignore index used when Options.Ignore is left
// zero, as in PyTorch.
const DefaultIgnoreIndex = -100

// Ignore is the target value of positions that an index-target loss skips.
// Its zero value means DefaultIgnoreIndex; build other values with
// IgnoreIndex.
type Ignore struct {
	index int
	set   bool
}

// IgnoreIndex returns an Ignore for the target value i.
func IgnoreIndex(i int) Ignore { return Ignore{index: i, set: true} }

// Index returns the target value that is ignored.
func (g Ignore) Index() int {
	if !g.set {
		return DefaultIgnoreIndex
	}
	return g.index
}

// IsDefault reports whether g is the zero value (DefaultIgnoreIndex).
func (g Ignore) IsDefault() bool { return !g.set }

// Options are the settings shared by the losses. The zero value (or a nil
// *Options) means: mean reduction, no class weights, ignore index −100, no
// label smoothing, all cores.
type Options[T Float] struct {
	// Reduction combines the per-position losses; default Mean.
	Reduction Reduction
	// Weights, when not nil, holds one weight w_c ≥ 0 per class.
	Weights []T
	// Ignore is the target of positions to skip (index targets only).
	Ignore Ignore
	// LabelSmoothing ε in [0, 1] (index and dense targets only).
	LabelSmoothing float64
	// Upstream, with Reduction None, holds one upstream gradient g_i per
	// loss (per position, or per element for the sigmoid loss): the
	// gradient returned is that of Σ g_i ℓ_i. Nil means all ones. It must
	// be nil with Mean and Sum.
	Upstream []T
	// Losses, with Reduction None, is where the per-position losses are
	// written; when nil a new slice is allocated. Ignored otherwise.
	Losses []float64
	// Threads is the number of goroutines to use; 0 means GOMAXPROCS.
	// Results do not depend on it.
	Threads int
}

// Result describes the outcome of a loss computation.
type Result struct {
	// Loss is the reduced loss (Mean or Sum), or the sum of the
	// per-position losses for None.
	Loss float64
	// Losses holds the per-position (per-element for the sigmoid loss)
	// losses when the reduction is None, and is nil otherwise.
	Losses []float64
	// Counted is the number of positions that contributed to the loss.
	Counted int
	// Ignored is the number of positions whose target was the ignore index.
	Ignored int
	// Skipped is the number of multi-label positions with no label (M = 0).
	Skipped int
}
