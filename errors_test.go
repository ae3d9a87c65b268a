package xent

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// Bad input (SPEC 2.6): every entry point refuses it with an error that
// wraps the right sentinel and names the place, leaves the gradient all
// zeros, returns no partial result and never panics.

// entry is an entry point of the package.
type entry int

const (
	eIndex entry = iota
	eDense
	eMulti
	eSigmoid
	eSoftmax
	eLogSoftmax
)

var entryOps = [...]string{"CrossEntropy", "CrossEntropyDense", "MultiLabel", "SigmoidCrossEntropy", "Softmax", "LogSoftmax"}

func (e entry) String() string { return entryOps[e] }

var (
	lossEntries    = []entry{eIndex, eDense, eMulti, eSigmoid}
	softmaxLosses  = []entry{eIndex, eDense, eMulti}
	denseEntries   = []entry{eDense, eMulti, eSigmoid}
	allEntries     = []entry{eIndex, eDense, eMulti, eSigmoid, eSoftmax, eLogSoftmax}
	softmaxEntries = []entry{eIndex, eDense, eMulti, eSoftmax, eLogSoftmax}
)

// callEntry runs entry e; Softmax and LogSoftmax take grad as dst.
func callEntry[T Float](e entry, grad, logits []T, shape []int, idx []int, dense []T, opts *Options[T]) (Result, error) {
	switch e {
	case eSoftmax:
		return Result{}, Softmax(grad, logits, shape)
	case eLogSoftmax:
		return Result{}, LogSoftmax(grad, logits, shape)
	}
	return callLoss(lossKind(e), grad, logits, shape, idx, dense, opts)
}

var (
	inf  = math.Inf(1)
	ninf = math.Inf(-1)
	nan  = math.NaN()
)

// badCase is one bad input, run against each of its entry points in float64
// and (unless only64) float32.
type badCase struct {
	name     string
	entries  []entry
	shape    []int
	logits   []float64
	idx      []int     // nil: all 0, one per position
	dense    []float64 // nil: class 0 of each position is 1
	opts     Options[float64]
	gradLen  int // 0: the logits' length
	want     error
	contains []string
	only64   bool
	only32   bool
}

func seq(n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = float64(i%5) * 0.25
	}
	return s
}

// with returns seq(n) with s[i] = v for each pair.
func with(n int, pairs ...float64) []float64 {
	s := seq(n)
	for i := 0; i < len(pairs); i += 2 {
		s[int(pairs[i])] = pairs[i+1]
	}
	return s
}

