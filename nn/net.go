package nn

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
)

// Config holds the settings of a Net that are not layers.
type Config struct {
	// Seed seeds the network's random generator (initial weights, dropout
	// masks, and whatever the caller draws from Net.Rand).
	Seed uint64
	// Threads is the number of goroutines a batch is split across; 0 means
	// runtime.GOMAXPROCS(0). Results are repeatable for a given seed and
	// thread count (the parameter gradients of the shards are summed in a
	// fixed order; a different count rounds differently).
	Threads int
}

// Net is a sequential network: a chain of layers ending in logits (N, C)
// and a Loss layer.
//
// The parameters of all layers live in one flat buffer (Params) and their
// gradients in another (Grads), in the order of the layers and of each
// layer's Params. A batch is cut into Threads contiguous shards; each
// shard runs through its own replica of the layers (own activations and
// scratch, shared parameter values) on its own goroutine. The logits of the
// shards are gathered so that the loss sees the whole batch (its mean is
// the mean over the batch), and the replicas' parameter gradients are added
// in replica order.
//
// A Net is not safe for concurrent use.
type Net struct {
	in      []int // input shape without the batch axis
	classes int
	threads int
	loss    *Loss

	params, grads []float32
	plist         []*Param // replica 0's, bound
	replicas      []*replica

	pcg  *rand.PCG
	rng  *rand.Rand
	step uint64

	n      int    // batch size the replicas are shaped for
	logits Tensor // (n, classes), gathered from the shards
	ctx    Context
	ready  bool      // a training Forward succeeded; Backward may run
	x      []float32 // the batch of the current Forward
	shape  []int     // scratch for setBatch
	active []*replica
	wg     sync.WaitGroup
}

// replica is one goroutine's copy of the layers and its activations:
// acts[0] is a view of the shard's input, acts[i+1] the output of layer i.
type replica struct {
	layers   []Layer
	acts     []Tensor
	grads    []float32 // this replica's flat gradient buffer
	off, n   int       // the shard: samples [off, off+n) of the batch
	shaped   int       // batch size the layers were reshaped for, -1 if none
	withGrad bool      // the activations' Grad buffers are sized too
	ctx      Context   // the pass's context, with this shard's Offset
}

// NewNet builds a network for inputs of shape in (without the batch axis,
// e.g. (1, 28, 28)) from the layers, which must end in a (N, C) output,
// and the loss. The network takes ownership of the layers. Weights are
// drawn with He initialisation (N(0, 2/fan-in); biases 0) from a PCG
// generator seeded by cfg.Seed.
func NewNet(in []int, layers []Layer, loss *Loss, cfg Config) (*Net, error) {
	if len(layers) == 0 {
		return nil, errors.New("nn: NewNet: no layers")
	}
	if loss == nil {
		return nil, errors.New("nn: NewNet: no loss")
	}
	for _, d := range in {
		if d <= 0 {
			return nil, fmt.Errorf("nn: NewNet: input shape %v has a non-positive size", in)
		}
	}
	threads := cfg.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	net := &Net{in: append([]int(nil), in...), threads: threads, loss: loss}
	net.pcg = rand.NewPCG(cfg.Seed, cfg.Seed^0x5851f42d4c957f2d)
	net.rng = rand.New(net.pcg)

	// Check the chain of shapes once, for a batch of one.
	shape := append([]int{1}, in...)
	for _, l := range layers {
		out, err := l.Reshape(shape)
		if err != nil {
			return nil, err
		}
		shape = out
	}
	if len(shape) != 2 {
		return nil, fmt.Errorf("nn: NewNet: the last layer gives shape %v, want (N, classes)", shape)
	}
	net.classes = shape[1]

	// One flat buffer for the parameters, one for the gradients.
	total := 0
	for _, l := range layers {
		for _, p := range l.Params() {
			total += p.Size()
		}
	}
	net.params = make([]float32, total)
	net.grads = make([]float32, total)
	r0 := &replica{layers: layers, grads: net.grads, shaped: -1}
	net.plist = bind(layers, net.params, r0.grads)
	for _, p := range net.plist {
		if p.FanIn > 0 {
			std := math.Sqrt(2 / float64(p.FanIn))
			for i := range p.Data {
				p.Data[i] = float32(net.rng.NormFloat64() * std)
			}
		}
	}
	net.replicas = []*replica{r0}
	for t := 1; t < threads; t++ {
		ls := make([]Layer, len(layers))
		for i, l := range layers {
			ls[i] = l.Clone()
		}
		r := &replica{layers: ls, shaped: -1}
		net.replicas = append(net.replicas, r)
	}
	return net, nil
}

