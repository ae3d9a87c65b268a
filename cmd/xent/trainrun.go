package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/xent-go/xent/nn"
)

// trainRun is one training run: the configuration, the network and its
// optimiser, the data, where the outputs go, and the epochs done so far
// (more than zero after --resume).
type trainRun struct {
	cfg         trainConfig
	dataDir     string
	out         string
	net         *nn.Net
	opt         nn.Optimizer
	train, test dataset
	history     []epochMetrics // one row per completed epoch
	resumedFrom string
	prog        progress
	stdout      io.Writer
}

// The files a run writes into its --out folder.
const (
	checkpointFile = "model.ckpt"
	metricsFile    = "metrics.json"
	curvesFile     = "curves.png"
)

// run trains from the epoch after the last one in history to
// cfg.TotalEpochs. Each epoch shuffles the training set with the network's
// generator (whose state the checkpoint saves), trains on it in batches,
// evaluates the test set and then writes the checkpoint, metrics.json and
// curves.png. The weights therefore depend only on the configuration, not
// on where the run was interrupted and resumed.
func (r *trainRun) run() error {
	cfg := &r.cfg
	n, size := r.train.Len(), r.train.Size()
	if n == 0 {
		return errors.New("no training images")
	}
	b := min(cfg.Batch, n)
	perm := make([]int, n)
	x := make([]float32, b*size)
	t := newTargets(r.train, b)
	kind := cfg.lossKind()
	multi := r.train.MultiLabel()

	trained, trainSec := 0, 0.0
	start := time.Now()
	for epoch := len(r.history) + 1; epoch <= cfg.TotalEpochs; epoch++ {
		t0 := time.Now()
		lr := cfg.setEpochLR(r.opt, epoch)
		for i := range perm {
			perm[i] = i
		}
		r.net.Rand().Shuffle(n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		r.prog.epochStart(epoch, cfg.TotalEpochs, n)
		var sum float64
		for lo := 0; lo < n; lo += b {
			m := min(b, n-lo)
			tb := resizeTargets(t, m)
			if err := r.train.Batch(x[:m*size], tb, perm[lo:lo+m]); err != nil {
				return err
			}
			loss, err := r.net.TrainStep(x[:m*size], tb, r.opt)
			if err != nil {
				return fmt.Errorf("epoch %d, batch at image %d: %w (if the loss diverged, lower --lr)", epoch, lo, err)
			}
			sum += loss * float64(m)
			r.prog.batchDone(lo+m, sum/float64(lo+m))
		}
		sec := time.Since(t0).Seconds()
		trained += n
		trainSec += sec

		ev, err := evaluate(r.net, r.test, kind)
		if err != nil {
			return fmt.Errorf("epoch %d, evaluation: %w", epoch, err)
		}
		row := epochMetrics{
			Epoch: epoch, LR: lr,
			TrainLoss: sum / float64(n), TestLoss: ev.Loss, TestAccuracy: ev.Accuracy,
			Seconds: time.Since(t0).Seconds(), TrainSeconds: sec, ImagesPerSecond: float64(n) / sec,
		}
		if multi {
			row.TestMAP, row.TestTopMExact, row.TestF1 = ptr(ev.MAP), ptr(ev.TopM), ptr(ev.F1)
		}
		r.history = append(r.history, row)
		if err := r.save(epoch); err != nil {
			return err
		}
		r.prog.epochEnd(row, cfg.TotalEpochs, multi)
	}

	last := r.history[len(r.history)-1]
	fmt.Fprintf(r.stdout, "done: %d epochs", cfg.TotalEpochs)
	if r.resumedFrom != "" {
		fmt.Fprintf(r.stdout, " (resumed after epoch %d)", cfg.TotalEpochs-trained/n)
	}
	if multi {
		fmt.Fprintf(r.stdout, "  test mAP %.2f%%  top-M exact %.2f%%  F1 %.2f%%  exact %.2f%%",
			100*deref(last.TestMAP), 100*deref(last.TestTopMExact), 100*deref(last.TestF1), 100*last.TestAccuracy)
	} else {
		fmt.Fprintf(r.stdout, "  test accuracy %.2f%%", 100*last.TestAccuracy)
	}
	fmt.Fprintf(r.stdout, "  test loss %.4f  %.0f img/s  wall %s\n",
		last.TestLoss, float64(trained)/trainSec, time.Since(start).Round(100*time.Millisecond))
	fmt.Fprintf(r.stdout, "wrote %s, %s, %s in %s\n", checkpointFile, metricsFile, curvesFile, r.out)
	return nil
}

// save writes the checkpoint, metrics.json and curves.png of the epochs so
// far, each atomically.
func (r *trainRun) save(epoch int) error {
	meta, err := encodeMeta(r.cfg, r.history)
	if err != nil {
		return err
	}
	if err := nn.SaveCheckpoint(filepath.Join(r.out, checkpointFile), r.net, r.opt, epoch, meta); err != nil {
		return err
	}
	m := &runMetrics{
		trainConfig: r.cfg,
		Arch:        r.net.Arch(),
		Params:      len(r.net.Params()),
		Data:        r.dataDir,
		TrainImages: r.train.Len(),
		TestImages:  r.test.Len(),
		ResumedFrom: r.resumedFrom,
		Epochs:      r.history,
	}
	if err := writeMetrics(filepath.Join(r.out, metricsFile), m); err != nil {
		return err
	}
	return writeCurves(filepath.Join(r.out, curvesFile), r.history, r.train.MultiLabel())
}