var badCases = []badCase{
	// Shapes and lengths.
	{name: "logits length", entries: allEntries, shape: []int{2, 3}, logits: seq(5), gradLen: 5, want: ErrShape, contains: []string{"[2 3]"}},
	{name: "one axis", entries: allEntries, shape: []int{6}, logits: seq(6), want: ErrShape},
	{name: "no axes", entries: allEntries, shape: nil, logits: seq(1), want: ErrShape},
	{name: "negative dim", entries: allEntries, shape: []int{2, -3}, logits: seq(6), want: ErrShape, contains: []string{"negative"}},
	{name: "two negative dims", entries: allEntries, shape: []int{-2, -3}, logits: seq(6), want: ErrShape},
	{name: "negative spatial", entries: allEntries, shape: []int{1, 3, -2, -1}, logits: seq(6), want: ErrShape},
	{name: "C = 0", entries: allEntries, shape: []int{2, 0}, logits: seq(0), want: ErrShape, contains: []string{"C = 0"}},
	{name: "C = 0 spatial", entries: allEntries, shape: []int{2, 0, 3}, logits: seq(0), want: ErrShape},
	{name: "2^32 elements", entries: allEntries, shape: []int{1 << 20, 1 << 12}, logits: seq(6), want: ErrShape},
	{name: "2^31 elements", entries: allEntries, shape: []int{1 << 16, 1 << 15}, logits: seq(6), want: ErrShape},
	{name: "uint64 overflow", entries: allEntries, shape: []int{1 << 40, 1 << 40, 1 << 40}, logits: seq(6), want: ErrShape},
	{name: "int overflow to 6", entries: allEntries, shape: []int{3, 2, 1 << 62, 4}, logits: seq(6), want: ErrShape},
	{name: "huge C", entries: allEntries, shape: []int{1, math.MaxInt}, logits: seq(6), want: ErrShape},
	{name: "grad length", entries: allEntries, shape: []int{2, 3}, logits: seq(6), gradLen: 7, want: ErrShape},
	{name: "grad short", entries: allEntries, shape: []int{2, 3}, logits: seq(6), gradLen: 5, want: ErrShape},
	{name: "index targets length", entries: []entry{eIndex}, shape: []int{2, 3}, logits: seq(6), idx: []int{0, 1, 2}, want: ErrShape},
	{name: "index targets spatial length", entries: []entry{eIndex}, shape: []int{2, 3, 2}, logits: seq(12), idx: []int{0, 1}, want: ErrShape},
	{name: "dense targets length", entries: denseEntries, shape: []int{2, 3}, logits: seq(6), dense: seq(5), want: ErrShape},
	{name: "weights length", entries: lossEntries, shape: []int{2, 3}, logits: seq(6),
		opts: Options[float64]{Weights: []float64{1, 1}}, want: ErrShape},
	{name: "upstream length", entries: lossEntries, shape: []int{2, 3}, logits: seq(6),
		opts: Options[float64]{Reduction: None, Upstream: []float64{1}}, want: ErrShape},
	{name: "losses length", entries: lossEntries, shape: []int{2, 3}, logits: seq(6),
		opts: Options[float64]{Reduction: None, Losses: make([]float64, 1)}, want: ErrShape},

	// Index targets.
	{name: "target = C", entries: []entry{eIndex}, shape: []int{3, 3}, logits: seq(9), idx: []int{0, 3, 1},
		want: ErrTarget, contains: []string{"row 1", "3"}},
	{name: "target negative", entries: []entry{eIndex}, shape: []int{3, 3}, logits: seq(9), idx: []int{0, 1, -1},
		want: ErrTarget, contains: []string{"row 2", "-1"}},
	{name: "target -100 with ignore -1", entries: []entry{eIndex}, shape: []int{2, 3}, logits: seq(6), idx: []int{-100, -1},
		opts: Options[float64]{Ignore: IgnoreIndex(-1)}, want: ErrTarget, contains: []string{"row 0", "-100"}},
	{name: "target huge", entries: []entry{eIndex}, shape: []int{2, 3}, logits: seq(6), idx: []int{0, math.MaxInt},
		want: ErrTarget, contains: []string{"row 1"}},
	{name: "target C = 1", entries: []entry{eIndex}, shape: []int{2, 1}, logits: seq(2), idx: []int{0, 1},
		want: ErrTarget, contains: []string{"row 1"}},
	{name: "target spatial", entries: []entry{eIndex}, shape: []int{2, 2, 3}, logits: seq(12), idx: []int{0, 1, 0, 0, 1, 2},
		want: ErrTarget, contains: []string{"position 5"}},

	// Logits of counted positions.
	{name: "NaN logit", entries: softmaxEntries, shape: []int{3, 4}, logits: with(12, 6, nan),
		want: ErrLogit, contains: []string{"row 1", "class 2"}},
	{name: "+Inf logit", entries: softmaxEntries, shape: []int{3, 4}, logits: with(12, 11, inf),
		want: ErrLogit, contains: []string{"row 2", "class 3"}},
	{name: "NaN logit beside +Inf", entries: softmaxEntries, shape: []int{1, 4}, logits: with(4, 1, inf, 3, nan),
		want: ErrLogit, contains: []string{"row 0", "class 1"}},
	{name: "all −Inf", entries: softmaxEntries, shape: []int{3, 2}, logits: with(6, 2, ninf, 3, ninf),
		want: ErrLogit, contains: []string{"row 1"}},
	{name: "all −Inf C = 1", entries: softmaxEntries, shape: []int{2, 1}, logits: []float64{ninf, 0},
		want: ErrLogit, contains: []string{"row 0"}},
	{name: "NaN logit spatial", entries: softmaxEntries, shape: []int{2, 3, 2}, logits: with(12, 9, nan),
		want: ErrLogit, contains: []string{"position 3", "class 1"}},
	{name: "all −Inf spatial", entries: softmaxEntries, shape: []int{1, 2, 3}, logits: with(6, 1, ninf, 4, ninf),
		dense: seq(6), want: ErrLogit, contains: []string{"position 1"}},
	{name: "sigmoid NaN logit", entries: []entry{eSigmoid}, shape: []int{2, 3}, logits: with(6, 4, nan),
		want: ErrLogit, contains: []string{"row 1", "class 1"}},
	{name: "sigmoid +Inf logit", entries: []entry{eSigmoid}, shape: []int{2, 2, 2}, logits: with(8, 7, inf),
		want: ErrLogit, contains: []string{"position 3", "class 1"}},

	// Positive coefficients on masked classes.
	{name: "index target masked", entries: []entry{eIndex}, shape: []int{2, 3}, logits: with(6, 5, ninf), idx: []int{0, 2},
		want: ErrMasked, contains: []string{"row 1", "class 2"}},
	{name: "index target masked smoothing", entries: []entry{eIndex}, shape: []int{2, 3}, logits: with(6, 0, ninf), idx: []int{0, 2},
		opts: Options[float64]{LabelSmoothing: 0.5}, want: ErrMasked, contains: []string{"row 0", "class 0"}},
	{name: "index target masked spatial", entries: []entry{eIndex}, shape: []int{1, 3, 2}, logits: with(6, 3, ninf), idx: []int{0, 1},
		want: ErrMasked, contains: []string{"position 1", "class 1"}},
	{name: "dense target masked", entries: []entry{eDense, eMulti}, shape: []int{2, 3}, logits: with(6, 4, ninf),
		dense: with(6, 4, 0.5), want: ErrMasked, contains: []string{"row 1", "class 1"}},
	{name: "dense target masked smoothing", entries: []entry{eDense}, shape: []int{2, 3}, logits: with(6, 4, ninf),
		dense: with(6, 4, 0.5), opts: Options[float64]{LabelSmoothing: 0.3}, want: ErrMasked, contains: []string{"row 1", "class 1"}},
	{name: "sigmoid target masked", entries: []entry{eSigmoid}, shape: []int{2, 3}, logits: with(6, 4, ninf),
		dense: with(6, 4, 0.5), want: ErrMasked, contains: []string{"row 1", "class 1"}},

	// Targets.
	{name: "target negative", entries: denseEntries, shape: []int{2, 3}, logits: seq(6), dense: with(6, 5, -0.5),
		want: ErrTarget, contains: []string{"row 1", "class 2"}},
	{name: "target NaN", entries: denseEntries, shape: []int{2, 3}, logits: seq(6), dense: with(6, 1, nan),
		want: ErrTarget, contains: []string{"row 0", "class 1"}},
	{name: "target +Inf", entries: denseEntries, shape: []int{2, 3}, logits: seq(6), dense: with(6, 3, inf),
		want: ErrTarget, contains: []string{"row 1", "class 0"}},
	{name: "target −Inf", entries: denseEntries, shape: []int{2, 3}, logits: seq(6), dense: with(6, 3, ninf),
		want: ErrTarget, contains: []string{"row 1", "class 0"}},
	{name: "target negative zero weight", entries: denseEntries, shape: []int{2, 3}, logits: seq(6), dense: with(6, 2, -1),
		opts: Options[float64]{Weights: []float64{1, 1, 0}}, want: ErrTarget, contains: []string{"row 0", "class 2"}},
	{name: "target negative masked", entries: denseEntries, shape: []int{2, 3}, logits: with(6, 2, ninf), dense: with(6, 2, -1),
		want: ErrTarget, contains: []string{"row 0", "class 2"}},

	// Weights.
	{name: "weight negative", entries: lossEntries, shape: []int{2, 3}, logits: seq(6),
		opts: Options[float64]{Weights: []float64{1, -1, 1}}, want: ErrWeight, contains: []string{"class 1"}},
	{name: "weight NaN", entries: lossEntries, shape: []int{2, 3}, logits: seq(6),
		opts: Options[float64]{Weights: []float64{1, 1, nan}}, want: ErrWeight, contains: []string{"class 2"}},
	{name: "weight +Inf", entries: lossEntries, shape: []int{2, 3}, logits: seq(6),
		opts: Options[float64]{Weights: []float64{inf, 1, 1}}, want: ErrWeight, contains: []string{"class 0"}},
	{name: "weight −Inf", entries: lossEntries, shape: []int{2, 3}, logits: seq(6),
		opts: Options[float64]{Weights: []float64{1, ninf, 1}}, want: ErrWeight, contains: []string{"class 1"}},

	// Options.
	{name: "smoothing negative", entries: []entry{eIndex, eDense}, shape: []int{2, 3}, logits: seq(6),
		opts: Options[float64]{LabelSmoothing: -0.1}, want: ErrOption, contains: []string{"smoothing"}},
	{name: "smoothing above 1", entries: []entry{eIndex, eDense}, shape: []int{2, 3}, logits: seq(6),
		opts: Options[float64]{LabelSmoothing: 1.0000001}, want: ErrOption, contains: []string{"smoothing"}},
	{name: "smoothing NaN", entries: lossEntries, shape: []int{2, 3}, logits: seq(6),
		opts: Options[float64]{LabelSmoothing: nan}, want: ErrOption, contains: []string{"smoothing"}},
	{name: "smoothing +Inf", entries: lossEntries, shape: []int{2, 3}, logits: seq(6),
		opts: Options[float64]{LabelSmoothing: inf}, want: ErrOption, contains: []string{"smoothing"}},
	{name: "smoothing with multi-label or sigmoid", entries: []entry{eMulti, eSigmoid}, shape: []int{2, 3}, logits: seq(6),
		opts: Options[float64]{LabelSmoothing: 0.1}, want: ErrOption, contains: []string{"smoothing"}},
	{name: "ignore index with dense kinds", entries: denseEntries, shape: []int{2, 3}, logits: seq(6),
		opts: Options[float64]{Ignore: IgnoreIndex(-100)}, want: ErrOption, contains: []string{"ignore"}},
	{name: "ignore index 0 with dense kinds", entries: denseEntries, shape: []int{2, 3}, logits: seq(6),
		opts: Options[float64]{Ignore: IgnoreIndex(0)}, want: ErrOption, contains: []string{"ignore"}},
	{name: "upstream with mean", entries: lossEntries, shape: []int{2, 3}, logits: seq(6),
		opts: Options[float64]{Upstream: []float64{1, 1, 1, 1, 1, 1}}, want: ErrOption, contains: []string{"upstream"}},
	{name: "upstream with sum", entries: lossEntries, shape: []int{2, 3}, logits: seq(6),
		opts: Options[float64]{Reduction: Sum, Upstream: []float64{1, 1, 1, 1, 1, 1}}, want: ErrOption, contains: []string{"upstream"}},
	{name: "upstream NaN", entries: softmaxLosses, shape: []int{2, 3}, logits: seq(6),
		opts: Options[float64]{Reduction: None, Upstream: []float64{1, nan}}, want: ErrOption, contains: []string{"row 1"}},
	{name: "sigmoid upstream Inf", entries: []entry{eSigmoid}, shape: []int{2, 3}, logits: seq(6),
		opts: Options[float64]{Reduction: None, Upstream: with(6, 4, inf)}, want: ErrOption, contains: []string{"row 1", "class 1"}},
	{name: "unknown reduction", entries: lossEntries, shape: []int{2, 3}, logits: seq(6),
		opts: Options[float64]{Reduction: 7}, want: ErrOption, contains: []string{"7"}},
	{name: "negative threads", entries: lossEntries, shape: []int{2, 3}, logits: seq(6),
		opts: Options[float64]{Threads: -1}, want: ErrOption},

	// Finite inputs whose loss overflows.
	{name: "overflow", entries: softmaxLosses, shape: []int{2, 2}, logits: []float64{0, 0, 1e308, -1e308},
		idx: []int{0, 1}, dense: []float64{1, 0, 0, 1}, want: ErrOverflow, contains: []string{"row 1"}, only64: true},
	{name: "overflow spatial", entries: softmaxLosses, shape: []int{1, 2, 2}, logits: []float64{0, 1e308, 0, -1e308},
		idx: []int{0, 1}, dense: []float64{1, 0, 0, 1}, want: ErrOverflow, contains: []string{"position 1"}, only64: true},
	{name: "overflow dense target", entries: []entry{eDense, eMulti}, shape: []int{1, 2}, logits: []float64{0, -1e300},
		dense: []float64{0, 1e10}, want: ErrOverflow, contains: []string{"row 0"}, only64: true},
	{name: "overflow weight", entries: softmaxLosses, shape: []int{1, 2}, logits: []float64{0, -1e300},
		idx: []int{1}, dense: []float64{0, 1}, opts: Options[float64]{Weights: []float64{1, 1e10}, Reduction: Sum}, want: ErrOverflow,
		contains: []string{"row 0"}, only64: true},
	{name: "overflow sigmoid", entries: []entry{eSigmoid}, shape: []int{2, 2}, logits: []float64{0, 0, 0, -1e308},
		dense: []float64{0, 0, 0, 2}, want: ErrOverflow, contains: []string{"row 1", "class 1"}, only64: true},
	{name: "overflow sigmoid weight", entries: []entry{eSigmoid}, shape: []int{1, 2}, logits: []float64{1e308, 0},
		dense: []float64{0, 0}, opts: Options[float64]{Weights: []float64{2, 1}}, want: ErrOverflow,
		contains: []string{"row 0", "class 0"}, only64: true},
	{name: "float32 gradient overflow", entries: softmaxLosses, shape: []int{2, 2}, logits: []float64{0, 1, 1, 0},
		idx: []int{0, 1}, dense: []float64{1, 0, 0, 1},
		opts: Options[float64]{Reduction: None, Weights: []float64{1e30, 1e30}, Upstream: []float64{1, 1e10}},
		want: ErrOverflow, contains: []string{"row 1"}, only32: true},
	{name: "float32 sigmoid gradient overflow", entries: []entry{eSigmoid}, shape: []int{2, 2}, logits: []float64{0, 1, 1, 0},
		dense: []float64{1, 0, 0, 1},
		opts:  Options[float64]{Reduction: None, Weights: []float64{1e30, 1e30}, Upstream: []float64{1, 1e10, 1, 1}},
		want:  ErrOverflow, contains: []string{"row 0", "class 1"}, only32: true},
}

