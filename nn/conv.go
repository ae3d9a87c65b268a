package nn

import "fmt"

// Conv2D is a 2-D convolution (cross-correlation, as in every framework)
// with square kernels, a stride and zero padding, computed as im2col
// followed by one GEMM per sample.
//
// Shapes: x (N, InC, H, W) → y (N, OutC, OH, OW) with
// OH = (H + 2·Pad − K)/Stride + 1 (and the same for OW); weight
// (OutC, InC, K, K), bias (OutC).
type Conv2D struct {
	// InC and OutC are the input and output channels, K the kernel size,
	// Stride the step of the window and Pad the zero padding on each side.
	InC, OutC, K, Stride, Pad int

	weight, bias Param

	// set by Reshape
	h, w, oh, ow int
	col, dcol    []float32 // (InC·K·K, OH·OW) for one sample
	out          []int
}

// NewConv2D returns a convolution from inC to outC channels with a k×k
// kernel. It panics if a size is not positive or pad is negative: these are
// programming errors, not data.
func NewConv2D(inC, outC, k, stride, pad int) *Conv2D {
	if inC <= 0 || outC <= 0 || k <= 0 || stride <= 0 || pad < 0 {
		panic(fmt.Sprintf("nn: NewConv2D(%d, %d, %d, %d, %d): bad size", inC, outC, k, stride, pad))
	}
	c := &Conv2D{InC: inC, OutC: outC, K: k, Stride: stride, Pad: pad}
	c.weight = Param{Name: "weight", Shape: []int{outC, inC, k, k}, FanIn: inC * k * k}
	c.bias = Param{Name: "bias", Shape: []int{outC}}
	return c
}

// Name implements Layer.
func (c *Conv2D) Name() string {
	return fmt.Sprintf("conv2d(%d→%d, k%d, s%d, p%d)", c.InC, c.OutC, c.K, c.Stride, c.Pad)
}

// Params implements Layer: weight, then bias.
func (c *Conv2D) Params() []*Param { return []*Param{&c.weight, &c.bias} }

// Clone implements Layer.
func (c *Conv2D) Clone() Layer { return NewConv2D(c.InC, c.OutC, c.K, c.Stride, c.Pad) }

// Reshape implements Layer.
func (c *Conv2D) Reshape(in []int) ([]int, error) {
	if len(in) != 4 || in[1] != c.InC {
		return nil, fmt.Errorf("nn: %s: input shape %v, want (N, %d, H, W)", c.Name(), in, c.InC)
	}
	c.h, c.w = in[2], in[3]
	c.oh = (c.h+2*c.Pad-c.K)/c.Stride + 1
	c.ow = (c.w+2*c.Pad-c.K)/c.Stride + 1
	if c.h+2*c.Pad < c.K || c.w+2*c.Pad < c.K {
		return nil, fmt.Errorf("nn: %s: input %d×%d is smaller than the kernel", c.Name(), c.h, c.w)
	}
	n := c.InC * c.K * c.K * c.oh * c.ow
	c.col = grow(c.col, n)
	c.dcol = grow(c.dcol, n)
	c.out = append(c.out[:0], in[0], c.OutC, c.oh, c.ow)
	return c.out, nil
}

// Forward implements Layer.
func (c *Conv2D) Forward(x, y *Tensor, _ *Context) {
	n := x.Shape[0]
	inSize, outSize := c.InC*c.h*c.w, c.OutC*c.oh*c.ow
	ohw, ckk := c.oh*c.ow, c.InC*c.K*c.K
	for i := 0; i < n; i++ {
		c.im2col(c.col, x.Data[i*inSize:(i+1)*inSize])
		yi := y.Data[i*outSize : (i+1)*outSize]
		// y_i (OutC, OHW) = W (OutC, CKK) · col (CKK, OHW)
		gemm(false, false, c.OutC, ohw, ckk, 1, c.weight.Data, c.col, 0, yi)
		for f, b := range c.bias.Data {
			row := yi[f*ohw : (f+1)*ohw]
			for j := range row {
				row[j] += b
			}
		}
	}
}

