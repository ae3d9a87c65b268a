package main

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio/npy"
	"github.com/xent-go/xent"
)

// runXent calls run in-process and returns the exit code, stdout and stderr.
func runXent(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// putNpy writes data with shape to dir/name and returns the path.
func putNpy(t testing.TB, dir, name string, shape []int, data any) string {
	t.Helper()
	var b bytes.Buffer
	if err := writeNpy(&b, shape, data); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// putRaw writes a raw file to dir/name.
func putRaw(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// npyBytes returns the encoding of data with shape.
func npyBytes(t testing.TB, shape []int, data any) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := writeNpy(&b, shape, data); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// rawNpy builds an .npy file from a header dictionary and data bytes, with
// a correct length field, for malformed-file tests.
func rawNpy(dict string, data []byte) []byte {
	h := dict + "\n"
	var b bytes.Buffer
	b.WriteString(npyMagic)
	b.Write([]byte{1, 0})
	b.Write(binary.LittleEndian.AppendUint16(nil, uint16(len(h))))
	b.WriteString(h)
	b.Write(data)
	return b.Bytes()
}

// checkFailure asserts the contract for invalid input: the wanted exit
// code, one stderr line starting "xent:" that holds each of want, nothing
// on stdout, and no output files (nor temporary files) in out.
func checkFailure(t *testing.T, code int, stdout, stderr, out string, wantCode int, want ...string) {
	t.Helper()
	if code != wantCode {
		t.Errorf("exit code %d, want %d (stderr %q)", code, wantCode, stderr)
	}
	if !strings.HasPrefix(stderr, "xent:") || !strings.HasSuffix(stderr, "\n") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("stderr is not one line starting with \"xent:\": %q", stderr)
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr %q does not mention %q", stderr, w)
		}
	}
	if stdout != "" {
		t.Errorf("stdout %q, want nothing", stdout)
	}
	if out == "" {
		return
	}
	ents, err := os.ReadDir(out)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if len(ents) > 0 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("files left in the output directory: %v", names)
	}
}

