package nn

import (
	"fmt"
	"math"
)

// MaxPool2D takes the maximum over K×K windows moved by Stride, without
// padding: x (N, C, H, W) → y (N, C, OH, OW), OH = (H − K)/Stride + 1.
// Forward remembers where each maximum came from (the first one, on ties),
// and Backward routes the gradient there.
type MaxPool2D struct {
	// K is the window size and Stride its step.
	K, Stride int

	c, h, w, oh, ow int
	argmax          []int32 // for each output, the offset of its max in x
	out             []int
}

// NewMaxPool2D returns a max-pooling layer. It panics if k or stride is
// not positive.
func NewMaxPool2D(k, stride int) *MaxPool2D {
	if k <= 0 || stride <= 0 {
		panic(fmt.Sprintf("nn: NewMaxPool2D(%d, %d): bad size", k, stride))
	}
	return &MaxPool2D{K: k, Stride: stride}
}

// Name implements Layer.
func (p *MaxPool2D) Name() string { return fmt.Sprintf("maxpool2d(k%d, s%d)", p.K, p.Stride) }

// Params implements Layer: none.
func (p *MaxPool2D) Params() []*Param { return nil }

// Clone implements Layer.
func (p *MaxPool2D) Clone() Layer { return NewMaxPool2D(p.K, p.Stride) }

// Reshape implements Layer.
func (p *MaxPool2D) Reshape(in []int) ([]int, error) {
	if len(in) != 4 || in[2] < p.K || in[3] < p.K {
		return nil, fmt.Errorf("nn: %s: input shape %v, want (N, C, H, W) with H, W ≥ %d", p.Name(), in, p.K)
	}
	p.c, p.h, p.w = in[1], in[2], in[3]
	p.oh = (p.h-p.K)/p.Stride + 1
	p.ow = (p.w-p.K)/p.Stride + 1
	p.argmax = growInt32(p.argmax, in[0]*p.c*p.oh*p.ow)
	p.out = append(p.out[:0], in[0], p.c, p.oh, p.ow)
	return p.out, nil
}

// Forward implements Layer.
func (p *MaxPool2D) Forward(x, y *Tensor, _ *Context) {
	n := x.Shape[0]
	hw, ohw := p.h*p.w, p.oh*p.ow
	for i := 0; i < n*p.c; i++ {
		xc := x.Data[i*hw : (i+1)*hw]
		yc := y.Data[i*ohw : (i+1)*ohw]
		am := p.argmax[i*ohw : (i+1)*ohw]
		for oy := 0; oy < p.oh; oy++ {
			for ox := 0; ox < p.ow; ox++ {
				best := float32(math.Inf(-1))
				at := int32((oy*p.Stride)*p.w + ox*p.Stride)
				for ki := 0; ki < p.K; ki++ {
					base := (oy*p.Stride+ki)*p.w + ox*p.Stride
					for kj, v := range xc[base : base+p.K] {
						if v > best {
							best, at = v, int32(base+kj)
						}
					}
				}
				yc[oy*p.ow+ox] = xc[at]
				am[oy*p.ow+ox] = int32(i*hw) + at
			}
		}
	}
}

// Backward implements Layer.
func (p *MaxPool2D) Backward(x, y *Tensor, _ *Context) {
	if x.Grad == nil {
		return
	}
	clear32(x.Grad)
	for j, at := range p.argmax[:len(y.Grad)] {
		x.Grad[at] += y.Grad[j]
	}
}