// bind points the parameters of layers at consecutive pieces of params and
// grads, and returns them in order.
func bind(layers []Layer, params, grads []float32) []*Param {
	var list []*Param
	off := 0
	for _, l := range layers {
		for _, p := range l.Params() {
			n := p.Size()
			p.Data = params[off : off+n : off+n]
			p.Grad = grads[off : off+n : off+n]
			off += n
			list = append(list, p)
		}
	}
	return list
}

// Params returns the flat parameter buffer (shared, not copied).
func (net *Net) Params() []float32 { return net.params }

// Grads returns the flat gradient buffer filled by Backward (shared).
func (net *Net) Grads() []float32 { return net.grads }

// ParamList returns the parameters of the layers, in order, as views into
// Params and Grads.
func (net *Net) ParamList() []*Param { return net.plist }

// Layers returns the layers (those of the first replica).
func (net *Net) Layers() []Layer { return net.replicas[0].layers }

// LossLayer returns the loss layer, whose options (weights, smoothing) may
// be changed between steps.
func (net *Net) LossLayer() *Loss { return net.loss }

// Classes returns the number of outputs (classes) of the network.
func (net *Net) Classes() int { return net.classes }

// InputShape returns the shape of one input sample, e.g. (1, 28, 28).
func (net *Net) InputShape() []int { return append([]int(nil), net.in...) }

// InputSize returns the number of values of one input sample.
func (net *Net) InputSize() int { return shapeLen(net.in) }

// Threads returns the number of shards a batch is split into (at most).
func (net *Net) Threads() int { return net.threads }

// Steps returns the number of training Forward passes done (restored by a
// checkpoint).
func (net *Net) Steps() uint64 { return net.step }

// Rand returns the network's random generator. Callers may draw from it
// (for example to shuffle the training set) so that a checkpoint, which
// saves its state, makes a resumed run repeat the original.
func (net *Net) Rand() *rand.Rand { return net.rng }

// Arch describes the network: input shape, layers, loss. Checkpoints record
// it and refuse to load into a network with another description.
func (net *Net) Arch() string {
	var b strings.Builder
	fmt.Fprintf(&b, "input%v", net.in)
	for _, l := range net.replicas[0].layers {
		b.WriteString(" → ")
		b.WriteString(l.Name())
	}
	b.WriteString(" → ")
	b.WriteString(net.loss.Name())
	return b.String()
}

// String returns Arch and the parameter count.
func (net *Net) String() string {
	return fmt.Sprintf("%s (%d parameters)", net.Arch(), len(net.params))
}