// badCaseInputs converts a case to T, filling in default targets.
func badCaseInputs[T Float](c *badCase, e entry) (grad, logits []T, idx []int, dense []T, opts Options[T]) {
	logits = convert[T](c.logits)
	n := c.gradLen
	if n == 0 {
		n = len(c.logits)
	}
	grad = make([]T, n)
	for i := range grad {
		grad[i] = 7
	}
	idx, dense = c.idx, convert[T](c.dense)
	if len(c.shape) >= 2 && c.shape[1] > 0 && len(c.logits) > 0 {
		g := geomOf(c.shape)
		if g.size == len(c.logits) {
			if idx == nil {
				idx = make([]int, g.P)
			}
			if dense == nil {
				dense = make([]T, g.size)
				for pos := 0; pos < g.P; pos++ {
					dense[g.at(pos, 0)] = 1
				}
			}
		}
	}
	opts = Options[T]{Reduction: c.opts.Reduction, Weights: convert[T](c.opts.Weights), Ignore: c.opts.Ignore,
		LabelSmoothing: c.opts.LabelSmoothing, Upstream: convert[T](c.opts.Upstream), Losses: c.opts.Losses,
		Threads: c.opts.Threads}
	return
}

// sentinels are the package's sentinel errors.
var sentinels = []error{ErrShape, ErrTarget, ErrWeight, ErrLogit, ErrMasked, ErrOption, ErrOverflow}