func f32s(v ...float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

var (
	inf  = math.Inf(1)
	ninf = math.Inf(-1)
	nan  = math.NaN()
)

// TestBadInput runs every kind of bad input of SPEC 2.6 through the
// command. Substrings checked after the file names are the texts of the
// xent sentinel errors, so these cases need the loss bodies for the
// value checks.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	// Good files to combine with the bad ones.
	logits := make([]float32, 20)
	for i := range logits {
		logits[i] = float32(i%7) - 3
	}
	L := putNpy(t, dir, "L.npy", []int{4, 5}, logits)
	L64 := putNpy(t, dir, "L64.npy", []int{4, 5}, f64(logits))
	T := putNpy(t, dir, "T.npy", []int{4}, []int64{0, 1, 2, 3})
	D := putNpy(t, dir, "D.npy", []int{4, 5}, oneHot(4, 5, []int{0, 1, 2, 3}))

	withLogit := func(name string, row, class int, v float64) string {
		l := slices.Clone(logits)
		l[row*5+class] = float32(v)
		return putNpy(t, dir, name, []int{4, 5}, l)
	}
	rowNInf := slices.Clone(logits)
	for c := range 5 {
		rowNInf[2*5+c] = float32(ninf)
	}
	LallNInf := putNpy(t, dir, "LallNInf.npy", []int{4, 5}, rowNInf)
	Lmasked := withLogit("Lmasked.npy", 1, 1, ninf) // row 1's target is class 1
	denseWith := func(name string, row, class int, v float64) string {
		d := oneHot(4, 5, []int{0, 1, 2, 3})
		d[row*5+class] = float32(v)
		return putNpy(t, dir, name, []int{4, 5}, d)
	}
	weightsWith := func(name string, class int, v float64) string {
		w := []float32{1, 1, 1, 1, 1}
		w[class] = float32(v)
		return putNpy(t, dir, name, []int{5}, w)
	}
	// Malformed files.
	good := npyBytes(t, []int{4, 5}, logits)
	truncated := putRaw(t, dir, "truncated.npy", good[:len(good)-3])
	truncHeader := putRaw(t, dir, "trunchdr.npy", good[:30])
	lying := putRaw(t, dir, "lying.npy", rawNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (40, 5), }", good[64:]))
	hugeShape := putRaw(t, dir, "huge.npy", rawNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4611686018427387904), }", good[64:]))
	fortran := putRaw(t, dir, "fortran.npy", rawNpy("{'descr': '<f4', 'fortran_order': True, 'shape': (4, 5), }", good[64:]))
	half := putRaw(t, dir, "half.npy", rawNpy("{'descr': '<f2', 'fortran_order': False, 'shape': (4, 5), }", make([]byte, 40)))
	badMagic := putRaw(t, dir, "magic.npy", append([]byte("\x93NUMPX"), good[6:]...))
	empty := putRaw(t, dir, "empty.npy", nil)
	extraKey := putRaw(t, dir, "extra.npy", rawNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (4, 5), 'x': 1}", good[64:]))
	noShape := putRaw(t, dir, "noshape.npy", rawNpy("{'descr': '<f4', 'fortran_order': False}", good[64:]))
	badVersion := putRaw(t, dir, "version.npy", append(append([]byte(npyMagic), 9, 0), good[8:]...))
	trailing := putRaw(t, dir, "trailing.npy", append(slices.Clone(good), 0, 0, 0, 0))
	intLogits := putNpy(t, dir, "intlogits.npy", []int{4, 5}, make([]int64, 20))
	L1d := putNpy(t, dir, "L1d.npy", []int{20}, logits)
	LC0 := putNpy(t, dir, "LC0.npy", []int{4, 0}, []float32{})
	floatIdx := putNpy(t, dir, "floatidx.npy", []int{4}, []float32{0, 1, 2, 3})
	intDense := putNpy(t, dir, "intdense.npy", []int{4, 5}, make([]int64, 20))
	// Overflow: finite logits whose loss is not representable.
	Lover := putNpy(t, dir, "Lover.npy", []int{1, 2}, []float64{1e308, -1e308})
	Tover := putNpy(t, dir, "Tover.npy", []int{1}, []int64{1})

	base := func(kind, l, tg string, extra ...string) []string {
		return append([]string{"loss", "--kind", kind, "--logits", l, "--targets", tg}, extra...)
	}
	cases := []struct {
		name string
		args []string
		code int
		want []string
	}{
		// Usage errors (exit 2).
		{"no command", nil, 2, nil},
		{"unknown command", []string{"frobnicate"}, 2, []string{"frobnicate"}},
		{"unknown flag", base("index", L, T, "--bogus", "1"), 2, []string{"bogus"}},
		{"missing logits", []string{"loss", "--kind", "index", "--targets", T}, 2, []string{"--logits"}},
		{"missing kind", []string{"loss", "--logits", L, "--targets", T}, 2, []string{"--kind"}},
		{"bad kind", base("softmax", L, T), 2, []string{"softmax"}},
		{"bad reduction", base("index", L, T, "--reduction", "avg"), 2, []string{"avg"}},
		{"bad int", base("index", L, T, "--ignore-index", "x"), 2, []string{"ignore-index"}},
		{"positional", append(base("index", L, T), "extra"), 2, []string{"extra"}},
		{"smoothing above 1", base("index", L, T, "--label-smoothing", "1.5"), 2, []string{"label-smoothing"}},
		{"smoothing negative", base("dense", L, D, "--label-smoothing", "-0.1"), 2, []string{"label-smoothing"}},
		{"smoothing NaN", base("index", L, T, "--label-smoothing", "NaN"), 2, []string{"label-smoothing"}},
		{"smoothing multilabel", base("multilabel", L, D, "--label-smoothing", "0.1"), 2, []string{"multilabel"}},
		{"smoothing bce", base("bce", L, D, "--label-smoothing", "0.1"), 2, []string{"bce"}},
		{"ignore-index dense", base("dense", L, D, "--ignore-index", "3"), 2, []string{"ignore-index"}},
		{"ignore-index multilabel", base("multilabel", L, D, "--ignore-index", "-100"), 2, []string{"ignore-index"}},
		{"ignore-index bce", base("bce", L, D, "--ignore-index", "0"), 2, []string{"ignore-index"}},

		// Shapes and dtypes (checked by the command).
		{"index targets too short", base("index", L, putNpy(t, dir, "T3.npy", []int{3}, []int64{0, 1, 2})), 1, []string{"T3.npy", "shape"}},
		{"index targets 2-D", base("index", L, putNpy(t, dir, "T22.npy", []int{2, 2}, []int64{0, 1, 2, 3})), 1, []string{"T22.npy", "(2, 2)"}},
		{"dense targets shape", base("dense", L, putNpy(t, dir, "D44.npy", []int{4, 4}, make([]float32, 16))), 1, []string{"D44.npy", "shape"}},
		{"weights shape", base("index", L, T, "--weights", putNpy(t, dir, "W4.npy", []int{4}, make([]float32, 4))), 1, []string{"W4.npy", "shape"}},
		{"logits 1-D", base("index", L1d, T), 1, []string{"L1d.npy"}},
		{"C = 0", base("index", LC0, T), 1, []string{"LC0.npy", "C = 0"}},
		{"int logits", base("index", intLogits, T), 1, []string{"intlogits.npy", "int64"}},
		{"float index targets", base("index", L, floatIdx), 1, []string{"floatidx.npy", "float32"}},
		{"int dense targets", base("dense", L, intDense), 1, []string{"intdense.npy", "int64"}},
		{"int weights", base("index", L, T, "--weights", putNpy(t, dir, "Wint.npy", []int{5}, make([]int32, 5))), 1, []string{"Wint.npy", "int32"}},

		// Malformed files.
		{"missing file", base("index", filepath.Join(dir, "nope.npy"), T), 1, []string{"nope.npy"}},
		{"truncated data", base("index", truncated, T), 1, []string{"truncated.npy", "truncated"}},
		{"truncated header", base("index", truncHeader, T), 1, []string{"trunchdr.npy", "truncated header"}},
		{"lying header", base("index", lying, T), 1, []string{"lying.npy", "(40, 5)"}},
		{"huge shape", base("index", hugeShape, T), 1, []string{"huge.npy", "overflow"}},
		{"fortran order", base("index", fortran, T), 1, []string{"fortran.npy", "Fortran"}},
		{"float16", base("index", half, T), 1, []string{"half.npy", "<f2"}},
		{"bad magic", base("index", badMagic, T), 1, []string{"magic.npy", "magic"}},
		{"empty file", base("index", empty, T), 1, []string{"empty.npy"}},
		{"extra key", base("index", extraKey, T), 1, []string{"extra.npy", "'x'"}},
		{"missing key", base("index", noShape, T), 1, []string{"noshape.npy", "shape"}},
		{"bad version", base("index", badVersion, T), 1, []string{"version.npy", "version"}},
		{"trailing bytes", base("index", trailing, T), 1, []string{"trailing.npy"}},
		{"malformed targets", base("index", L, truncated), 1, []string{"truncated.npy"}},
		{"malformed weights", base("index", L, T, "--weights", fortran), 1, []string{"fortran.npy"}},

		// Values (checked by the loss API).
		{"target out of range", base("index", L, putNpy(t, dir, "T5.npy", []int{4}, []int64{0, 1, 5, 3})), 1, []string{"T5.npy", "invalid target"}},
		{"target negative", base("index", L, putNpy(t, dir, "Tneg.npy", []int{4}, []int32{0, -1, 2, 3})), 1, []string{"Tneg.npy", "invalid target"}},
		{"target is a changed ignore index", base("index", L, putNpy(t, dir, "T100.npy", []int{4}, []int64{0, -100, 2, 3}), "--ignore-index", "-1"), 1, []string{"invalid target"}},
		{"NaN logit", base("index", withLogit("Lnan.npy", 2, 3, nan), T), 1, []string{"Lnan.npy", "invalid logit"}},
		{"+Inf logit", base("dense", withLogit("Linf.npy", 0, 4, inf), D), 1, []string{"Linf.npy", "invalid logit"}},
		{"+Inf logit bce", base("bce", withLogit("Linf2.npy", 0, 4, inf), D), 1, []string{"Linf2.npy", "invalid logit"}},
		{"all -Inf row", base("index", LallNInf, T), 1, []string{"LallNInf.npy", "invalid logit"}},
		{"all -Inf row multilabel", base("multilabel", LallNInf, D), 1, []string{"invalid logit"}},
		{"target on masked class", base("index", Lmasked, T), 1, []string{"masked"}},
		{"dense target on masked class", base("dense", Lmasked, D), 1, []string{"masked"}},
		{"bce target on masked class", base("bce", Lmasked, D), 1, []string{"masked"}},
		{"negative dense target", base("dense", L, denseWith("Dneg.npy", 1, 2, -0.5)), 1, []string{"Dneg.npy", "invalid target"}},
		{"NaN dense target", base("dense", L, denseWith("Dnan.npy", 3, 0, nan)), 1, []string{"Dnan.npy", "invalid target"}},
		{"Inf multilabel target", base("multilabel", L, denseWith("Dinf.npy", 0, 0, inf)), 1, []string{"Dinf.npy", "invalid target"}},
		{"negative bce target", base("bce", L, denseWith("Dneg2.npy", 0, 1, -1)), 1, []string{"invalid target"}},
		{"negative weight", base("index", L, T, "--weights", weightsWith("Wneg.npy", 2, -1)), 1, []string{"Wneg.npy", "invalid weight"}},
		{"NaN weight", base("dense", L, D, "--weights", weightsWith("Wnan.npy", 0, nan)), 1, []string{"Wnan.npy", "invalid weight"}},
		{"Inf weight", base("multilabel", L, D, "--weights", weightsWith("Winf.npy", 4, inf)), 1, []string{"Winf.npy", "invalid weight"}},
		{"weight overflows float32", base("index", L, T, "--weights", putNpy(t, dir, "Wbig.npy", []int{5}, []float64{1, 1e300, 1, 1, 1})), 1, []string{"invalid weight"}},
		{"float64 logits NaN", base("index", func() string {
			l := f64(logits)
			l[7] = nan
			return putNpy(t, dir, "L64nan.npy", []int{4, 5}, l)
		}(), T), 1, []string{"L64nan.npy", "invalid logit"}},
		{"loss overflows", base("index", Lover, Tover, "--reduction", "sum"), 1, []string{"overflow"}},
		{"float64 logits, bad target", base("index", L64, putNpy(t, dir, "T9.npy", []int{4}, []int64{9, 0, 0, 0})), 1, []string{"invalid target"}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, "out"+strconv.Itoa(i))
			args := tc.args
			if len(args) > 0 && args[0] == "loss" {
				args = append(slices.Clone(args), "--out", out)
			}
			code, stdout, stderr := runXent(args...)
			checkFailure(t, code, stdout, stderr, out, tc.code, tc.want...)
			if _, err := os.Stat(out); err == nil {
				t.Errorf("output directory %s was created", out)
			}
		})
	}
}