// setBatch cuts a batch of n samples into shards and shapes the replicas
// that get one; the activations' gradient buffers are sized only for
// training, so that evaluating a large batch costs no gradient memory.
// Buffers only grow: going back to a smaller batch allocates nothing.
func (net *Net) setBatch(n int, train bool) error {
	shards := min(net.threads, n)
	for i, r := range net.replicas {
		r.off = n * i / shards
		r.n = n*(i+1)/shards - r.off
		if i >= shards {
			r.off, r.n = n, 0
			continue
		}
		if r.shaped == r.n && (r.withGrad || !train) {
			continue
		}
		if r.grads == nil {
			r.grads = make([]float32, len(net.params))
			bind(r.layers, net.params, r.grads)
		}
		if len(r.acts) == 0 {
			r.acts = make([]Tensor, len(r.layers)+1)
		}
		net.shape = append(append(net.shape[:0], r.n), net.in...)
		shape := net.shape
		r.acts[0].Shape = append(r.acts[0].Shape[:0], shape...)
		for j, l := range r.layers {
			out, err := l.Reshape(shape)
			if err != nil {
				r.shaped = -1
				return err
			}
			// In training, every activation but the input carries a
			// gradient.
			r.acts[j+1].resize(out, train)
			shape = out
		}
		r.shaped, r.withGrad = r.n, train
	}
	net.logits.resize([]int{n, net.classes}, true)
	net.n = n
	return nil
}

// batchSize checks that x holds whole samples and returns their number.
func (net *Net) batchSize(x []float32) (int, error) {
	size := net.InputSize()
	if len(x) == 0 || len(x)%size != 0 {
		return 0, fmt.Errorf("nn: input of %d values is not a whole number of samples of %v (%d values each)", len(x), net.in, size)
	}
	return len(x) / size, nil
}

// parallel runs f for each replica that holds a shard, each on its own
// goroutine (the first on the caller's), and waits for all of them. f is a
// method expression, so that one thread allocates nothing.
func (net *Net) parallel(f func(net *Net, r *replica)) {
	for _, r := range net.replicas[1:] {
		if r.n > 0 {
			net.wg.Go(func() { f(net, r) })
		}
	}
	// The goroutine started last waits in this P's runnext slot, which
	// other Ps take from only reluctantly; yielding runs it here at once
	// and puts the caller in the global queue (see parallel in package
	// xent). `xent train --epochs 1`, 4 alternating runs: 8,019–8,281 →
	// 8,188–8,374 images/s.
	runtime.Gosched()
	f(net, net.replicas[0])
	net.wg.Wait()
}

// forward runs the layers on x (n samples) in the given mode and gathers
// the logits.
func (net *Net) forward(x []float32, n int, train bool) error {
	if err := net.setBatch(n, train); err != nil {
		return err
	}
	net.ready = false
	net.ctx = Context{Train: train}
	if train {
		net.ctx.Seed = net.rng.Uint64()
		net.step++
	}
	net.x = x
	net.parallel((*Net).forwardShard)
	net.x = nil
	return nil
}

// forwardShard runs replica r's layers on its shard of net.x and copies
// its logits into the batch's.
func (net *Net) forwardShard(r *replica) {
	size, c := net.InputSize(), net.classes
	r.ctx = net.ctx
	r.ctx.Offset = r.off
	r.acts[0].Data = net.x[r.off*size : (r.off+r.n)*size]
	r.acts[0].Grad = nil
	for j, l := range r.layers {
		l.Forward(&r.acts[j], &r.acts[j+1], &r.ctx)
	}
	copy(net.logits.Data[r.off*c:(r.off+r.n)*c], r.acts[len(r.layers)].Data)
}

// backwardShard runs replica r's layers backwards from its shard of the
// logits' gradient, into the replica's gradient buffer.
func (net *Net) backwardShard(r *replica) {
	c := net.classes
	clear32(r.grads)
	r.ctx = net.ctx
	r.ctx.Offset = r.off
	last := &r.acts[len(r.layers)]
	copy(last.Grad, net.logits.Grad[r.off*c:(r.off+r.n)*c])
	for j := len(r.layers) - 1; j >= 0; j-- {
		r.layers[j].Backward(&r.acts[j], &r.acts[j+1], &r.ctx)
	}
}

