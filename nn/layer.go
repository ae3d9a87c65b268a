package nn

// Layer is one step of a network, in the manner of Caffe's layers: the
// setup (the constructor) and the shape computation (Reshape) are separate
// from the compute (Forward, Backward), so that the buffers are sized once
// and a training step allocates nothing.
//
// In Forward and Backward, x is the layer's input (Caffe's bottom) and y its
// output (top). The network owns both tensors; a layer owns only its scratch
// buffers. Layers are not safe for concurrent use: the network gives each
// goroutine its own replica (Clone) that shares the parameter values.
type Layer interface {
	// Name describes the layer and its configuration, e.g.
	// "conv2d(1→32, k5, s1, p2)". Networks with the same names in the same
	// order have the same parameter layout.
	Name() string
	// Reshape takes the input shape (batch first) and returns the output
	// shape, after sizing the layer's scratch buffers for it. It returns an
	// error when the input shape does not fit the layer.
	Reshape(in []int) (out []int, err error)
	// Forward computes y from x. ctx carries the mode (training or
	// evaluation) and what dropout needs to draw its masks.
	Forward(x, y *Tensor, ctx *Context)
	// Backward reads y.Grad (and x, y as needed), adds the parameter
	// gradients into the Grad of each Param, and, when x.Grad is not nil,
	// writes (overwrites) d loss / d x into x.Grad. It must follow a
	// Forward on the same x in training mode.
	Backward(x, y *Tensor, ctx *Context)
	// Params returns the layer's parameters, in a fixed order. The network
	// points their Data and Grad at its flat buffers.
	Params() []*Param
	// Clone returns a layer of the same configuration with its own scratch
	// buffers and unbound parameters (nil Data and Grad).
	Clone() Layer
}

// Context is what a Forward or Backward pass needs besides its tensors.
type Context struct {
	// Train selects training mode (dropout active) over evaluation mode.
	Train bool
	// Seed is the per-step seed from which dropout derives its masks.
	Seed uint64
	// Offset is the index, in the whole batch, of the first sample of the
	// tensors being processed (the batch is split into shards), so that a
	// sample's dropout mask does not depend on how the batch is split.
	Offset int
}

// Param is a learnable parameter of a layer: a view into the network's
// flat parameter buffer and a view into a flat gradient buffer.
type Param struct {
	// Name is the parameter's name within its layer ("weight", "bias").
	Name string
	// Shape is the parameter's shape, e.g. (F, C, K, K) for a convolution.
	Shape []int
	// FanIn is the number of inputs that feed one output; He
	// initialisation draws from N(0, 2/FanIn). Zero means "initialise to 0"
	// (biases).
	FanIn int
	// Data holds the values, Grad the accumulated gradients; both are set
	// by the network when it binds the layer.
	Data, Grad []float32
}

// Size returns the number of values of the parameter.
func (p *Param) Size() int { return shapeLen(p.Shape) }
