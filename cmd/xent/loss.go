package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/xent-go/xent"
)

// lossFlags holds the flags of "xent loss".
type lossFlags struct {
	logits, targets, weights string
	kind, reduction, out     string
	ignore                   int
	smoothing                float64
}

// lossCommand builds the "xent loss" command (SPEC section 4).
func lossCommand() *Command {
	c := &Command{
		Name:      "loss",
		UsageLine: "xent loss --logits L.npy --targets T.npy --kind index|dense|multilabel|bce [--weights W.npy] [--ignore-index INT] [--label-smoothing FLOAT] [--reduction mean|sum|none] --out DIR",
		Short:     "compute a loss and its gradient from .npy files",
		Long: `
Loss reads logits and targets from NumPy .npy files, computes the loss of the
chosen kind and its gradient, writes DIR/loss.npy and DIR/grad.npy, and prints
the loss on one line (for --reduction none, the sum of the per-position
losses).

Kinds (SPEC section 2):
  index       softmax cross-entropy against one class index per position
  dense       softmax cross-entropy against dense (probability) targets
  multilabel  multi-label softmax loss with the 1/M scaling
  bce         elementwise sigmoid (binary) cross-entropy

Files:
  --logits    float32 or float64, C order, shape (N, C) or (N, C, d1..dk)
  --targets   index: int64 or int32 of shape (N) or (N, d1..dk);
              other kinds: float32 or float64 of the logits' shape
  --weights   float32 or float64 of shape (C)
Float targets and weights of the other float type are converted to the
logits' type.

Outputs:
  DIR/loss.npy  float64; shape () for mean and sum; for none the positions'
                shape (N, d1..dk), or the logits' shape for bce
  DIR/grad.npy  the logits' dtype and shape: the gradient of the reduced loss
DIR is created if needed. Both files are written to temporary names and
renamed only when both are complete; on any error neither is created (files
from an earlier run are left as they were).

Exit status: 0 on success; 2 for a usage error (unknown or missing flag,
--kind or --reduction not recognised, --label-smoothing outside [0, 1] or
with multilabel or bce, --ignore-index with a kind other than index); 1 for
bad input in the files (malformed .npy, wrong dtype or shape, invalid
values) or an I/O error. Errors are one line on stderr starting "xent:".`,
		Flag: flag.NewFlagSet("loss", flag.ContinueOnError),
	}
	var o lossFlags
	fs := c.Flag
	fs.StringVar(&o.logits, "logits", "", "logits `file` (.npy)")
	fs.StringVar(&o.targets, "targets", "", "targets `file` (.npy)")
	fs.StringVar(&o.kind, "kind", "", "loss `kind`: index, dense, multilabel or bce")
	fs.StringVar(&o.weights, "weights", "", "optional class weights `file` (.npy, shape (C))")
	fs.IntVar(&o.ignore, "ignore-index", xent.DefaultIgnoreIndex, "target `value` to ignore (index kind only)")
	fs.Float64Var(&o.smoothing, "label-smoothing", 0, "label smoothing `epsilon` in [0, 1] (index and dense kinds only)")
	fs.StringVar(&o.reduction, "reduction", "mean", "`reduction`: mean, sum or none")
	fs.StringVar(&o.out, "out", "", "output `directory` for loss.npy and grad.npy")
	c.Run = func(c *Command, args []string, stdout io.Writer) error {
		return o.run(c.Flag, args, stdout)
	}
	return c
}

