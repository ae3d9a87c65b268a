package main

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/xent-go/xent"
	"github.com/xent-go/xent/nn"
)

// trainConfig is what defines a training run: the flags of "xent train"
// that change the result. It is stored as JSON in the checkpoint's meta
// bytes (with the history of the epochs run so far, see checkpointMeta), so
// that "xent eval" can rebuild the network and "xent train --resume" can
// carry on exactly where the run stopped; metrics.json repeats it at the
// top level.
type trainConfig struct {
	Task        string  `json:"task"`         // "single" or "multilabel"
	Loss        string  `json:"loss"`         // "softmax", "bce" or "focal"
	TotalEpochs int     `json:"total_epochs"` // --epochs
	Batch       int     `json:"batch"`
	LR          float64 `json:"lr"`
	LRDecay     float64 `json:"lr_decay"` // the learning rate of epoch e is LR·LRDecay^(e−1)
	Optimizer   string  `json:"optimizer"`
	Momentum    float64 `json:"momentum"` // SGD only
	WeightDecay float64 `json:"weight_decay"`
	Seed        uint64  `json:"seed"`
	Threads     int     `json:"threads"`
	Limit       int     `json:"limit"`      // training images (0: all)
	TestLimit   int     `json:"test_limit"` // test images (0: all)
	Conv1       int     `json:"conv1"`
	Conv2       int     `json:"conv2"`
	Hidden      int     `json:"hidden"`
	Dropout     float64 `json:"dropout"`
	FocalGamma  float64 `json:"focal_gamma,omitempty"` // γ of --loss focal (the other losses ignore it)
	FocalAlpha  float64 `json:"focal_alpha,omitempty"` // α of --loss focal, < 0: no α (likewise)
}

// checkpointMeta is the JSON stored in a checkpoint's meta bytes.
type checkpointMeta struct {
	Config trainConfig `json:"config"`
	// Epochs holds the metrics of the epochs completed, so that a resumed
	// run writes the whole history to metrics.json and curves.png.
	Epochs []epochMetrics `json:"epochs"`
}

// The multi-label task's images (data/multimnist): 2×2 cells of 28×28.
const (
	multiSide = 56
	// multiTestSeed seeds the test images of the multi-label task; it is
	// fixed, so that runs with different seeds are scored on the same
	// images. The training images are generated with --seed.
	multiTestSeed = 0x7e57
	// The number of images generated per epoch when --limit is 0: the
	// sizes of MNIST's splits.
	multiTrainImages = 60000
	multiTestImages  = 10000
)

// lossKind returns the nn loss of the task and loss flags.
func (c *trainConfig) lossKind() nn.LossKind {
	switch {
	case c.Task == "single":
		return nn.SoftmaxIndex
	case c.Loss == "softmax":
		return nn.SoftmaxMultiLabel
	case c.Loss == "focal":
		return nn.SigmoidFocal
	default:
		return nn.Sigmoid
	}
}

// focal returns the focal loss parameters of --loss focal: γ, and α when
// FocalAlpha ≥ 0.
func (c *trainConfig) focal() xent.Focal {
	f := xent.Focal{Gamma: c.FocalGamma}
	if c.FocalAlpha >= 0 {
		f = f.WithAlpha(c.FocalAlpha)
	}
	return f
}

