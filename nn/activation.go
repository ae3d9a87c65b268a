package nn

import "fmt"

// ReLU is max(x, 0), elementwise; any shape.
type ReLU struct{}

// NewReLU returns a ReLU layer.
func NewReLU() *ReLU { return &ReLU{} }

// Name implements Layer.
func (*ReLU) Name() string { return "relu" }

// Params implements Layer: none.
func (*ReLU) Params() []*Param { return nil }

// Clone implements Layer.
func (*ReLU) Clone() Layer { return &ReLU{} }

// Reshape implements Layer.
func (*ReLU) Reshape(in []int) ([]int, error) { return in, nil }

// Forward implements Layer.
func (*ReLU) Forward(x, y *Tensor, _ *Context) {
	for i, v := range x.Data {
		y.Data[i] = max(v, 0)
	}
}

// Backward implements Layer. The gradient at 0 is taken as 0.
func (*ReLU) Backward(x, y *Tensor, _ *Context) {
	if x.Grad == nil {
		return
	}
	for i, v := range x.Data {
		if v > 0 {
			x.Grad[i] = y.Grad[i]
		} else {
			x.Grad[i] = 0
		}
	}
}

// Flatten turns (N, d1, d2, ...) into (N, d1·d2·...), keeping the order of
// the values.
type Flatten struct{ out []int }

// NewFlatten returns a Flatten layer.
func NewFlatten() *Flatten { return &Flatten{} }

// Name implements Layer.
func (*Flatten) Name() string { return "flatten" }

// Params implements Layer: none.
func (*Flatten) Params() []*Param { return nil }

// Clone implements Layer.
func (*Flatten) Clone() Layer { return &Flatten{} }

// Reshape implements Layer.
func (f *Flatten) Reshape(in []int) ([]int, error) {
	if len(in) < 1 {
		return nil, fmt.Errorf("nn: flatten: empty input shape")
	}
	f.out = append(f.out[:0], in[0], shapeLen(in[1:]))
	return f.out, nil
}

// Forward implements Layer.
func (*Flatten) Forward(x, y *Tensor, _ *Context) { copy(y.Data, x.Data) }

// Backward implements Layer.
func (*Flatten) Backward(x, y *Tensor, _ *Context) {
	if x.Grad != nil {
		copy(x.Grad, y.Grad)
	}
}

// Dropout is inverted dropout: in training mode each value is zeroed with
// probability P and the others are scaled by 1/(1−P), so that evaluation
// mode is the identity.
//
// The mask of a value is a hash of (Context.Seed, the sample's index in the
// whole batch, the value's index in the sample): it is repeatable from the
// seed and does not depend on how the batch is split across goroutines.
type Dropout struct {
	// P is the probability that a value is dropped, in [0, 1).
	P float64

	mask []float32 // 0 or 1/(1−P) per value, set by a training Forward
}

// NewDropout returns a dropout layer with drop probability p. It panics if
// p is not in [0, 1).
func NewDropout(p float64) *Dropout {
	if !(p >= 0 && p < 1) {
		panic(fmt.Sprintf("nn: NewDropout(%v): p must be in [0, 1)", p))
	}
	return &Dropout{P: p}
}

// Name implements Layer.
func (d *Dropout) Name() string { return fmt.Sprintf("dropout(%g)", d.P) }

// Params implements Layer: none.
func (*Dropout) Params() []*Param { return nil }

// Clone implements Layer.
func (d *Dropout) Clone() Layer { return NewDropout(d.P) }

// Reshape implements Layer.
func (d *Dropout) Reshape(in []int) ([]int, error) {
	d.mask = grow(d.mask, shapeLen(in))
	return in, nil
}

// Forward implements Layer.
func (d *Dropout) Forward(x, y *Tensor, ctx *Context) {
	if ctx == nil || !ctx.Train || d.P == 0 {
		copy(y.Data, x.Data)
		return
	}
	per := x.PerSample()
	scale := float32(1 / (1 - d.P))
	// keep when the 24-bit uniform u satisfies u ≥ P·2^24
	thresh := uint64(d.P * (1 << 24))
	for n := 0; n < x.Shape[0]; n++ {
		base := mix64(ctx.Seed ^ mix64(uint64(ctx.Offset+n)+0x632be59bd9b4e019))
		for j := 0; j < per; j++ {
			i := n*per + j
			if mix64(base+uint64(j))>>40 >= thresh {
				d.mask[i] = scale
			} else {
				d.mask[i] = 0
			}
			y.Data[i] = x.Data[i] * d.mask[i]
		}
	}
}

// Backward implements Layer.
func (d *Dropout) Backward(x, y *Tensor, ctx *Context) {
	if x.Grad == nil {
		return
	}
	if ctx == nil || !ctx.Train || d.P == 0 {
		copy(x.Grad, y.Grad)
		return
	}
	for i, g := range y.Grad {
		x.Grad[i] = g * d.mask[i]
	}
}

// mix64 is the SplitMix64 output function: a bijective 64-bit hash.
func mix64(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
