package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// A progress reports a training run as it goes: a bar on a terminal,
// plain lines otherwise (a file, a pipe, a test's buffer).
type progress interface {
	// epochStart announces an epoch of n training images.
	epochStart(epoch, epochs, n int)
	// batchDone reports that done images of the epoch are trained and
	// the running mean of the training loss.
	batchDone(done int, loss float64)
	// epochEnd reports the epoch's metrics, after its evaluation.
	epochEnd(m epochMetrics, epochs int, multiLabel bool)
}

// newProgress returns a bar when w is a terminal, plain lines otherwise.
func newProgress(w io.Writer) progress {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return &barProgress{w: w}
	}
	return &lineProgress{w: w}
}

// epochLine is the one-line summary of an epoch.
func epochLine(m epochMetrics, epochs int, multiLabel bool) string {
	s := fmt.Sprintf("epoch %d/%d  train loss %.4f  test loss %.4f  ", m.Epoch, epochs, m.TrainLoss, m.TestLoss)
	if multiLabel {
		s += fmt.Sprintf("mAP %.2f%%  top-M %.2f%%  F1 %.2f%%  exact %.2f%%",
			100*deref(m.TestMAP), 100*deref(m.TestTopMExact), 100*deref(m.TestF1), 100*m.TestAccuracy)
	} else {
		s += fmt.Sprintf("test accuracy %.2f%%", 100*m.TestAccuracy)
	}
	return s + fmt.Sprintf("  %.0f img/s  %.1fs", m.ImagesPerSecond, m.Seconds)
}

// lineProgress prints a line at each quarter of an epoch and one at its
// end.
type lineProgress struct {
	w             io.Writer
	epoch, epochs int
	n, next       int
	start         time.Time
}

func (p *lineProgress) epochStart(epoch, epochs, n int) {
	p.epoch, p.epochs, p.n, p.next, p.start = epoch, epochs, n, n/4, time.Now()
}

func (p *lineProgress) batchDone(done int, loss float64) {
	if done < p.next || done >= p.n {
		return
	}
	p.next = done + p.n/4
	rate := float64(done) / time.Since(p.start).Seconds()
	fmt.Fprintf(p.w, "epoch %d/%d  %d/%d images  train loss %.4f  %.0f img/s\n", p.epoch, p.epochs, done, p.n, loss, rate)
}

func (p *lineProgress) epochEnd(m epochMetrics, epochs int, multiLabel bool) {
	fmt.Fprintln(p.w, epochLine(m, epochs, multiLabel))
}

// barProgress draws a progress bar per epoch, with the running loss, and
// leaves the epoch's summary line in its place.
type barProgress struct {
	w             io.Writer
	bar           *progressbar.ProgressBar
	epoch, epochs int
	last          time.Time
}

func (p *barProgress) epochStart(epoch, epochs, n int) {
	p.epoch, p.epochs = epoch, epochs
	p.bar = progressbar.NewOptions(n,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(fmt.Sprintf("epoch %d/%d", epoch, epochs)),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("img"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetWidth(30),
		progressbar.OptionClearOnFinish(),
	)
}

func (p *barProgress) batchDone(done int, loss float64) {
	if time.Since(p.last) > 500*time.Millisecond {
		p.bar.Describe(fmt.Sprintf("epoch %d/%d loss %.4f", p.epoch, p.epochs, loss))
		p.last = time.Now()
	}
	_ = p.bar.Set(done)
}

func (p *barProgress) epochEnd(m epochMetrics, epochs int, multiLabel bool) {
	_ = p.bar.Finish()
	_ = p.bar.Clear()
	fmt.Fprintln(p.w, epochLine(m, epochs, multiLabel))
}