// validate checks the values that flags alone cannot; its errors are usage
// errors.
func (c *trainConfig) validate() error {
	switch c.Task {
	case "single", "multilabel":
	default:
		return usagef("--task %q: want single or multilabel", c.Task)
	}
	switch c.Loss {
	case "softmax":
	case "bce":
		if c.Task == "single" {
			return usagef("--loss bce needs --task multilabel; the single-label task trains with --loss softmax")
		}
	case "focal":
		if c.Task == "single" {
			return usagef("--loss focal needs --task multilabel; the single-label task trains with --loss softmax")
		}
		if !(c.FocalGamma >= 0) || math.IsInf(c.FocalGamma, 1) {
			return usagef("--focal-gamma %v: want a finite γ ≥ 0", c.FocalGamma)
		}
		if !(c.FocalAlpha <= 1) {
			return usagef("--focal-alpha %v: want α in [0, 1], or a negative value for no α", c.FocalAlpha)
		}
	default:
		return usagef("--loss %q: want softmax, bce or focal", c.Loss)
	}
	switch c.Optimizer {
	case "sgd", "adam":
	default:
		return usagef("--optimizer %q: want sgd or adam", c.Optimizer)
	}
	switch {
	case c.TotalEpochs < 1:
		return usagef("--epochs %d: need at least 1", c.TotalEpochs)
	case c.Batch < 1:
		return usagef("--batch %d: need at least 1", c.Batch)
	case !(c.LR > 0):
		return usagef("--lr %v: need a positive learning rate", c.LR)
	case !(c.LRDecay > 0 && c.LRDecay <= 1):
		return usagef("--lr-decay %v: want a factor in (0, 1]", c.LRDecay)
	case !(c.Momentum >= 0 && c.Momentum < 1):
		return usagef("--momentum %v: want a value in [0, 1)", c.Momentum)
	case !(c.WeightDecay >= 0):
		return usagef("--weight-decay %v: must not be negative", c.WeightDecay)
	case c.Threads < 1:
		return usagef("--threads %d: need at least 1", c.Threads)
	case c.Limit < 0:
		return usagef("--limit %d: must not be negative", c.Limit)
	case c.TestLimit < 0:
		return usagef("--test-limit %d: must not be negative", c.TestLimit)
	case c.Conv1 < 1 || c.Conv2 < 1 || c.Hidden < 1:
		return usagef("--conv1 %d --conv2 %d --hidden %d: need positive widths", c.Conv1, c.Conv2, c.Hidden)
	case !(c.Dropout >= 0 && c.Dropout < 1):
		return usagef("--dropout %v: want a probability in [0, 1)", c.Dropout)
	}
	return nil
}

// newNet builds the network the configuration describes.
func (c *trainConfig) newNet() (*nn.Net, error) {
	side := 28
	if c.Task == "multilabel" {
		side = multiSide
	}
	net, err := nn.NewLeNet(nn.LeNetConfig{
		Height: side, Width: side, Classes: 10,
		Conv1: c.Conv1, Conv2: c.Conv2, Hidden: c.Hidden, Dropout: c.Dropout,
		Loss: c.lossKind(), Seed: c.Seed, Threads: c.Threads,
	})
	if err == nil && c.Loss == "focal" {
		net.LossLayer().Focal = c.focal()
	}
	return net, err
}

// newOptimizer returns the optimiser the configuration describes, at the
// learning rate of epoch 1.
func (c *trainConfig) newOptimizer() nn.Optimizer {
	if c.Optimizer == "sgd" {
		return nn.NewSGD(float32(c.LR), float32(c.Momentum), float32(c.WeightDecay))
	}
	o := nn.NewAdam(float32(c.LR))
	o.WeightDecay = float32(c.WeightDecay)
	return o
}

// setEpochLR sets the optimiser's learning rate for epoch (1-based):
// LR·LRDecay^(epoch−1). It depends on the epoch alone, so a resumed run
// uses the same rates as an uninterrupted one.
func (c *trainConfig) setEpochLR(opt nn.Optimizer, epoch int) float64 {
	lr := c.LR
	for range epoch - 1 {
		lr *= c.LRDecay
	}
	switch o := opt.(type) {
	case *nn.SGD:
		o.LR = float32(lr)
	case *nn.Adam:
		o.LR = float32(lr)
	}
	return lr
}

// encodeMeta returns the checkpoint meta bytes for the configuration and
// the history so far.
func encodeMeta(cfg trainConfig, epochs []epochMetrics) ([]byte, error) {
	return json.Marshal(checkpointMeta{Config: cfg, Epochs: epochs})
}

// decodeMeta reads checkpoint meta bytes written by encodeMeta. A
// checkpoint written by something else (nn's own tests, another program)
// has no usable configuration: the error says so.
func decodeMeta(path string, meta []byte) (checkpointMeta, error) {
	var m checkpointMeta
	if err := json.Unmarshal(meta, &m); err != nil {
		return m, fmt.Errorf("%s: %w: its meta is not the JSON configuration that xent train writes: %v", path, nn.ErrCheckpoint, err)
	}
	if err := m.Config.validate(); err != nil {
		return m, fmt.Errorf("%s: %w: its configuration is invalid: %v", path, nn.ErrCheckpoint, err)
	}
	return m, nil
}