func TestBadInput(t *testing.T) {
	for _, c := range badCases {
		for _, e := range c.entries {
			if !c.only32 {
				runBadCase[float64](t, &c, e, false)
			}
			if !c.only64 {
				runBadCase[float32](t, &c, e, false)
			}
		}
	}
}

// TestBadInputZeroesGrad: the documented contract of every loss ("grad is
// then all zeros") holds for every bad input, those refused by the shape and
// option checks included. It is kept apart from TestBadInput so that one
// failure shows as one line per case.
func TestBadInputZeroesGrad(t *testing.T) {
	for _, c := range badCases {
		for _, e := range c.entries {
			if !c.only32 && !runBadCase[float64](t, &c, e, true) {
				break // one line per case
			}
		}
	}
}

func runBadCase[T Float](t *testing.T, c *badCase, e entry, checkGrad bool) (ok bool) {
	t.Helper()
	name := fmt.Sprintf("%s/%v/%T", c.name, e, T(0))
	grad, logits, idx, dense, opts := badCaseInputs[T](c, e)
	if opts.Losses != nil {
		opts.Losses = slices.Clone(opts.Losses)
	}
	var (
		r   Result
		err error
	)
	func() {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic: %v", p)
				t.Errorf("%s: panic: %v", name, p)
			}
		}()
		r, err = callEntry(e, grad, logits, c.shape, idx, dense, &opts)
	}()
	if err == nil {
		t.Errorf("%s: no error, want %v", name, c.want)
		return false
	}
	if checkGrad {
		for i, g := range grad {
			if g != 0 {
				t.Errorf("%s: gradient[%d] = %v after the error %q, want all zeros", name, i, g, err)
				return false
			}
		}
		return true
	}
	if !errors.Is(err, c.want) {
		t.Errorf("%s: error %q does not wrap %q", name, err, c.want)
	}
	for _, s := range sentinels {
		if s != c.want && errors.Is(err, s) {
			t.Errorf("%s: error %q also wraps %q", name, err, s)
		}
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, e.String()+": ") {
		t.Errorf("%s: error %q does not start with the entry point", name, msg)
	}
	for _, s := range c.contains {
		if !strings.Contains(msg, s) {
			t.Errorf("%s: error %q does not mention %q", name, msg, s)
		}
	}
	if r.Loss != 0 || r.Losses != nil || r.Counted != 0 || r.Ignored != 0 || r.Skipped != 0 {
		t.Errorf("%s: partial result %+v with the error", name, r)
	}
	return true
}

