package nn

import "fmt"

// LeNetConfig configures NewLeNet. Zero fields take the defaults noted.
type LeNetConfig struct {
	// Channels, Height, Width: the input images (Channels default 1;
	// Height and Width default 28).
	Channels, Height, Width int
	// Classes is the number of outputs (default 10).
	Classes int
	// Conv1 and Conv2 are the channel counts of the two convolutions
	// (defaults 32 and 64); Hidden is the width of the hidden fully
	// connected layer (default 128).
	Conv1, Conv2, Hidden int
	// Dropout, when > 0, inserts a dropout layer with this drop
	// probability after the hidden layer.
	Dropout float64
	// Loss is the loss kind (default SoftmaxIndex).
	Loss LossKind
	// Seed and Threads are as in Config.
	Seed    uint64
	Threads int
}

// withDefaults returns c with the zero fields set to their defaults.
func (c LeNetConfig) withDefaults() LeNetConfig {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Channels, 1)
	def(&c.Height, 28)
	def(&c.Width, 28)
	def(&c.Classes, 10)
	def(&c.Conv1, 32)
	def(&c.Conv2, 64)
	def(&c.Hidden, 128)
	return c
}

// NewLeNet returns a LeNet-style network:
//
//	conv 5×5 Conv1 (pad 2) → ReLU → maxpool 2 →
//	conv 5×5 Conv2 (pad 2) → ReLU → maxpool 2 →
//	flatten → FC Hidden → ReLU → [dropout] → FC Classes → loss
//
// Each pooling halves the image (rounding down), so the hidden layer sees
// Conv2·⌊⌊H/2⌋/2⌋·⌊⌊W/2⌋/2⌋ values. It returns an error for negative
// sizes, a dropout probability outside [0, 1), or an image smaller than
// 4×4.
func NewLeNet(cfg LeNetConfig) (*Net, error) {
	c := cfg.withDefaults()
	for _, v := range []int{c.Channels, c.Height, c.Width, c.Classes, c.Conv1, c.Conv2, c.Hidden} {
		if v < 0 {
			return nil, fmt.Errorf("nn: NewLeNet: negative size in %+v", cfg)
		}
	}
	if c.Height < 4 || c.Width < 4 {
		return nil, fmt.Errorf("nn: NewLeNet: input %d×%d is smaller than 4×4", c.Height, c.Width)
	}
	if !(c.Dropout >= 0 && c.Dropout < 1) {
		return nil, fmt.Errorf("nn: NewLeNet: dropout %v is not in [0, 1)", c.Dropout)
	}
	h, w := c.Height/2/2, c.Width/2/2
	layers := []Layer{
		NewConv2D(c.Channels, c.Conv1, 5, 1, 2), NewReLU(), NewMaxPool2D(2, 2),
		NewConv2D(c.Conv1, c.Conv2, 5, 1, 2), NewReLU(), NewMaxPool2D(2, 2),
		NewFlatten(),
		NewDense(c.Conv2*h*w, c.Hidden), NewReLU(),
	}
	if c.Dropout > 0 {
		layers = append(layers, NewDropout(c.Dropout))
	}
	layers = append(layers, NewDense(c.Hidden, c.Classes))
	return NewNet([]int{c.Channels, c.Height, c.Width}, layers, NewLoss(c.Loss), Config{Seed: c.Seed, Threads: c.Threads})
}
