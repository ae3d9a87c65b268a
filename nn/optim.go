package nn

import (
	"fmt"
	"math"
)

// Optimizer updates a flat parameter buffer from a flat gradient buffer of
// the same length. Its state (moments, step count) lives in flat buffers of
// that length too, and can be saved and restored with a checkpoint.
type Optimizer interface {
	// Step applies one update: params -= f(grads, state). It panics if the
	// lengths differ from each other or from the state's.
	Step(params, grads []float32)
	// State returns the optimiser's kind, step count and state buffers
	// (shared, not copied).
	State() OptimizerState
	// SetState replaces the state with a copy of s. It returns an error if
	// s is of another kind or its buffers do not have n values each.
	SetState(s OptimizerState, n int) error
}

// OptimizerState is the resumable state of an Optimizer. Hyperparameters
// (learning rate, ...) are not part of it: they belong to the caller's
// configuration.
type OptimizerState struct {
	// Kind is "sgd" or "adam".
	Kind string
	// Steps is the number of steps taken.
	Steps int64
	// Buffers are the state vectors: SGD's velocity, Adam's first and
	// second moments. They are empty before the first step.
	Buffers [][]float32
}

// SGD is stochastic gradient descent with momentum and L2 weight decay, in
// PyTorch's formulation:
//
//	g = grad + WeightDecay·w
//	v = Momentum·v + g          (v = g on the first step)
//	w = w − LR·v
type SGD struct {
	// LR is the learning rate, Momentum the velocity's decay (0 for plain
	// SGD) and WeightDecay the L2 coefficient added to the gradient.
	LR, Momentum, WeightDecay float32

	steps int64
	v     []float32
}

// NewSGD returns an SGD optimiser.
func NewSGD(lr, momentum, weightDecay float32) *SGD {
	return &SGD{LR: lr, Momentum: momentum, WeightDecay: weightDecay}
}

// Step implements Optimizer.
func (o *SGD) Step(params, grads []float32) {
	if len(params) != len(grads) {
		panic("nn: SGD.Step: params and grads lengths differ")
	}
	if o.v == nil {
		o.v = make([]float32, len(params))
	} else if len(o.v) != len(params) {
		panic("nn: SGD.Step: parameter count changed")
	}
	first := o.steps == 0
	lr, mu, wd := o.LR, o.Momentum, o.WeightDecay
	v := o.v[:len(params)]
	for i, g := range grads[:len(params)] {
		g += wd * params[i]
		if mu != 0 {
			if !first {
				g += mu * v[i]
			}
			v[i] = g
		}
		params[i] -= lr * g
	}
	o.steps++
}

// State implements Optimizer.
func (o *SGD) State() OptimizerState {
	s := OptimizerState{Kind: "sgd", Steps: o.steps}
	if o.v != nil {
		s.Buffers = [][]float32{o.v}
	}
	return s
}

// SetState implements Optimizer.
func (o *SGD) SetState(s OptimizerState, n int) error {
	if s.Kind != "sgd" {
		return fmt.Errorf("nn: optimizer state of kind %q, want sgd", s.Kind)
	}
	if err := checkBuffers(s, 1, n); err != nil {
		return err
	}
	o.steps = s.Steps
	o.v = nil
	if len(s.Buffers) == 1 {
		o.v = append([]float32(nil), s.Buffers[0]...)
	}
	return nil
}

// Adam is the Adam optimiser with bias correction and decoupled weight
// decay (AdamW, as in PyTorch's torch.optim.AdamW and llm.c):
//
//	m = β1·m + (1−β1)·g
//	v = β2·v + (1−β2)·g²
//	w = w − LR·( m/(1−β1ᵗ) / (sqrt(v/(1−β2ᵗ)) + Eps) + WeightDecay·w )
//
// With WeightDecay = 0 it is plain Adam.
type Adam struct {
	// LR is the learning rate, Beta1 and Beta2 the moments' decays, Eps the
	// denominator's guard and WeightDecay the decoupled decay coefficient.
	LR, Beta1, Beta2, Eps, WeightDecay float32

	steps int64
	m, v  []float32
}

// NewAdam returns an Adam optimiser with β1 = 0.9, β2 = 0.999, ε = 1e-8
// and no weight decay.
func NewAdam(lr float32) *Adam {
	return &Adam{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
}

// Step implements Optimizer.
func (o *Adam) Step(params, grads []float32) {
	if len(params) != len(grads) {
		panic("nn: Adam.Step: params and grads lengths differ")
	}
	if o.m == nil {
		o.m = make([]float32, len(params))
		o.v = make([]float32, len(params))
	} else if len(o.m) != len(params) {
		panic("nn: Adam.Step: parameter count changed")
	}
	o.steps++
	t := float64(o.steps)
	c1 := float32(1 - math.Pow(float64(o.Beta1), t))
	c2 := float32(1 - math.Pow(float64(o.Beta2), t))
	b1, b2, lr, eps, wd := o.Beta1, o.Beta2, o.LR, o.Eps, o.WeightDecay
	m, v := o.m[:len(params)], o.v[:len(params)]
	for i, g := range grads[:len(params)] {
		mi := b1*m[i] + (1-b1)*g
		vi := b2*v[i] + (1-b2)*g*g
		m[i], v[i] = mi, vi
		mhat := mi / c1
		vhat := vi / c2
		params[i] -= lr * (mhat/(float32(math.Sqrt(float64(vhat)))+eps) + wd*params[i])
	}
}

// State implements Optimizer.
func (o *Adam) State() OptimizerState {
	s := OptimizerState{Kind: "adam", Steps: o.steps}
	if o.m != nil {
		s.Buffers = [][]float32{o.m, o.v}
	}
	return s
}

// SetState implements Optimizer.
func (o *Adam) SetState(s OptimizerState, n int) error {
	if s.Kind != "adam" {
		return fmt.Errorf("nn: optimizer state of kind %q, want adam", s.Kind)
	}
	if err := checkBuffers(s, 2, n); err != nil {
		return err
	}
	o.steps = s.Steps
	o.m, o.v = nil, nil
	if len(s.Buffers) == 2 {
		o.m = append([]float32(nil), s.Buffers[0]...)
		o.v = append([]float32(nil), s.Buffers[1]...)
	}
	return nil
}

// checkBuffers checks that s has either no buffers or want buffers of n
// values each, and a non-negative step count.
func checkBuffers(s OptimizerState, want, n int) error {
	if s.Steps < 0 {
		return fmt.Errorf("nn: %s state: negative step count %d", s.Kind, s.Steps)
	}
	if len(s.Buffers) == 0 {
		return nil
	}
	if len(s.Buffers) != want {
		return fmt.Errorf("nn: %s state has %d buffers, want %d", s.Kind, len(s.Buffers), want)
	}
	for i, b := range s.Buffers {
		if len(b) != n {
			return fmt.Errorf("nn: %s state buffer %d has %d values, want %d (one per parameter)", s.Kind, i, len(b), n)
		}
	}
	return nil
}