// TestInputErrorFields: errors about a place in the data are *InputError
// values with the position and class.
func TestInputErrorFields(t *testing.T) {
	logits := []float64{0, 1, 2, 3, 4, 5, 6, nan, 8}
	_, err := CrossEntropy(nil, logits, []int{3, 3}, []int{0, 1, 2}, nil)
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Fatalf("error %v is not an *InputError", err)
	}
	if ie.Position != 2 || ie.Class != 1 || !math.IsNaN(ie.Value) || ie.Err != ErrLogit {
		t.Errorf("InputError %+v, want position 2, class 1, value NaN, ErrLogit", ie)
	}
	_, err = CrossEntropy(nil, logits[:6], []int{2, 3}, []int{0, 9}, nil)
	if !errors.As(err, &ie) || ie.Position != 1 || ie.Value != 9 || ie.Err != ErrTarget {
		t.Errorf("error %v, want an InputError for position 1 with value 9", err)
	}
	_, err = MultiLabel(nil, []float64{0, ninf, 1, 1}, []int{2, 2}, []float64{0, 1, 1, 0}, nil)
	if !errors.As(err, &ie) || ie.Position != 0 || ie.Class != 1 || ie.Err != ErrMasked {
		t.Errorf("error %v, want an InputError for position 0, class 1, ErrMasked", err)
	}
}

