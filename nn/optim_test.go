package nn

import (
	"math"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*(1+math.Abs(b)) }

func TestSGDKnownValues(t *testing.T) {
	// w = 1, g = 0.5, lr 0.1, momentum 0.9, weight decay 0.01:
	// step 1: g' = 0.51,    v = 0.51,                w = 1 − 0.051 = 0.949
	// step 2: g' = 0.50949, v = 0.9·0.51 + 0.50949, w = 0.949 − 0.1·0.96849
	o := NewSGD(0.1, 0.9, 0.01)
	w := []float32{1, -2}
	g := []float32{0.5, 0}
	o.Step(w, g)
	if !near(float64(w[0]), 0.949, 1e-6) || !near(float64(w[1]), -2+0.1*0.02, 1e-6) {
		t.Fatalf("after step 1: %v", w)
	}
	o.Step(w, g)
	if want := 0.949 - 0.1*(0.9*0.51+0.5+0.01*0.949); !near(float64(w[0]), want, 1e-6) {
		t.Fatalf("after step 2: %v, want %v", w[0], want)
	}
	// no momentum: plain gradient descent
	p := NewSGD(0.5, 0, 0)
	w = []float32{3}
	p.Step(w, []float32{2})
	p.Step(w, []float32{2})
	if w[0] != 1 {
		t.Errorf("plain SGD: %v, want 1", w[0])
	}
	if s := o.State(); s.Kind != "sgd" || s.Steps != 2 || len(s.Buffers) != 1 {
		t.Errorf("state %+v", s)
	}
}

func TestAdamKnownValues(t *testing.T) {
	// Step 1 of Adam moves each weight by LR·sign(g) (bias correction makes
	// m̂ = g and v̂ = g²), plus the decoupled decay LR·wd·w.
	o := NewAdam(0.1)
	o.WeightDecay = 0.1
	w := []float32{1, 1}
	o.Step(w, []float32{0.5, -4})
	if !near(float64(w[0]), 1-0.1*(1+0.1), 1e-6) || !near(float64(w[1]), 1+0.1*(1-0.1), 1e-6) {
		t.Fatalf("after step 1: %v", w)
	}
	// Step 2 against the formula in float64.
	w0 := float64(w[0])
	o.Step(w, []float32{-0.25, 0})
	m := 0.9*0.05 + 0.1*-0.25
	v := 0.999*0.00025 + 0.001*0.0625
	mh, vh := m/(1-0.81), v/(1-0.999*0.999)
	want := w0 - 0.1*(mh/(math.Sqrt(vh)+1e-8)+0.1*w0)
	if !near(float64(w[0]), want, 1e-5) {
		t.Fatalf("after step 2: %v, want %v", w[0], want)
	}
	s := o.State()
	if s.Kind != "adam" || s.Steps != 2 || len(s.Buffers) != 2 {
		t.Errorf("state %+v", s)
	}
}

func TestOptimizerSetState(t *testing.T) {
	a := NewAdam(0.01)
	w := []float32{1, 2, 3}
	a.Step(w, []float32{1, 1, 1})
	b := NewAdam(0.01)
	if err := b.SetState(a.State(), 3); err != nil {
		t.Fatal(err)
	}
	w2 := append([]float32(nil), w...)
	a.Step(w, []float32{0.3, -1, 2})
	b.Step(w2, []float32{0.3, -1, 2})
	for i := range w {
		if w[i] != w2[i] {
			t.Fatalf("restored Adam diverges: %v vs %v", w, w2)
		}
	}
	if err := b.SetState(a.State(), 4); err == nil {
		t.Error("want error for buffers of the wrong length")
	}
	if err := b.SetState(NewSGD(1, 0.9, 0).State(), 3); err == nil {
		t.Error("want error for an SGD state in Adam")
	}
	if err := NewSGD(1, 0.9, 0).SetState(OptimizerState{Kind: "sgd", Steps: -1}, 3); err == nil {
		t.Error("want error for a negative step count")
	}
}
