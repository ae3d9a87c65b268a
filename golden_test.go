package xent

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// The golden vectors in testdata/golden are written by gen.py beside them:
// PyTorch (torch.nn.functional.cross_entropy and
// binary_cross_entropy_with_logits, and torchvision's sigmoid_focal_loss
// written in torch ops with autograd gradients) where PyTorch implements the rule of
// SPEC section 2, and a float64 NumPy reference where it does not (means with
// a zero denominator, masked classes, ignored or skipped positions holding
// NaN or −Inf). Regenerate with: /usr/bin/python3 testdata/golden/gen.py

var goldenFiles = []string{"index.json", "dense.json", "multilabel.json", "bce.json", "masked.json", "focal.json"}

// goldenFloat is a JSON number, or one of the strings "nan", "inf", "-inf".
type goldenFloat float64

func (f *goldenFloat) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		switch s {
		case "nan":
			*f = goldenFloat(math.NaN())
		case "inf":
			*f = goldenFloat(math.Inf(1))
		case "-inf":
			*f = goldenFloat(math.Inf(-1))
		default:
			return fmt.Errorf("bad float string %q", s)
		}
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return err
	}
	*f = goldenFloat(v)
	return nil
}

type goldenCase struct {
	Name           string        `json:"name"`
	Kind           string        `json:"kind"`
	DType          string        `json:"dtype"`
	Shape          []int         `json:"shape"`
	Logits         []goldenFloat `json:"logits"`
	Targets        []goldenFloat `json:"targets"`
	Weights        []goldenFloat `json:"weights"`
	IgnoreIndex    int           `json:"ignore_index"`
	LabelSmoothing float64       `json:"label_smoothing"`
	Reduction      string        `json:"reduction"`
	Upstream       []goldenFloat `json:"upstream"`
	Loss           []goldenFloat `json:"loss"`
	Grad           []goldenFloat `json:"grad"`
	Source         string        `json:"source"`
	FocalGamma     float64       `json:"focal_gamma"`
	FocalAlpha     *float64      `json:"focal_alpha"` // null: no α
}

// focal returns the focal loss parameters of a "focal" case.
func (c *goldenCase) focal() Focal {
	f := Focal{Gamma: c.FocalGamma}
	if c.FocalAlpha != nil {
		f = f.WithAlpha(*c.FocalAlpha)
	}
	return f
}

type goldenFile struct {
	Cases []goldenCase `json:"cases"`
}

// loadGolden reads and checks one file of golden cases.
func loadGolden(t *testing.T, name string) []goldenCase {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "golden", name))
	if err != nil {
		t.Fatal(err)
	}
	var f goldenFile
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(f.Cases) == 0 {
		t.Fatalf("%s: no cases", name)
	}
	seen := map[string]bool{}
	for i := range f.Cases {
		if err := f.Cases[i].check(); err != nil {
			t.Fatalf("%s: case %d (%s): %v", name, i, f.Cases[i].Name, err)
		}
		if seen[f.Cases[i].Name] {
			t.Fatalf("%s: duplicate case %s", name, f.Cases[i].Name)
		}
		seen[f.Cases[i].Name] = true
	}
	return f.Cases
}