// TestBadInputLossesBuffer: with Reduction None, a caller's Losses buffer
// receives no partial output when a later position is bad.
func TestBadInputLossesBuffer(t *testing.T) {
	for _, e := range lossEntries {
		n := 2 // one loss per position
		if e == eSigmoid {
			n = 6 // one per element
		}
		losses := make([]float64, n)
		for i := range losses {
			losses[i] = 7
		}
		logits := []float64{0, 1, 2, 3, 4, nan} // row 1, class 2: the last position
		_, err := callEntry(e, nil, logits, []int{2, 3}, []int{0, 0}, []float64{1, 0, 0, 1, 0, 0},
			&Options[float64]{Reduction: None, Losses: losses})
		if !errors.Is(err, ErrLogit) {
			t.Errorf("%v: error %v, want ErrLogit", e, err)
			continue
		}
		for _, l := range losses {
			if l != 0 && l != 7 {
				t.Errorf("%v: Losses = %v after the error: partial output", e, losses)
				break
			}
		}
	}
}

// TestNoInfWithoutError: finite inputs whose per-position losses are finite
// but whose reduced loss is not representable must give an error, never an
// infinite loss without one (SPEC 2.6); a representable mean must be
// returned.
func TestNoInfWithoutError(t *testing.T) {
	// Each position's loss is 1e308; two of them sum past MaxFloat64.
	logits := []float64{0, -1e308, 0, -1e308}
	for _, e := range lossEntries {
		for _, red := range []Reduction{Mean, Sum, None} {
			dense := []float64{0, 1, 0, 1}
			l := slices.Clone(logits)
			if e == eSigmoid {
				l = []float64{-1e308, 0, -1e308, 0}
				dense = []float64{1, 0, 1, 0}
			}
			grad := []float64{7, 7, 7, 7}
			r, err := callEntry(e, grad, l, []int{2, 2}, []int{1, 1}, dense, &Options[float64]{Reduction: red})
			name := fmt.Sprintf("%v/%v", e, red)
			if err != nil {
				if !errors.Is(err, ErrOverflow) {
					t.Errorf("%s: error %v, want ErrOverflow or a finite loss", name, err)
				}
				continue
			}
			if !isFinite(r.Loss) {
				t.Errorf("%s: loss %v without an error", name, r.Loss)
			}
			if red == Mean && e != eSigmoid && !close64(r.Loss, 1e308, 1e-15, 0) {
				t.Errorf("%s: mean loss %v, want 1e308", name, r.Loss)
			}
		}
	}
}

// goodCase is an input at the edge of validity that must be accepted.
type goodCase struct {
	name    string
	entries []entry
	shape   []int
	logits  []float64
	idx     []int
	dense   []float64
	opts    Options[float64]
	check   func(r Result, grad []float64) string
}

// zeroAt returns a check that grad is exactly 0 at the given indices and
// finite everywhere.
func zeroAt(idx ...int) func(Result, []float64) string {
	return func(r Result, grad []float64) string {
		if !isFinite(r.Loss) {
			return fmt.Sprintf("loss %v", r.Loss)
		}
		for i, g := range grad {
			if !isFinite(g) {
				return fmt.Sprintf("gradient[%d] = %v", i, g)
			}
		}
		for _, i := range idx {
			if grad[i] != 0 {
				return fmt.Sprintf("gradient[%d] = %v, want 0", i, grad[i])
			}
		}
		return ""
	}
}

