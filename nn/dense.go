package nn

import "fmt"

// Dense is a fully connected layer: y = x·Wᵀ + b, with x (N, In),
// weight (Out, In) and bias (Out), y (N, Out).
type Dense struct {
	// In and Out are the numbers of input and output features.
	In, Out int

	weight, bias Param
	out          []int
}

// NewDense returns a fully connected layer. It panics if a size is not
// positive.
func NewDense(in, out int) *Dense {
	if in <= 0 || out <= 0 {
		panic(fmt.Sprintf("nn: NewDense(%d, %d): bad size", in, out))
	}
	return &Dense{In: in, Out: out,
		weight: Param{Name: "weight", Shape: []int{out, in}, FanIn: in},
		bias:   Param{Name: "bias", Shape: []int{out}},
	}
}

// Name implements Layer.
func (d *Dense) Name() string { return fmt.Sprintf("dense(%d→%d)", d.In, d.Out) }

// Params implements Layer: weight, then bias.
func (d *Dense) Params() []*Param { return []*Param{&d.weight, &d.bias} }

// Clone implements Layer.
func (d *Dense) Clone() Layer { return NewDense(d.In, d.Out) }

// Reshape implements Layer.
func (d *Dense) Reshape(in []int) ([]int, error) {
	if len(in) != 2 || in[1] != d.In {
		return nil, fmt.Errorf("nn: %s: input shape %v, want (N, %d) (add a Flatten layer before it?)", d.Name(), in, d.In)
	}
	d.out = append(d.out[:0], in[0], d.Out)
	return d.out, nil
}

// Forward implements Layer.
func (d *Dense) Forward(x, y *Tensor, _ *Context) {
	n := x.Shape[0]
	for i := 0; i < n; i++ {
		copy(y.Data[i*d.Out:(i+1)*d.Out], d.bias.Data)
	}
	// y (N, Out) += x (N, In) · Wᵀ (In, Out)
	gemm(false, true, n, d.Out, d.In, 1, x.Data, d.weight.Data, 1, y.Data)
}

// Backward implements Layer.
func (d *Dense) Backward(x, y *Tensor, _ *Context) {
	n := x.Shape[0]
	for i := 0; i < n; i++ {
		for j, g := range y.Grad[i*d.Out : (i+1)*d.Out] {
			d.bias.Grad[j] += g
		}
	}
	// dW (Out, In) += dyᵀ (Out, N) · x (N, In)
	gemm(true, false, d.Out, d.In, n, 1, y.Grad, x.Data, 1, d.weight.Grad)
	if x.Grad != nil {
		// dx (N, In) = dy (N, Out) · W (Out, In)
		gemm(false, false, n, d.In, d.Out, 1, y.Grad, d.weight.Data, 0, x.Grad)
	}
}