// run validates the flags, reads the files, computes and writes the outputs.
func (o *lossFlags) run(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, name := range []string{"logits", "targets", "kind", "out"} {
		if !set[name] {
			return usagef("missing required flag --%s", name)
		}
	}
	switch o.kind {
	case "index", "dense", "multilabel", "bce":
	default:
		return usagef("--kind %q is not one of index, dense, multilabel, bce", o.kind)
	}
	red, err := xent.ParseReduction(o.reduction)
	if err != nil {
		return usagef("--reduction %q is not one of mean, sum, none", o.reduction)
	}
	if math.IsNaN(o.smoothing) || o.smoothing < 0 || o.smoothing > 1 {
		return usagef("--label-smoothing %v is outside [0, 1]", o.smoothing)
	}
	if o.smoothing != 0 && (o.kind == "multilabel" || o.kind == "bce") {
		return usagef("--label-smoothing applies only to the index and dense kinds, not %s", o.kind)
	}
	if set["ignore-index"] && o.kind != "index" {
		return usagef("--ignore-index applies only to the index kind, not %s", o.kind)
	}
	if o.out == "" || o.logits == "" || o.targets == "" || (set["weights"] && o.weights == "") {
		return usagef("empty file name")
	}

	// Read and check the files; errors from here on are bad input (exit 1).
	lg, err := readNpyFile(o.logits)
	if err != nil {
		return err
	}
	if !lg.Dtype.isFloat() {
		return fmt.Errorf("%s: logits must be float32 or float64, not %s", o.logits, lg.Dtype)
	}
	if len(lg.Shape) < 2 {
		return fmt.Errorf("%s: logits must have shape (N, C) or (N, C, d1..dk), not %s", o.logits, shapeString(lg.Shape))
	}
	if lg.Shape[1] == 0 {
		return fmt.Errorf("%s: logits shape %s has no classes (C = 0)", o.logits, shapeString(lg.Shape))
	}
	posShape := append([]int{lg.Shape[0]}, lg.Shape[2:]...)

	tg, err := readNpyFile(o.targets)
	if err != nil {
		return err
	}
	if o.kind == "index" {
		if tg.Dtype != int64Type && tg.Dtype != int32Type {
			return fmt.Errorf("%s: index targets must be int64 or int32, not %s", o.targets, tg.Dtype)
		}
		if !sameShape(tg.Shape, posShape) {
			return fmt.Errorf("%s: index targets have shape %s; logits %s (%s) need %s: %w",
				o.targets, shapeString(tg.Shape), shapeString(lg.Shape), o.logits, shapeString(posShape), xent.ErrShape)
		}
	} else {
		if !tg.Dtype.isFloat() {
			return fmt.Errorf("%s: %s targets must be float32 or float64, not %s", o.targets, o.kind, tg.Dtype)
		}
		if !sameShape(tg.Shape, lg.Shape) {
			return fmt.Errorf("%s: %s targets have shape %s, not the logits' shape %s (%s): %w",
				o.targets, o.kind, shapeString(tg.Shape), shapeString(lg.Shape), o.logits, xent.ErrShape)
		}
	}
	var wt *npyArray
	if set["weights"] {
		if wt, err = readNpyFile(o.weights); err != nil {
			return err
		}
		if !wt.Dtype.isFloat() {
			return fmt.Errorf("%s: weights must be float32 or float64, not %s", o.weights, wt.Dtype)
		}
		if !sameShape(wt.Shape, lg.Shape[1:2]) {
			return fmt.Errorf("%s: weights have shape %s; the logits' %d classes need (%d,): %w",
				o.weights, shapeString(wt.Shape), lg.Shape[1], lg.Shape[1], xent.ErrShape)
		}
	}

	in := lossInput{flags: o, set: set, red: red, logits: lg, targets: tg, weights: wt, posShape: posShape}
	var out *lossOutput
	if lg.Dtype == float32Type {
		out, err = computeLoss(&in, lg.F32)
	} else {
		out, err = computeLoss(&in, lg.F64)
	}
	if err != nil {
		return o.nameFile(err)
	}
	if err := writeOutputs(o.out, []outFile{
		{"loss.npy", out.lossShape, out.loss},
		{"grad.npy", lg.Shape, out.grad},
	}); err != nil {
		return err
	}
	fmt.Fprintln(stdout, strconv.FormatFloat(out.value, 'g', -1, 64))
	return nil
}

// nameFile prefixes an error of the loss API with the file its operand came
// from.
func (o *lossFlags) nameFile(err error) error {
	var ie *xent.InputError
	if errors.As(err, &ie) {
		switch ie.What {
		case "logits":
			return fmt.Errorf("%s: %w", o.logits, err)
		case "targets":
			return fmt.Errorf("%s: %w", o.targets, err)
		case "weights":
			return fmt.Errorf("%s: %w", o.weights, err)
		}
	}
	return err
}

// lossInput is what computeLoss needs besides the logits.
type lossInput struct {
	flags            *lossFlags
	set              map[string]bool
	red              xent.Reduction
	logits           *npyArray
	targets, weights *npyArray
	posShape         []int
}

// lossOutput is the result of computeLoss.
type lossOutput struct {
	value     float64 // printed
	loss      []float64
	lossShape []int
	grad      any // []float32 or []float64
}

