package main

import (
	"fmt"
	"image/color"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/xent-go/xent/internal/atomicfile"
)

// writeCurves draws the learning curves of the epochs so far to path as a
// PNG, atomically: on the left the training and test loss per epoch, on
// the right the test accuracy (single-label) or the test mAP, top-M exact
// and F1 (multi-label), in percent.
func writeCurves(path string, epochs []epochMetrics, multiLabel bool) error {
	loss := plot.New()
	loss.Title.Text = "loss"
	loss.X.Label.Text = "epoch"
	loss.Y.Label.Text = "mean loss"
	if err := addLine(loss, "train", color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, epochs,
		func(e epochMetrics) float64 { return e.TrainLoss }); err != nil {
		return err
	}
	if err := addLine(loss, "test", color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}, epochs,
		func(e epochMetrics) float64 { return e.TestLoss }); err != nil {
		return err
	}

	score := plot.New()
	score.X.Label.Text = "epoch"
	score.Y.Label.Text = "%"
	if multiLabel {
		score.Title.Text = "test mAP, top-M exact, F1"
		for _, s := range []struct {
			name string
			c    color.RGBA
			f    func(epochMetrics) float64
		}{
			{"mAP", color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, func(e epochMetrics) float64 { return 100 * deref(e.TestMAP) }},
			{"top-M exact", color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}, func(e epochMetrics) float64 { return 100 * deref(e.TestTopMExact) }},
			{"micro F1", color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}, func(e epochMetrics) float64 { return 100 * deref(e.TestF1) }},
		} {
			if err := addLine(score, s.name, s.c, epochs, s.f); err != nil {
				return err
			}
		}
	} else {
		score.Title.Text = "test accuracy"
		if err := addLine(score, "test", color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}, epochs,
			func(e epochMetrics) float64 { return 100 * e.TestAccuracy }); err != nil {
			return err
		}
	}
	for _, p := range []*plot.Plot{loss, score} {
		p.Add(plotter.NewGrid())
		p.X.Tick.Marker = epochTicks{}
	}
	loss.Legend.Top = true // the losses fall, the scores rise

	img := vgimg.New(10*vg.Inch, 4*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Inch / 4, PadTop: vg.Inch / 8, PadBottom: vg.Inch / 8,
		PadLeft: vg.Inch / 8, PadRight: vg.Inch / 8}
	canvases := plot.Align([][]*plot.Plot{{loss, score}}, tiles, dc)
	loss.Draw(canvases[0][0])
	score.Draw(canvases[0][1])
	return atomicfile.WriteFile(path, func(w io.Writer) error {
		_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
		return err
	})
}

// addLine adds a line with points, one per epoch, of f's values.
func addLine(p *plot.Plot, name string, c color.RGBA, epochs []epochMetrics, f func(epochMetrics) float64) error {
	xy := make(plotter.XYs, len(epochs))
	for i, e := range epochs {
		xy[i] = plotter.XY{X: float64(e.Epoch), Y: f(e)}
	}
	l, pts, err := plotter.NewLinePoints(xy)
	if err != nil {
		return fmt.Errorf("plotting %s: %w", name, err)
	}
	l.Color, pts.Color = c, c
	l.Width = vg.Points(1.5)
	p.Add(l, pts)
	p.Legend.Add(name, l, pts)
	return nil
}

// epochTicks puts a labelled tick on each whole epoch (at most about ten).
type epochTicks struct{}

// Ticks implements plot.Ticker.
func (epochTicks) Ticks(lo, hi float64) []plot.Tick {
	step := 1
	for (hi-lo)/float64(step) > 10 {
		step *= 2
	}
	var ts []plot.Tick
	for e := int(lo); float64(e) <= hi; e++ {
		if float64(e) < lo {
			continue
		}
		t := plot.Tick{Value: float64(e)}
		if e%step == 0 || step == 1 {
			t.Label = fmt.Sprint(e)
		}
		ts = append(ts, t)
	}
	return ts
}

// deref returns *p, or 0 for nil.
func deref(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}