// Backward implements Layer.
func (c *Conv2D) Backward(x, y *Tensor, _ *Context) {
	n := x.Shape[0]
	inSize, outSize := c.InC*c.h*c.w, c.OutC*c.oh*c.ow
	ohw, ckk := c.oh*c.ow, c.InC*c.K*c.K
	for i := 0; i < n; i++ {
		dy := y.Grad[i*outSize : (i+1)*outSize]
		for f := range c.bias.Grad {
			var s float32
			for _, v := range dy[f*ohw : (f+1)*ohw] {
				s += v
			}
			c.bias.Grad[f] += s
		}
		// The columns are recomputed rather than kept from Forward (as Caffe
		// does): cheap next to the GEMMs, and N times less memory.
		c.im2col(c.col, x.Data[i*inSize:(i+1)*inSize])
		// dW (OutC, CKK) += dy_i (OutC, OHW) · colᵀ (OHW, CKK)
		gemm(false, true, c.OutC, ckk, ohw, 1, dy, c.col, 1, c.weight.Grad)
		if x.Grad != nil {
			// dcol (CKK, OHW) = Wᵀ (CKK, OutC) · dy_i (OutC, OHW)
			gemm(true, false, ckk, ohw, c.OutC, 1, c.weight.Data, dy, 0, c.dcol)
			c.col2im(x.Grad[i*inSize:(i+1)*inSize], c.dcol)
		}
	}
}

// im2col writes the patches of one sample x (InC, H, W) as the columns of
// col (InC·K·K, OH·OW): row (c, ki, kj), column (oy, ox) holds
// x[c, oy·S−P+ki, ox·S−P+kj], or 0 in the padding.
func (c *Conv2D) im2col(col, x []float32) {
	K, S, P := c.K, c.Stride, c.Pad
	ohw := c.oh * c.ow
	r := 0
	for ch := 0; ch < c.InC; ch++ {
		xc := x[ch*c.h*c.w : (ch+1)*c.h*c.w]
		for ki := 0; ki < K; ki++ {
			for kj := 0; kj < K; kj++ {
				row := col[r*ohw : (r+1)*ohw]
				r++
				// ox range whose ix = ox·S−P+kj lies in [0, W)
				lo, hi := validRange(c.ow, S, kj-P, c.w)
				for oy := 0; oy < c.oh; oy++ {
					dst := row[oy*c.ow : (oy+1)*c.ow]
					iy := oy*S - P + ki
					if iy < 0 || iy >= c.h {
						clear32(dst)
						continue
					}
					src := xc[iy*c.w : (iy+1)*c.w]
					clear32(dst[:lo])
					if S == 1 {
						copy(dst[lo:hi], src[lo+kj-P:hi+kj-P])
					} else {
						for ox := lo; ox < hi; ox++ {
							dst[ox] = src[ox*S-P+kj]
						}
					}
					clear32(dst[hi:])
				}
			}
		}
	}
}

// col2im is the adjoint of im2col: it writes into dx (InC, H, W) the sum,
// over all the columns that read an input pixel, of their values in dcol.
func (c *Conv2D) col2im(dx, dcol []float32) {
	clear32(dx)
	K, S, P := c.K, c.Stride, c.Pad
	ohw := c.oh * c.ow
	r := 0
	for ch := 0; ch < c.InC; ch++ {
		xc := dx[ch*c.h*c.w : (ch+1)*c.h*c.w]
		for ki := 0; ki < K; ki++ {
			for kj := 0; kj < K; kj++ {
				row := dcol[r*ohw : (r+1)*ohw]
				r++
				lo, hi := validRange(c.ow, S, kj-P, c.w)
				for oy := 0; oy < c.oh; oy++ {
					iy := oy*S - P + ki
					if iy < 0 || iy >= c.h {
						continue
					}
					src := row[oy*c.ow : (oy+1)*c.ow]
					dst := xc[iy*c.w : (iy+1)*c.w]
					if S == 1 {
						d := dst[lo+kj-P : hi+kj-P]
						for j, v := range src[lo:hi] {
							d[j] += v
						}
					} else {
						for ox := lo; ox < hi; ox++ {
							dst[ox*S-P+kj] += src[ox]
						}
					}
				}
			}
		}
	}
}

// validRange returns the range [lo, hi) of o in [0, n) for which
// o·s + off lies in [0, size).
func validRange(n, s, off, size int) (lo, hi int) {
	lo = 0
	if off < 0 {
		lo = (-off + s - 1) / s
	}
	hi = n
	if last := (size - 1 - off); last < 0 {
		hi = 0
	} else if h := last/s + 1; h < hi {
		hi = h
	}
	if lo > hi {
		lo = hi
	}
	return lo, hi
}