var goodCases = []goodCase{
	{name: "ignored rows hold NaN and −Inf", entries: []entry{eIndex}, shape: []int{3, 3},
		logits: []float64{nan, nan, inf, 0, 1, 2, ninf, ninf, ninf}, idx: []int{-100, 1, -100},
		check: func(r Result, grad []float64) string {
			if r.Ignored != 2 || r.Counted != 1 {
				return fmt.Sprintf("ignored %d counted %d", r.Ignored, r.Counted)
			}
			return zeroAt(0, 1, 2, 6, 7, 8)(r, grad)
		}},
	{name: "ignored spatial NaN", entries: []entry{eIndex}, shape: []int{1, 2, 3},
		logits: []float64{nan, 0, ninf, nan, 1, ninf}, idx: []int{5, 0, 5}, opts: Options[float64]{Ignore: IgnoreIndex(5)},
		check: zeroAt(0, 3, 2, 5)},
	{name: "all ignored", entries: []entry{eIndex}, shape: []int{2, 2}, logits: []float64{nan, nan, ninf, ninf}, idx: []int{-100, -100},
		check: func(r Result, grad []float64) string {
			if r.Loss != 0 {
				return fmt.Sprintf("mean over nothing = %v, want 0", r.Loss)
			}
			return zeroAt(0, 1, 2, 3)(r, grad)
		}},
	{name: "multi-label M = 0 rows hold NaN and −Inf", entries: []entry{eMulti}, shape: []int{3, 2},
		logits: []float64{nan, inf, 0, 1, ninf, ninf}, dense: []float64{0, 0, 1, 1, 0, 0},
		check: func(r Result, grad []float64) string {
			if r.Skipped != 2 || r.Counted != 1 {
				return fmt.Sprintf("skipped %d counted %d", r.Skipped, r.Counted)
			}
			return zeroAt(0, 1, 4, 5)(r, grad)
		}},
	{name: "multi-label all M = 0", entries: []entry{eMulti}, shape: []int{1, 2, 2},
		logits: []float64{nan, nan, nan, nan}, dense: []float64{0, 0, 0, 0},
		check: func(r Result, grad []float64) string {
			if r.Loss != 0 || r.Skipped != 2 {
				return fmt.Sprintf("loss %v skipped %d", r.Loss, r.Skipped)
			}
			return zeroAt(0, 1, 2, 3)(r, grad)
		}},
	{name: "masked classes", entries: []entry{eIndex, eDense, eMulti, eSigmoid}, shape: []int{2, 3},
		logits: []float64{ninf, 0, 1, 2, ninf, 0}, idx: []int{1, 0}, dense: []float64{0, 1, 0, 1, 0, 0},
		check: zeroAt(0, 4)},
	{name: "masked classes smoothing", entries: []entry{eIndex, eDense}, shape: []int{2, 3},
		logits: []float64{ninf, 0, 1, 2, ninf, 0}, idx: []int{1, 0}, dense: []float64{0, 1, 0, 1, 0, 0},
		opts: Options[float64]{LabelSmoothing: 0.4}, check: zeroAt(0, 4)},
	{name: "ε = 1 on a masked target", entries: []entry{eIndex, eDense}, shape: []int{1, 3},
		logits: []float64{ninf, 0, 1}, idx: []int{0}, dense: []float64{1, 0, 0},
		opts: Options[float64]{LabelSmoothing: 1}, check: zeroAt(0)},
	{name: "zero weight on a masked target", entries: []entry{eIndex, eDense, eMulti, eSigmoid}, shape: []int{1, 3},
		logits: []float64{ninf, 0, 1}, idx: []int{0}, dense: []float64{1, 1, 0},
		opts: Options[float64]{Weights: []float64{0, 1, 1}}, check: zeroAt(0)},
	{name: "sigmoid all −Inf", entries: []entry{eSigmoid}, shape: []int{2, 2},
		logits: []float64{ninf, ninf, 0, 1}, dense: []float64{0, 0, 1, 0},
		check: func(r Result, grad []float64) string {
			if r.Loss <= 0 {
				return fmt.Sprintf("loss %v", r.Loss)
			}
			return zeroAt(0, 1)(r, grad)
		}},
	{name: "N = 0", entries: allEntries, shape: []int{0, 3}, logits: []float64{}, idx: []int{}, dense: []float64{},
		check: zeroAt()},
	{name: "empty spatial axis", entries: allEntries, shape: []int{2, 3, 0}, logits: []float64{}, idx: []int{}, dense: []float64{},
		check: zeroAt()},
	{name: "empty spatial axis, N = 0", entries: allEntries, shape: []int{0, 3, 0}, logits: []float64{}, idx: []int{}, dense: []float64{},
		check: zeroAt()},
	{name: "huge logits", entries: allEntries, shape: []int{1, 3},
		logits: []float64{1e300, -1e300, 1e300}, idx: []int{0}, dense: []float64{1, 0, 1},
		check: zeroAt()},
	{name: "subnormal weights", entries: softmaxLosses, shape: []int{2, 2},
		logits: []float64{0, 1, 1, 0}, idx: []int{0, 0}, dense: []float64{1, 0, 1, 0},
		opts: Options[float64]{Weights: []float64{5e-324, 5e-324}},
		check: func(r Result, grad []float64) string {
			return zeroAt()(r, grad)
		}},
	{name: "subnormal weight mean", entries: []entry{eIndex}, shape: []int{2, 2},
		logits: []float64{0, 1, 1, 0}, idx: []int{0, 0}, opts: Options[float64]{Weights: []float64{5e-324, 1}},
		check: func(r Result, grad []float64) string {
			// Both positions have target 0 and the same weight: the
			// weighted mean is the plain mean of the two losses.
			want := (math.Log1p(math.E) + math.Log1p(1/math.E)) / 2
			if !close64(r.Loss, want, 1e-15, 0) {
				return fmt.Sprintf("loss %v, want %v", r.Loss, want)
			}
			return zeroAt()(r, grad)
		}},
}

