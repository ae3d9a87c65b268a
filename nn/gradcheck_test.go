package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/xent-go/xent"
)

// The layers compute in float32. The gradient checks below are made
// robust to that rather than loose:
//
//   - The objective is f(x, θ) = Σ r·y for a fixed random r, summed in
//     float64, so Backward is checked for an arbitrary upstream gradient.
//   - Conv2D and Dense are linear in x and in θ, and ReLU, MaxPool2D and
//     Dropout (with a fixed mask) are piecewise linear; the inputs are drawn
//     so that no ±ε step crosses a kink (|x| ≥ 0.1 for ReLU, window values
//     at least 0.05 apart for pooling). A central difference is then exact
//     in exact arithmetic, and the only error is float32 rounding of y,
//     about 1e-7·|f|/ε.
//   - ε = 1e-2 and the test wants |analytic − numeric| ≤ 1e-3 + 1e-3·|numeric|,
//     far tighter than Caffe's (1e-2, 1e-2), yet well above the rounding.
//
// The whole-network check (TestNetGradient) goes through the softmax, which
// is curved; it uses ε = 1e-3 and a looser tolerance.

type gradCase struct {
	name  string
	layer Layer
	in    []int
	fillX func(r *rand.Rand, x []float32)
	ctx   Context
}

func normalFill(r *rand.Rand, x []float32) {
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
}

// awayFromZero fills x with values whose magnitude is at least 0.1.
func awayFromZero(r *rand.Rand, x []float32) {
	for i := range x {
		v := 0.1 + r.Float64()
		if r.IntN(2) == 0 {
			v = -v
		}
		x[i] = float32(v)
	}
}

// distinct fills x with a random permutation of values 0.05 apart, so that
// every pooling window has a clear maximum.
func distinct(r *rand.Rand, x []float32) {
	for i, p := range r.Perm(len(x)) {
		x[i] = float32(p)*0.05 - float32(len(x))*0.025
	}
}

func gradCases() []gradCase {
	return []gradCase{
		{"conv/s1p2", NewConv2D(2, 3, 5, 1, 2), []int{2, 2, 7, 6}, normalFill, Context{}},
		{"conv/s1p0", NewConv2D(3, 2, 3, 1, 0), []int{3, 3, 6, 5}, normalFill, Context{}},
		{"conv/s2p1", NewConv2D(2, 4, 3, 2, 1), []int{2, 2, 7, 8}, normalFill, Context{}},
		{"conv/k1", NewConv2D(3, 2, 1, 1, 0), []int{2, 3, 4, 4}, normalFill, Context{}},
		{"dense", NewDense(7, 5), []int{3, 7}, normalFill, Context{}},
		{"relu", NewReLU(), []int{2, 3, 4, 5}, awayFromZero, Context{}},
		{"maxpool/k2s2", NewMaxPool2D(2, 2), []int{2, 3, 6, 7}, distinct, Context{}},
		{"maxpool/k3s2", NewMaxPool2D(3, 2), []int{2, 2, 7, 7}, distinct, Context{}},
		{"flatten", NewFlatten(), []int{2, 3, 2, 2}, normalFill, Context{}},
		{"dropout/train", NewDropout(0.4), []int{3, 2, 3, 3}, normalFill, Context{Train: true, Seed: 77, Offset: 5}},
		{"dropout/eval", NewDropout(0.4), []int{3, 10}, normalFill, Context{Seed: 77}},
	}
}

func TestLayerGradients(t *testing.T) {
	for _, tc := range gradCases() {
		t.Run(tc.name, func(t *testing.T) {
			checkLayerGradient(t, tc)
		})
	}
}