// check validates the lengths of a case against its shape.
func (c *goldenCase) check() error {
	if len(c.Shape) < 2 {
		return fmt.Errorf("shape %v", c.Shape)
	}
	n := 1
	for _, d := range c.Shape {
		n *= d
	}
	classes := c.Shape[1]
	positions := n / classes
	losses := positions
	switch c.Kind {
	case "index":
		if len(c.Targets) != positions {
			return fmt.Errorf("%d targets for %d positions", len(c.Targets), positions)
		}
		for _, v := range c.Targets {
			if float64(v) != math.Trunc(float64(v)) {
				return fmt.Errorf("index target %v is not an integer", v)
			}
		}
	case "dense", "multilabel", "bce", "focal":
		if len(c.Targets) != n {
			return fmt.Errorf("%d targets for %d logits", len(c.Targets), n)
		}
		if c.Kind == "bce" || c.Kind == "focal" {
			losses = n
		}
	default:
		return fmt.Errorf("unknown kind %q", c.Kind)
	}
	if c.DType != "float32" && c.DType != "float64" {
		return fmt.Errorf("unknown dtype %q", c.DType)
	}
	if len(c.Logits) != n || len(c.Grad) != n {
		return fmt.Errorf("%d logits, %d grads for shape %v", len(c.Logits), len(c.Grad), c.Shape)
	}
	if c.Weights != nil && len(c.Weights) != classes {
		return fmt.Errorf("%d weights for %d classes", len(c.Weights), classes)
	}
	want := 1
	if c.Reduction == "none" {
		want = losses
		if len(c.Upstream) != losses {
			return fmt.Errorf("%d upstream values for %d losses", len(c.Upstream), losses)
		}
	} else if c.Upstream != nil {
		return fmt.Errorf("upstream with reduction %s", c.Reduction)
	}
	if len(c.Loss) != want {
		return fmt.Errorf("%d loss values, want %d", len(c.Loss), want)
	}
	if _, err := ParseReduction(c.Reduction); err != nil {
		return err
	}
	return nil
}

func toFloats[T Float](v []goldenFloat) []T {
	if v == nil {
		return nil
	}
	out := make([]T, len(v))
	for i, x := range v {
		out[i] = T(x)
	}
	return out
}

// goldenTol is |got−want| ≤ atol + rtol·|want|.
type goldenTol struct{ rtol, atol float64 }

func (tol goldenTol) close(got, want float64) bool {
	return math.Abs(got-want) <= tol.atol+tol.rtol*math.Abs(want)
}

func goldenTols(dtype string) (loss, grad goldenTol) {
	if dtype == "float32" {
		return goldenTol{2e-5, 1e-6}, goldenTol{1e-4, 2e-6}
	}
	return goldenTol{1e-9, 1e-12}, goldenTol{1e-9, 1e-12}
}

// runGolden runs one case through the API. With inPlace, the gradient is
// written over a copy of the logits.
func runGolden[T Float](t *testing.T, c *goldenCase, inPlace bool) {
	red, err := ParseReduction(c.Reduction)
	if err != nil {
		t.Fatal(err)
	}
	opts := &Options[T]{
		Reduction:      red,
		Weights:        toFloats[T](c.Weights),
		LabelSmoothing: c.LabelSmoothing,
		Upstream:       toFloats[T](c.Upstream),
	}
	if c.IgnoreIndex != DefaultIgnoreIndex {
		opts.Ignore = IgnoreIndex(c.IgnoreIndex)
	}
	logits := toFloats[T](c.Logits)
	var grad []T
	if inPlace {
		grad = logits
	} else {
		grad = make([]T, len(logits))
		for i := range grad {
			grad[i] = T(math.NaN()) // every element must be written
		}
	}

	res, err := goldenCall(c, grad, logits, opts)
	if err != nil {
		t.Fatalf("%s (source %s): %v", c.Kind, c.Source, err)
	}
	checkGolden(t, c, res, grad)
}

// goldenCall runs the API entry point of the case's kind.
func goldenCall[T Float](c *goldenCase, grad, logits []T, opts *Options[T]) (Result, error) {
	switch c.Kind {
	case "index":
		targets := make([]int64, len(c.Targets))
		for i, v := range c.Targets {
			targets[i] = int64(v)
		}
		return CrossEntropy(grad, logits, c.Shape, targets, opts)
	case "dense":
		return CrossEntropyDense(grad, logits, c.Shape, toFloats[T](c.Targets), opts)
	case "multilabel":
		return MultiLabel(grad, logits, c.Shape, toFloats[T](c.Targets), opts)
	case "bce":
		return SigmoidCrossEntropy(grad, logits, c.Shape, toFloats[T](c.Targets), opts)
	case "focal":
		return SigmoidFocal(grad, logits, c.Shape, toFloats[T](c.Targets), c.focal(), opts)
	}
	return Result{}, fmt.Errorf("unknown kind %q", c.Kind)
}