func TestEdgeInputAccepted(t *testing.T) {
	for _, c := range goodCases {
		for _, e := range c.entries {
			name := fmt.Sprintf("%s/%v", c.name, e)
			grad := make([]float64, len(c.logits))
			for i := range grad {
				grad[i] = 7
			}
			o := c.opts
			var (
				r   Result
				err error
			)
			func() {
				defer func() {
					if p := recover(); p != nil {
						err = fmt.Errorf("panic: %v", p)
					}
				}()
				r, err = callEntry(e, grad, c.logits, c.shape, c.idx, c.dense, &o)
			}()
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if e == eSoftmax || e == eLogSoftmax {
				continue
			}
			if msg := c.check(r, grad); msg != "" {
				t.Errorf("%s: %s", name, msg)
			}
		}
	}
}

// TestReductionOverflow: the mean's denominator Σ w_y may overflow while
// every per-position loss and the mean itself are representable. With two
// positions of target 0 and w_0 = 1e308, the weighted mean is the plain mean
// (log 2 here), not 0; with three, not NaN.
func TestReductionOverflow(t *testing.T) {
	for _, n := range []int{2, 3} {
		logits := make([]float64, 2*n)
		grad := make([]float64, 2*n)
		r, err := CrossEntropy(grad, logits, []int{n, 2}, make([]int, n),
			&Options[float64]{Weights: []float64{1e308, 1}})
		if err != nil {
			if !errors.Is(err, ErrOverflow) {
				t.Errorf("N = %d: error %v, want the mean or ErrOverflow", n, err)
			}
			continue
		}
		if !close64(r.Loss, math.Ln2, 1e-15, 0) {
			t.Errorf("N = %d: weighted mean %v, want log 2 = %v", n, r.Loss, math.Ln2)
		}
		for i, g := range grad {
			want := 0.5 / float64(n)
			if i%2 == 0 {
				want = -want
			}
			if !close64(g, want, 1e-15, 0) {
				t.Errorf("N = %d: gradient[%d] = %v, want %v", n, i, g, want)
				break
			}
		}
	}
}

// TestSubnormalMeanDenominator: a mean whose denominator Σ w_y is subnormal
// has 1/Σ w_y = +Inf in float64; the result must still be a finite loss and
// gradient, or an error, never a NaN gradient.
func TestSubnormalMeanDenominator(t *testing.T) {
	grad := []float64{7, 7}
	r, err := CrossEntropy(grad, []float64{0, 0}, []int{1, 2}, []int{0},
		&Options[float64]{Weights: []float64{5e-324, 0}, LabelSmoothing: 0.6})
	if err != nil {
		if !errors.Is(err, ErrOverflow) {
			t.Errorf("error %v", err)
		}
		return
	}
	if !isFinite(r.Loss) || !isFinite(grad[0]) || !isFinite(grad[1]) {
		t.Errorf("loss %v, gradient %v without an error", r.Loss, grad)
	}
}

// TestDenseGradientProductOrder: the dense and multi-label gradient term
// g·w_k·t_k must not overflow in g·w_k when the product with t_k is
// representable (or zero): a zero target gets a zero gradient, not NaN.
func TestDenseGradientProductOrder(t *testing.T) {
	for _, e := range []entry{eDense, eMulti} {
		grad := []float64{7, 7}
		targets := []float64{1, 0}
		r, err := callEntry(e, grad, []float64{0, 0}, []int{1, 2}, nil, targets,
			&Options[float64]{Reduction: None, Weights: []float64{1, 1e30}, Upstream: []float64{1e300}})
		if err != nil {
			if !errors.Is(err, ErrOverflow) {
				t.Errorf("%v: error %v", e, err)
			}
			continue
		}
		// p = (1/2, 1/2), T = 1, M = 1: gradient 1e300·(p − t) = (−5e299, 5e299).
		if !isFinite(r.Loss) || !close64(grad[0], -5e299, 1e-15, 0) || !close64(grad[1], 5e299, 1e-15, 0) {
			t.Errorf("%v: loss %v, gradient %v, want [-5e299 5e299]", e, r.Loss, grad)
		}
	}
}