func checkLayerGradient(t *testing.T, tc gradCase) {
	r := rand.New(rand.NewPCG(1701, uint64(len(tc.name))))
	l := tc.layer
	out, err := l.Reshape(tc.in)
	if err != nil {
		t.Fatal(err)
	}
	// parameters: own flat buffers
	total := 0
	for _, p := range l.Params() {
		total += p.Size()
	}
	params, pgrads := make([]float32, total), make([]float32, total)
	plist := bind([]Layer{l}, params, pgrads)
	normalFill(r, params)

	var x, y Tensor
	x.resize(tc.in, true)
	y.resize(out, true)
	tc.fillX(r, x.Data)
	upstream := make([]float64, y.Len())
	for i := range upstream {
		upstream[i] = r.NormFloat64()
	}
	ctx := tc.ctx
	f := func() float64 {
		l.Forward(&x, &y, &ctx)
		var s float64
		for i, v := range y.Data {
			s += upstream[i] * float64(v)
		}
		return s
	}
	f()
	for i := range y.Grad {
		y.Grad[i] = float32(upstream[i])
	}
	// poison x.Grad: Backward must overwrite it
	for i := range x.Grad {
		x.Grad[i] = float32(math.NaN())
	}
	l.Backward(&x, &y, &ctx)
	// Backward adds into the parameter gradients: run it twice from a
	// non-zero start and compare the difference.
	base := append([]float32(nil), pgrads...)
	l.Backward(&x, &y, &ctx)
	for i := range pgrads {
		pgrads[i] -= base[i]
	}

	const eps = 1e-2
	check := func(what string, vals, analytic []float32) {
		t.Helper()
		bad := 0
		for i := range vals {
			old := vals[i]
			vals[i] = old + eps
			fp := f()
			vals[i] = old - eps
			fm := f()
			vals[i] = old
			num := (fp - fm) / (2 * eps)
			a := float64(analytic[i])
			if math.IsNaN(a) || math.Abs(a-num) > 1e-3+1e-3*math.Abs(num) {
				if bad < 5 {
					t.Errorf("%s[%d]: analytic %.6g, numeric %.6g", what, i, a, num)
				}
				bad++
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d of %d gradients wrong", what, bad, len(vals))
		}
	}
	check("x", x.Data, x.Grad)
	for _, p := range plist {
		check(p.Name, p.Data, p.Grad)
	}
}

// TestConvMatchesDirect compares im2col+GEMM with a direct six-loop
// convolution, over strides, paddings and odd sizes.
func TestConvMatchesDirect(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct{ n, inC, outC, h, w, k, s, p int }{
		{2, 1, 4, 28, 28, 5, 1, 2},
		{1, 3, 2, 9, 7, 3, 1, 1},
		{2, 2, 3, 8, 9, 3, 2, 0},
		{1, 2, 2, 7, 7, 3, 2, 2},
		{1, 1, 1, 5, 5, 5, 1, 0},
		{3, 4, 5, 6, 6, 1, 1, 0},
		{1, 2, 3, 4, 4, 3, 3, 1},
	} {
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			conv := NewConv2D(c.inC, c.outC, c.k, c.s, c.p)
			out, err := conv.Reshape([]int{c.n, c.inC, c.h, c.w})
			if err != nil {
				t.Fatal(err)
			}
			params := make([]float32, conv.weight.Size()+conv.bias.Size())
			bind([]Layer{conv}, params, make([]float32, len(params)))
			normalFill(r, params)
			var x, y Tensor
			x.resize([]int{c.n, c.inC, c.h, c.w}, false)
			y.resize(out, false)
			normalFill(r, x.Data)
			conv.Forward(&x, &y, nil)
			oh, ow := out[2], out[3]
			W := conv.weight.Data
			for n := 0; n < c.n; n++ {
				for f := 0; f < c.outC; f++ {
					for oy := 0; oy < oh; oy++ {
						for ox := 0; ox < ow; ox++ {
							s := float64(conv.bias.Data[f])
							for ch := 0; ch < c.inC; ch++ {
								for ki := 0; ki < c.k; ki++ {
									for kj := 0; kj < c.k; kj++ {
										iy, ix := oy*c.s-c.p+ki, ox*c.s-c.p+kj
										if iy < 0 || iy >= c.h || ix < 0 || ix >= c.w {
											continue
										}
										s += float64(W[((f*c.inC+ch)*c.k+ki)*c.k+kj]) *
											float64(x.Data[((n*c.inC+ch)*c.h+iy)*c.w+ix])
									}
								}
							}
							got := y.Data[((n*c.outC+f)*oh+oy)*ow+ox]
							if math.Abs(float64(got)-s) > 1e-4*(1+math.Abs(s)) {
								t.Fatalf("y[%d,%d,%d,%d] = %v, direct %v", n, f, oy, ox, got, s)
							}
						}
					}
				}
			}
		})
	}
}