// checkGolden compares a result and gradient with the case's expectations.
func checkGolden[T Float](t *testing.T, c *goldenCase, res Result, grad []T) {
	t.Helper()
	red, _ := ParseReduction(c.Reduction)
	lossTol, gradTol := goldenTols(c.DType)
	if red == None {
		if len(res.Losses) != len(c.Loss) {
			t.Fatalf("len(Losses) = %d, want %d", len(res.Losses), len(c.Loss))
		}
		bad := 0
		var sum, abs float64
		for i, w := range c.Loss {
			sum += float64(w)
			abs += math.Abs(float64(w))
			if !lossTol.close(res.Losses[i], float64(w)) {
				if bad++; bad <= 5 {
					t.Errorf("Losses[%d] = %v, want %v", i, res.Losses[i], float64(w))
				}
			}
		}
		if bad > 5 {
			t.Errorf("... %d losses differ in all", bad)
		}
		// Result.Loss is the sum of the per-position losses.
		if math.Abs(res.Loss-sum) > lossTol.atol*float64(len(c.Loss))+lossTol.rtol*abs {
			t.Errorf("Loss = %v, want the sum of the losses %v", res.Loss, sum)
		}
	} else {
		if res.Losses != nil {
			t.Errorf("Losses = %d values with reduction %s, want nil", len(res.Losses), red)
		}
		if w := float64(c.Loss[0]); !lossTol.close(res.Loss, w) {
			t.Errorf("Loss = %v, want %v (diff %.3g)", res.Loss, w, res.Loss-w)
		}
	}

	bad := 0
	for i, w := range c.Grad {
		g := float64(grad[i])
		if !gradTol.close(g, float64(w)) { // NaN is never close
			if bad++; bad <= 5 {
				t.Errorf("grad[%d] = %v, want %v", i, g, float64(w))
			}
		}
	}
	if bad > 5 {
		t.Errorf("... %d gradient values differ in all", bad)
	}

	// The counters that do not depend on the loss kind's conventions.
	switch c.Kind {
	case "index":
		ignored := 0
		for _, v := range c.Targets {
			if int(v) == c.IgnoreIndex {
				ignored++
			}
		}
		if res.Ignored != ignored {
			t.Errorf("Ignored = %d, want %d", res.Ignored, ignored)
		}
	case "multilabel":
		skipped := 0
		classes := c.Shape[1]
		inner := len(c.Logits) / (c.Shape[0] * classes)
		for n := 0; n < c.Shape[0]; n++ {
			for j := 0; j < inner; j++ {
				labels := 0
				for k := 0; k < classes; k++ {
					if c.Targets[(n*classes+k)*inner+j] != 0 {
						labels++
					}
				}
				if labels == 0 {
					skipped++
				}
			}
		}
		if res.Skipped != skipped {
			t.Errorf("Skipped = %d, want %d", res.Skipped, skipped)
		}
	}
}

func TestGolden(t *testing.T) {
	for _, file := range goldenFiles {
		cases := loadGolden(t, file)
		for i := range cases {
			c := &cases[i]
			t.Run(file[:len(file)-len(".json")]+"/"+c.Name, func(t *testing.T) {
				for _, inPlace := range []bool{false, true} {
					if c.DType == "float32" {
						runGoldenNamed[float32](t, c, inPlace)
					} else {
						runGoldenNamed[float64](t, c, inPlace)
					}
				}
			})
		}
	}
}

func runGoldenNamed[T Float](t *testing.T, c *goldenCase, inPlace bool) {
	name := "separate"
	if inPlace {
		name = "inplace"
	}
	t.Run(name, func(t *testing.T) { runGolden[T](t, c, inPlace) })
}