// TestBadInputKeepsOldOutputs checks that a failing run leaves the outputs
// of an earlier run as they were and adds nothing.
func TestBadInputKeepsOldOutputs(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	os.Mkdir(out, 0o755)
	putRaw(t, out, "loss.npy", []byte("old loss"))
	putRaw(t, out, "grad.npy", []byte("old grad"))
	L := putNpy(t, dir, "L.npy", []int{2, 3}, f32s(1, 2, 3, nan, 0, 0))
	T := putNpy(t, dir, "T.npy", []int{2}, []int64{0, 1})
	code, _, stderr := runXent("loss", "--kind", "index", "--logits", L, "--targets", T, "--out", out)
	if code != 1 || !strings.HasPrefix(stderr, "xent:") {
		t.Fatalf("code %d, stderr %q", code, stderr)
	}
	for name, want := range map[string]string{"loss.npy": "old loss", "grad.npy": "old grad"} {
		b, _ := os.ReadFile(filepath.Join(out, name))
		if string(b) != want {
			t.Errorf("%s = %q, want %q", name, b, want)
		}
	}
	if ents, _ := os.ReadDir(out); len(ents) != 2 {
		t.Errorf("%d files in the output directory, want 2", len(ents))
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{
		{"help"}, {"--help"}, {"-h"}, {"help", "loss"}, {"loss", "--help"}, {"loss", "-h"},
		{"loss", "--kind", "index", "-help"},
	} {
		code, stdout, stderr := runXent(args...)
		if code != 0 || stderr != "" || !strings.Contains(stdout, "xent") {
			t.Errorf("%v: code %d, stderr %q, stdout %q", args, code, stderr, stdout)
		}
		if args[len(args)-1] != "help" && args[0] != "-h" && args[0] != "--help" && !strings.Contains(stdout, "--logits") {
			t.Errorf("%v: help does not list the flags: %q", args, stdout)
		}
	}
	code, _, stderr := runXent("help", "nosuch")
	if code != 2 || !strings.HasPrefix(stderr, "xent:") {
		t.Errorf("help nosuch: code %d, stderr %q", code, stderr)
	}
}

// ---- success cases: the command against direct API calls

func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func oneHot(n, c int, y []int) []float32 {
	out := make([]float32, n*c)
	for i, k := range y {
		out[i*c+k] = 1
	}
	return out
}

// readOut reads an output file with our reader and with npyio, and checks
// that they agree on the header.
func readOut(t *testing.T, path string) *npyArray {
	t.Helper()
	a, err := readNpyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := npy.NewReader(f)
	if err != nil {
		t.Fatalf("npyio cannot read %s: %v", path, err)
	}
	if r.Header.Descr.Fortran || !slices.Equal(r.Header.Descr.Shape, a.Shape) && !(len(a.Shape) == 0 && r.Header.Descr.Shape == nil) {
		t.Errorf("npyio reads %s as shape %v fortran %v, we read %v", path, r.Header.Descr.Shape, r.Header.Descr.Fortran, a.Shape)
	}
	switch a.Dtype {
	case float64Type:
		var v []float64
		if len(a.Shape) == 0 {
			var x float64
			err = r.Read(&x)
			v = []float64{x}
		} else {
			err = r.Read(&v)
		}
		if err != nil || !slices.Equal(v, a.F64) {
			t.Errorf("npyio reads %s as %v (%v), we read %v", path, v, err, a.F64)
		}
	case float32Type:
		var v []float32
		err = r.Read(&v)
		if err != nil || !slices.Equal(v, a.F32) {
			t.Errorf("npyio reads %s as %v (%v), we read %v", path, v, err, a.F32)
		}
	}
	return a
}

type apiCase[T xent.Float] struct {
	kind      string
	shape     []int
	logits    []T
	idx       []int64
	dense     []T
	weights   []T
	smoothing float64
	ignore    *int
	red       xent.Reduction
}

// direct calls the API as the command should.
func (c apiCase[T]) direct() (xent.Result, []T, error) {
	opts := &xent.Options[T]{Reduction: c.red, Weights: c.weights, LabelSmoothing: c.smoothing}
	if c.ignore != nil {
		opts.Ignore = xent.IgnoreIndex(*c.ignore)
	}
	grad := make([]T, len(c.logits))
	var res xent.Result
	var err error
	switch c.kind {
	case "index":
		res, err = xent.CrossEntropy(grad, slices.Clone(c.logits), c.shape, c.idx, opts)
	case "dense":
		res, err = xent.CrossEntropyDense(grad, slices.Clone(c.logits), c.shape, c.dense, opts)
	case "multilabel":
		res, err = xent.MultiLabel(grad, slices.Clone(c.logits), c.shape, c.dense, opts)
	case "bce":
		res, err = xent.SigmoidCrossEntropy(grad, slices.Clone(c.logits), c.shape, c.dense, opts)
	}
	return res, grad, err
}

func randCase[T xent.Float](rng *rand.Rand, kind string, shape []int, red xent.Reduction) apiCase[T] {
	c := apiCase[T]{kind: kind, shape: shape, red: red}
	n := count(shape)
	C := shape[1]
	P := n / C
	inner := P / shape[0]
	c.logits = make([]T, n)
	for i := range c.logits {
		c.logits[i] = T(rng.NormFloat64() * 3)
	}
	switch kind {
	case "index":
		c.idx = make([]int64, P)
		for i := range c.idx {
			c.idx[i] = int64(rng.IntN(C))
		}
		c.idx[0] = xent.DefaultIgnoreIndex
	default:
		c.dense = make([]T, n)
		for p := range P {
			nn, j := p/inner, p%inner
			for k := range C {
				if rng.IntN(3) == 0 {
					c.dense[(nn*C+k)*inner+j] = T(rng.Float64())
				}
			}
		}
	}
	return c
}

// lossShape is the shape of loss.npy the command should write.
func (c apiCase[T]) lossShape() []int {
	if c.red != xent.None {
		return []int{}
	}
	if c.kind == "bce" {
		return c.shape
	}
	return append([]int{c.shape[0]}, c.shape[2:]...)
}

func runCase[T xent.Float](t *testing.T, c apiCase[T], targetsAs64 bool) {
	t.Helper()
	dir := t.TempDir()
	args := []string{"loss", "--kind", c.kind, "--reduction", c.red.String(),
		"--logits", putNpy(t, dir, "L.npy", c.shape, c.logits)}
	if c.kind == "index" {
		if targetsAs64 {
			args = append(args, "--targets", putNpy(t, dir, "T.npy", c.lossShapeIdx(), c.idx))
		} else {
			i32 := make([]int32, len(c.idx))
			for i, v := range c.idx {
				i32[i] = int32(v)
			}
			args = append(args, "--targets", putNpy(t, dir, "T.npy", c.lossShapeIdx(), i32))
		}
	} else {
		args = append(args, "--targets", putNpy(t, dir, "T.npy", c.shape, otherFloat(c.dense, targetsAs64)))
	}
	if c.weights != nil {
		args = append(args, "--weights", putNpy(t, dir, "W.npy", []int{c.shape[1]}, otherFloat(c.weights, targetsAs64)))
	}
	if c.smoothing != 0 {
		args = append(args, "--label-smoothing", strconv.FormatFloat(c.smoothing, 'g', -1, 64))
	}
	if c.ignore != nil {
		args = append(args, "--ignore-index", strconv.Itoa(*c.ignore))
	}
	out := filepath.Join(dir, "new", "out")
	args = append(args, "--out", out)

	res, grad, err := c.direct()
	if err != nil {
		t.Fatalf("direct API call: %v", err)
	}
	code, stdout, stderr := runXent(args...)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if stderr != "" {
		t.Errorf("stderr %q", stderr)
	}
	if want := strconv.FormatFloat(res.Loss, 'g', -1, 64) + "\n"; stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
	la := readOut(t, filepath.Join(out, "loss.npy"))
	if la.Dtype != float64Type || !slices.Equal(la.Shape, c.lossShape()) {
		t.Errorf("loss.npy: %s %s, want float64 %s", la.Dtype, shapeString(la.Shape), shapeString(c.lossShape()))
	}
	wantLoss := []float64{res.Loss}
	if c.red == xent.None {
		wantLoss = res.Losses
	}
	if !slices.Equal(la.F64, wantLoss) {
		t.Errorf("loss.npy = %v, want %v", la.F64, wantLoss)
	}
	ga := readOut(t, filepath.Join(out, "grad.npy"))
	if !slices.Equal(ga.Shape, c.shape) {
		t.Errorf("grad.npy shape %s, want %s", shapeString(ga.Shape), shapeString(c.shape))
	}
	switch g := any(grad).(type) {
	case []float32:
		if ga.Dtype != float32Type || !slices.Equal(ga.F32, g) {
			t.Errorf("grad.npy %s %v, want float32 %v", ga.Dtype, ga.F32, g)
		}
	case []float64:
		if ga.Dtype != float64Type || !slices.Equal(ga.F64, g) {
			t.Errorf("grad.npy %s %v, want float64 %v", ga.Dtype, ga.F64, g)
		}
	}
	ents, _ := os.ReadDir(out)
	if len(ents) != 2 {
		t.Errorf("%d entries in the output directory, want 2", len(ents))
	}
}

func (c apiCase[T]) lossShapeIdx() []int { return append([]int{c.shape[0]}, c.shape[2:]...) }

// otherFloat returns v as the other float type when other is set, so the
// command's conversion is exercised; the values of the test are exactly
// representable after a float32 round trip only for float32 T, so for
// float64 T it converts to float32 and back in the direct call too.
func otherFloat[T xent.Float](v []T, other bool) any {
	if !other {
		return v
	}
	switch v := any(v).(type) {
	case []float32:
		return f64(v)
	case []float64:
		out := make([]float32, len(v))
		for i, x := range v {
			out[i] = float32(x)
		}
		for i := range v { // keep the direct call in step
			v[i] = float64(out[i])
		}
		return out
	}
	return nil
}

func TestLossMatchesAPI(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	shapes := [][]int{{4, 5}, {3, 4, 2}, {2, 3, 2, 2}, {1, 1}}
	for _, kind := range []string{"index", "dense", "multilabel", "bce"} {
		for _, red := range []xent.Reduction{xent.Mean, xent.Sum, xent.None} {
			for si, shape := range shapes {
				name := kind + "/" + red.String() + "/" + shapeString(shape)
				t.Run(name+"/float32", func(t *testing.T) {
					c := randCase[float32](rng, kind, shape, red)
					if si == 0 {
						c.weights = []float32{1, 0.5, 2, 0, 1.5}
					}
					if si == 1 && (kind == "index" || kind == "dense") {
						c.smoothing = 0.1
					}
					runCase(t, c, si%2 == 0)
				})
				t.Run(name+"/float64", func(t *testing.T) {
					c := randCase[float64](rng, kind, shape, red)
					if si == 2 {
						c.weights = []float64{0.25, 1, 3}
					}
					if si == 0 && kind == "index" {
						ig := 2
						c.ignore = &ig
						c.idx[0] = int64(ig) // -100 is an ordinary (bad) target now
					}
					runCase(t, c, si%2 == 1)
				})
			}
		}
	}
}

// TestBigEndianInput checks that big-endian files are read.
func TestBigEndianInput(t *testing.T) {
	dir := t.TempDir()
	vals := []float32{1, -2, 0.5, 3, 0, 1}
	var data bytes.Buffer
	for _, v := range vals {
		binary.Write(&data, binary.BigEndian, v)
	}
	p := putRaw(t, dir, "be.npy", rawNpy("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", data.Bytes()))
	a, err := readNpyFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if a.Dtype != float32Type || !slices.Equal(a.F32, vals) || !slices.Equal(a.Shape, []int{2, 3}) {
		t.Errorf("got %s %v %v", a.Dtype, a.Shape, a.F32)
	}
}

// TestReadNpyio checks that files written by npyio are read.
func TestReadNpyio(t *testing.T) {
	dir := t.TempDir()
	for _, v := range []any{[]float32{1, 2, 3}, []float64{4, 5}, []int32{-1, 7}, []int64{1 << 40}} {
		var b bytes.Buffer
		if err := npy.Write(&b, v); err != nil {
			t.Fatal(err)
		}
		p := putRaw(t, dir, "x.npy", b.Bytes())
		a, err := readNpyFile(p)
		if err != nil {
			t.Fatalf("%T: %v", v, err)
		}
		got := a.Data()
		if !bytes.Equal(npyBytes(t, a.Shape, got), npyBytes(t, a.Shape, v)) {
			t.Errorf("%T: read %v", v, got)
		}
	}
}

// TestExampleRuns runs the README's example.
func TestExampleRuns(t *testing.T) {
	out := t.TempDir()
	code, stdout, stderr := runXent("loss", "--logits", "../../testdata/example/logits.npy",
		"--targets", "../../testdata/example/targets.npy", "--kind", "index", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(stdout), 64)
	if err != nil || !(v > 0) {
		t.Errorf("stdout %q", stdout)
	}
}