// computeLoss calls the loss of the chosen kind on logits of type T.
func computeLoss[T xent.Float](in *lossInput, logits []T) (*lossOutput, error) {
	o := in.flags
	opts := &xent.Options[T]{
		Reduction:      in.red,
		LabelSmoothing: o.smoothing,
	}
	if in.set["ignore-index"] {
		opts.Ignore = xent.IgnoreIndex(o.ignore)
	}
	if in.weights != nil {
		opts.Weights = toFloat[T](in.weights)
	}
	shape := in.logits.Shape
	grad := make([]T, len(logits))
	var (
		res xent.Result
		err error
	)
	switch o.kind {
	case "index":
		if in.targets.Dtype == int64Type {
			res, err = xent.CrossEntropy(grad, logits, shape, in.targets.I64, opts)
		} else {
			res, err = xent.CrossEntropy(grad, logits, shape, in.targets.I32, opts)
		}
	case "dense":
		res, err = xent.CrossEntropyDense(grad, logits, shape, toFloat[T](in.targets), opts)
	case "multilabel":
		res, err = xent.MultiLabel(grad, logits, shape, toFloat[T](in.targets), opts)
	case "bce":
		res, err = xent.SigmoidCrossEntropy(grad, logits, shape, toFloat[T](in.targets), opts)
	}
	if err != nil {
		return nil, err
	}
	out := &lossOutput{value: res.Loss, grad: grad}
	if in.red == xent.None {
		out.lossShape = in.posShape
		if o.kind == "bce" {
			out.lossShape = shape
		}
		if want := count(out.lossShape); len(res.Losses) != want {
			return nil, fmt.Errorf("internal error: the loss returned %d per-position losses, want %d", len(res.Losses), want)
		}
		out.loss = res.Losses
	} else {
		out.lossShape = []int{}
		out.loss = []float64{res.Loss}
	}
	return out, nil
}

// toFloat returns the float data of a as []T, converting between float32
// and float64 as needed.
func toFloat[T xent.Float](a *npyArray) []T {
	switch a.Dtype {
	case float32Type:
		if v, ok := any(a.F32).([]T); ok {
			return v
		}
		out := make([]T, len(a.F32))
		for i, x := range a.F32 {
			out[i] = T(x)
		}
		return out
	case float64Type:
		if v, ok := any(a.F64).([]T); ok {
			return v
		}
		out := make([]T, len(a.F64))
		for i, x := range a.F64 {
			out[i] = T(x)
		}
		return out
	}
	return nil
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func count(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// outFile is one output of the command.
type outFile struct {
	name  string
	shape []int
	data  any
}

// writeOutputs writes files into dir (created if needed) so that either all
// of them appear complete or none does: each goes to a temporary file in
// dir, all are written, synced and closed, and only then renamed into place.
// On failure the temporary files, and any already renamed, are removed.
func writeOutputs(dir string, files []outFile) (err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	type pending struct {
		f          *os.File
		tmp, final string
		closed     bool
	}
	var ps []*pending
	var renamed []string
	defer func() {
		if err == nil {
			return
		}
		for _, p := range ps {
			if !p.closed {
				p.f.Close()
			}
			os.Remove(p.tmp)
		}
		for _, r := range renamed {
			os.Remove(r)
		}
	}()
	for _, o := range files {
		f, err := os.CreateTemp(dir, "."+o.name+".tmp*")
		if err != nil {
			return err
		}
		p := &pending{f: f, tmp: f.Name(), final: filepath.Join(dir, o.name)}
		ps = append(ps, p)
		bw := bufio.NewWriterSize(f, 1<<16)
		if err := writeNpy(bw, o.shape, o.data); err != nil {
			return fmt.Errorf("writing %s: %w", p.final, err)
		}
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("writing %s: %w", p.final, err)
		}
		if err := f.Chmod(0o644); err != nil && !errors.Is(err, errors.ErrUnsupported) {
			return err
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("syncing %s: %w", p.final, err)
		}
		p.closed = true
		if err := f.Close(); err != nil {
			return fmt.Errorf("closing %s: %w", p.final, err)
		}
	}
	for _, p := range ps {
		if err := os.Rename(p.tmp, p.final); err != nil {
			return err
		}
		renamed = append(renamed, p.final)
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync() // make the renames durable where the system allows it
		d.Close()
	}
	return nil
}