func TestValidRange(t *testing.T) {
	for n := 0; n < 6; n++ {
		for s := 1; s < 4; s++ {
			for off := -5; off < 5; off++ {
				for size := 1; size < 7; size++ {
					lo, hi := validRange(n, s, off, size)
					for o := 0; o < n; o++ {
						in := o*s+off >= 0 && o*s+off < size
						if in != (o >= lo && o < hi) {
							t.Fatalf("validRange(%d,%d,%d,%d) = [%d,%d), wrong at %d", n, s, off, size, lo, hi, o)
						}
					}
				}
			}
		}
	}
}

// TestLossLayerGradient checks the gradient that the Loss layer gets from
// package xent against central differences of its own loss, for each kind,
// with class weights and (where allowed) label smoothing.
func TestLossLayerGradient(t *testing.T) {
	xentReady(t)
	r := rand.New(rand.NewPCG(12, 34))
	const n, c = 4, 5
	var logits Tensor
	logits.resize([]int{n, c}, true)
	normalFill(r, logits.Data)
	labels := []int32{0, 3, 4, 1}
	soft := make([]float32, n*c)
	multi := make([]float32, n*c)
	for i := range soft {
		soft[i] = r.Float32()
		if r.IntN(3) == 0 {
			multi[i] = 1
		}
	}
	multi[0] = 1 // every row but possibly others has a label; row 0 surely
	weights := []float32{1, 0.5, 2, 1.5, 0.25}
	for _, tc := range []struct {
		kind   LossKind
		t      Targets
		smooth float64
		focal  *xent.Focal // nil: NewLoss's
	}{
		{SoftmaxIndex, Targets{Labels: labels}, 0.1, nil},
		{SoftmaxDense, Targets{Values: soft}, 0.2, nil},
		{SoftmaxMultiLabel, Targets{Values: multi}, 0, nil},
		{Sigmoid, Targets{Values: soft}, 0, nil},
		{SigmoidFocal, Targets{Values: soft}, 0, nil},
		{SigmoidFocal, Targets{Values: multi}, 0, &xent.Focal{Gamma: 0.5, Alpha: 0.25, UseAlpha: true}},
		{SigmoidFocal, Targets{Values: multi}, 0, &xent.Focal{Gamma: 3}},
	} {
		l := NewLoss(tc.kind)
		l.Weights = weights
		l.LabelSmoothing = tc.smooth
		if tc.focal != nil {
			l.Focal = *tc.focal
		}
		if _, err := l.Forward(&logits, tc.t, true); err != nil {
			t.Fatalf("%v: %v", tc.kind, err)
		}
		l.Backward(&logits, 1)
		grad := append([]float32(nil), logits.Grad...)
		const eps = 1e-3
		for i := range logits.Data {
			old := logits.Data[i]
			logits.Data[i] = old + eps
			fp, _ := l.Forward(&logits, tc.t, false)
			logits.Data[i] = old - eps
			fm, _ := l.Forward(&logits, tc.t, false)
			logits.Data[i] = old
			num := (fp - fm) / (2 * eps)
			if a := float64(grad[i]); math.Abs(a-num) > 1e-4+1e-3*math.Abs(num) {
				t.Errorf("%v: grad[%d] = %.6g, numeric %.6g", tc.kind, i, a, num)
			}
		}
	}
}