// Forward runs the network on a batch x (N samples of InputSize values,
// row-major) and returns the mean loss against t. In training mode
// (dropout active) it also prepares Backward and advances the step count.
// It returns an error when x or t does not fit the network or xent refuses
// the input.
func (net *Net) Forward(x []float32, t Targets, train bool) (float64, error) {
	n, err := net.batchSize(x)
	if err != nil {
		return 0, err
	}
	if err := net.forward(x, n, train); err != nil {
		return 0, err
	}
	loss, err := net.loss.Forward(&net.logits, t, train)
	if err != nil {
		return 0, err
	}
	net.ready = train
	return loss, nil
}

// Backward computes the gradient of the loss of the last training Forward
// with respect to every parameter, into Grads (overwriting it). It returns
// an error if the last Forward was not a successful training pass.
func (net *Net) Backward() error {
	if !net.ready {
		return errors.New("nn: Backward without a successful training Forward")
	}
	net.ready = false
	net.loss.Backward(&net.logits, 1)
	net.parallel((*Net).backwardShard)
	net.reduceGrads()
	return nil
}

// reduceGrads adds the gradients of replicas 1.. into replica 0's (which
// is net.grads), in replica order, splitting the vector across goroutines.
func (net *Net) reduceGrads() {
	net.active = net.active[:0]
	for _, r := range net.replicas[1:] {
		if r.n > 0 {
			net.active = append(net.active, r)
		}
	}
	if len(net.active) == 0 {
		return
	}
	total := len(net.grads)
	chunks := net.threads
	for k := 0; k < chunks; k++ {
		lo, hi := total*k/chunks, total*(k+1)/chunks
		net.wg.Go(func() {
			dst := net.grads[lo:hi]
			for _, r := range net.active {
				for i, g := range r.grads[lo:hi] {
					dst[i] += g
				}
			}
		})
	}
	net.wg.Wait()
}

// TrainStep does one step of training on the batch x with targets t:
// Forward in training mode, Backward, and opt.Step on the parameters. It
// returns the batch's mean loss (before the update).
func (net *Net) TrainStep(x []float32, t Targets, opt Optimizer) (float64, error) {
	loss, err := net.Forward(x, t, true)
	if err != nil {
		return 0, err
	}
	if err := net.Backward(); err != nil {
		return 0, err
	}
	opt.Step(net.params, net.grads)
	return loss, nil
}

// Logits runs the network in evaluation mode on x and writes the logits
// (N, Classes) into dst, which it returns (allocated when dst is too
// short).
func (net *Net) Logits(dst []float32, x []float32) ([]float32, error) {
	n, err := net.batchSize(x)
	if err != nil {
		return nil, err
	}
	if err := net.forward(x, n, false); err != nil {
		return nil, err
	}
	if cap(dst) < n*net.classes {
		dst = make([]float32, n*net.classes)
	}
	dst = dst[:n*net.classes]
	copy(dst, net.logits.Data)
	return dst, nil
}

// Predict runs the network in evaluation mode on x and writes the index of
// the largest logit of each sample into dst, which it returns (allocated
// when dst is too short). Ties go to the lowest index; a NaN logit is never
// chosen unless all are NaN.
func (net *Net) Predict(dst []int32, x []float32) ([]int32, error) {
	n, err := net.batchSize(x)
	if err != nil {
		return nil, err
	}
	if err := net.forward(x, n, false); err != nil {
		return nil, err
	}
	if cap(dst) < n {
		dst = make([]int32, n)
	}
	dst = dst[:n]
	c := net.classes
	for i := range dst {
		dst[i] = Argmax(net.logits.Data[i*c : (i+1)*c])
	}
	return dst, nil
}

// Argmax returns the index of the largest value of s (the first on ties;
// NaNs are passed over), or 0 if s is empty or all NaN.
func Argmax(s []float32) int32 {
	best, at := float32(math.Inf(-1)), int32(0)
	found := false
	for i, v := range s {
		if v > best || (!found && v == best) {
			best, at, found = v, int32(i), true
		}
	}
	return at
}
