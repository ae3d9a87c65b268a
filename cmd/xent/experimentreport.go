package main

import (
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/xent-go/xent/internal/atomicfile"
)

// The files "xent experiment" writes into its --out folder.
const (
	resultsJSON = "results.json"
	resultsMD   = "results.md"
	resultsPNG  = "results.png"
)

// scores are the final test metrics and the time of one run, or their
// mean or standard deviation over seeds.
type scores struct {
	TestMAP       float64 `json:"test_map"`
	TestTopMExact float64 `json:"test_topm_exact"`
	TestF1        float64 `json:"test_f1"`
	// TestAccuracy is the exact-set accuracy: the fraction of test
	// images whose decided set of digits is their true set.
	TestAccuracy float64 `json:"test_accuracy"`
	TestLoss     float64 `json:"test_loss"`
	// TrainSeconds is the time spent training (evaluation excluded),
	// Seconds the run's wall time with its evaluations, summed over
	// the epochs.
	TrainSeconds float64 `json:"train_seconds"`
	Seconds      float64 `json:"seconds"`
}

// scoreFields lists the fields of scores, for computing statistics field
// by field.
var scoreFields = []func(s *scores) *float64{
	func(s *scores) *float64 { return &s.TestMAP },
	func(s *scores) *float64 { return &s.TestTopMExact },
	func(s *scores) *float64 { return &s.TestF1 },
	func(s *scores) *float64 { return &s.TestAccuracy },
	func(s *scores) *float64 { return &s.TestLoss },
	func(s *scores) *float64 { return &s.TrainSeconds },
	func(s *scores) *float64 { return &s.Seconds },
}

// runResult is one run's row of results.json.
type runResult struct {
	Loss string `json:"loss"`
	Seed int    `json:"seed"`
	Dir  string `json:"dir"`
	scores
}

// lossSummary is the mean and the sample standard deviation (divided by
// K−1; 0 when K = 1) over the K seeds of one loss.
type lossSummary struct {
	Loss string `json:"loss"`
	Runs int    `json:"runs"`
	Mean scores `json:"mean"`
	Std  scores `json:"std"`
}

// experimentSetting is what the runs share, for results.json and
// results.md.
type experimentSetting struct {
	Seeds       int      `json:"seeds"`
	Losses      []string `json:"losses"`
	Epochs      int      `json:"epochs"`
	TrainImages int      `json:"train_images"` // per epoch
	TestImages  int      `json:"test_images"`
	Arch        string   `json:"arch"`
	Params      int      `json:"params"`
	Optimizer   string   `json:"optimizer"`
	Batch       int      `json:"batch"`
	LR          float64  `json:"lr"`
	LRDecay     float64  `json:"lr_decay"`
	Threads     int      `json:"threads"`
	Data        string   `json:"data"`
}

// experimentResults is the content of results.json.
type experimentResults struct {
	Experiment  string            `json:"experiment"`
	Command     string            `json:"command"`
	Setting     experimentSetting `json:"setting"`
	Runs        []runResult       `json:"runs"`
	Summary     []lossSummary     `json:"summary"`
	WallSeconds float64           `json:"wall_seconds"` // of the whole experiment
}

// resultOf returns the row of a run from its metrics.json: the last
// epoch's test metrics and the run's times summed over its epochs.
func resultOf(loss string, seed int, dir string, m *runMetrics) runResult {
	last := m.Epochs[len(m.Epochs)-1]
	r := runResult{Loss: loss, Seed: seed, Dir: dir, scores: scores{
		TestMAP: deref(last.TestMAP), TestTopMExact: deref(last.TestTopMExact), TestF1: deref(last.TestF1),
		TestAccuracy: last.TestAccuracy, TestLoss: last.TestLoss,
	}}
	for _, e := range m.Epochs {
		r.TrainSeconds += e.TrainSeconds
		r.Seconds += e.Seconds
	}
	return r
}

// meanStd returns the mean and the sample standard deviation (n−1 in the
// denominator; 0 for fewer than two values) of xs.
func meanStd(xs []float64) (mean, std float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, 0
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(xs)-1))
}

// summarize gathers the runs into the results: per loss (in the order of
// cfg.Losses), the mean and standard deviation of each score over its
// seeds. first is the metrics of a run, for the shared setting.
func summarize(cfg experimentConfig, command string, first *runMetrics, runs []runResult) *experimentResults {
	res := &experimentResults{Experiment: "multilabel", Command: command, Runs: runs}
	res.Setting = experimentSetting{
		Seeds: cfg.Seeds, Losses: cfg.Losses, Epochs: cfg.Epochs, Threads: cfg.Threads,
		Optimizer: "adam", Batch: cfg.Batch, LR: cfg.LR, LRDecay: cfg.LRDecay,
	}
	if first != nil {
		s := &res.Setting
		s.TrainImages, s.TestImages, s.Params, s.Data = first.TrainImages, first.TestImages, first.Params, first.Data
		// The network without its loss layer, which differs between the runs.
		s.Arch, _, _ = strings.Cut(first.Arch, " → loss(")
	}
	for _, loss := range cfg.Losses {
		sum := lossSummary{Loss: loss}
		var rs []runResult
		for _, r := range runs {
			if r.Loss == loss {
				rs = append(rs, r)
			}
		}
		sum.Runs = len(rs)
		xs := make([]float64, len(rs))
		for _, f := range scoreFields {
			for i := range rs {
				xs[i] = *f(&rs[i].scores)
			}
			*f(&sum.Mean), *f(&sum.Std) = meanStd(xs)
		}
		res.Summary = append(res.Summary, sum)
	}
	return res
}

// table returns the Markdown table of the summary: one row per loss, the
// mean ± std over the seeds of each score.
func (res *experimentResults) table() string {
	var b strings.Builder
	k := res.Setting.Seeds
	fmt.Fprintf(&b, "| loss | test mAP (%%) | top-M exact (%%) | micro F1 (%%) | exact set (%%) | test loss | training time (s) |\n")
	fmt.Fprintf(&b, "|---|---:|---:|---:|---:|---:|---:|\n")
	pct := func(m, s float64) string { return fmt.Sprintf("%.2f ± %.2f", 100*m, 100*s) }
	for _, s := range res.Summary {
		name := s.Loss
		if s.Runs != k {
			name += fmt.Sprintf(" (%d runs)", s.Runs)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %.4f ± %.4f | %.1f ± %.1f |\n", name,
			pct(s.Mean.TestMAP, s.Std.TestMAP), pct(s.Mean.TestTopMExact, s.Std.TestTopMExact),
			pct(s.Mean.TestF1, s.Std.TestF1), pct(s.Mean.TestAccuracy, s.Std.TestAccuracy),
			s.Mean.TestLoss, s.Std.TestLoss, s.Mean.TrainSeconds, s.Std.TrainSeconds)
	}
	return b.String()
}

// markdown returns the content of results.md.
func (res *experimentResults) markdown() string {
	s := &res.Setting
	var b strings.Builder
	fmt.Fprintf(&b, "# Multi-label MNIST: softmax with 1/M targets against sigmoid cross-entropy\n\n")
	fmt.Fprintf(&b, "Mean ± standard deviation (sample, n−1) over %d seeds (1…%d) of the final test scores.\n\n", s.Seeds, s.Seeds)
	b.WriteString(res.table())
	fmt.Fprintf(&b, "\nCommand: `%s` (wall time %.0f s).\n\n", res.Command, res.WallSeconds)
	fmt.Fprintf(&b, "Setting, the same for every run: %d training images per epoch (data/multimnist, one to four MNIST "+
		"digits on a 2×2 grid of 56×56, generated from the MNIST training split with the run's seed), %d test images "+
		"(from the MNIST test split, fixed seed); %d epochs; network %s (%d parameters); %s, learning rate %g "+
		"decayed by %g per epoch, batch %d; %d threads; seed k sets the initial weights, the training images and their order.\n\n",
		s.TrainImages, s.TestImages, s.Epochs, s.Arch, s.Params, s.Optimizer, s.LR, s.LRDecay, s.Batch, s.Threads)
	b.WriteString("Scores, as xent train reports them: mAP is the mean over the ten digits of the average precision; top-M exact, the fraction " +
		"of images whose M top-scored digits are their M digits; micro F1 and exact set, of the decided digits " +
		"(softmax: p_c ≥ max p / 2; bce and focal: σ(s_c) > 1/2). Test losses of different losses are not comparable. " +
		"Training time excludes the evaluations.\n\n")
	b.WriteString("| loss | seed | test mAP (%) | top-M exact (%) | micro F1 (%) | exact set (%) | test loss | training time (s) |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range res.Runs {
		fmt.Fprintf(&b, "| %s | %d | %.2f | %.2f | %.2f | %.2f | %.4f | %.1f |\n", r.Loss, r.Seed,
			100*r.TestMAP, 100*r.TestTopMExact, 100*r.TestF1, 100*r.TestAccuracy, r.TestLoss, r.TrainSeconds)
	}
	return b.String()
}

// write writes results.json, results.md and results.png into dir, each
// atomically.
func (res *experimentResults) write(dir string) error {
	if err := atomicfile.WriteFile(filepath.Join(dir, resultsJSON), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, resultsMD), func(w io.Writer) error {
		_, err := io.WriteString(w, res.markdown())
		return err
	}); err != nil {
		return err
	}
	return res.writeChart(filepath.Join(dir, resultsPNG))
}

// writeChart draws the grouped bar chart of the summary: for each loss,
// bars of the mean test mAP, top-M exact and F1 in percent, with error
// bars of ± one standard deviation over the seeds. The value axis starts
// below the lowest bar (marked in the title) so that the differences show.
func (res *experimentResults) writeChart(path string) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("multi-label MNIST, mean ± std over %d seeds", res.Setting.Seeds)
	p.Y.Label.Text = "%"
	metrics := []struct {
		name string
		c    color.RGBA
		f    func(s *scores) float64
	}{
		{"mAP", color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, func(s *scores) float64 { return s.TestMAP }},
		{"top-M exact", color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}, func(s *scores) float64 { return s.TestTopMExact }},
		{"micro F1", color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}, func(s *scores) float64 { return s.TestF1 }},
	}
	lo := 100.0
	for _, s := range res.Summary {
		for _, m := range metrics {
			lo = min(lo, 100*(m.f(&s.Mean)-m.f(&s.Std)))
		}
	}
	// Start the axis at a multiple of 5 below the lowest error bar.
	base := max(0, 5*math.Floor(lo/5)-5)
	if base > 0 {
		p.Title.Text += fmt.Sprintf(" (axis from %g%%)", base)
	}
	const width = 0.25 // of a bar, in units of the loss axis
	for j, m := range metrics {
		var errs errPoints
		for i, s := range res.Summary {
			x := float64(i) + (float64(j)-1)*width
			y := 100 * m.f(&s.Mean)
			bar, err := plotter.NewPolygon(plotter.XYs{
				{X: x - width/2, Y: base}, {X: x + width/2, Y: base}, {X: x + width/2, Y: y}, {X: x - width/2, Y: y},
			})
			if err != nil {
				return fmt.Errorf("plotting %s: %w", m.name, err)
			}
			bar.Color = m.c
			bar.LineStyle.Width = 0
			p.Add(bar)
			if i == 0 {
				p.Legend.Add(m.name, bar)
			}
			errs = append(errs, errPoint{x, y, 100 * m.f(&s.Std)})
		}
		eb, err := plotter.NewYErrorBars(errs)
		if err != nil {
			return fmt.Errorf("plotting %s: %w", m.name, err)
		}
		eb.LineStyle.Width = vg.Points(1.2)
		p.Add(eb)
	}
	names := make([]string, len(res.Summary))
	for i, s := range res.Summary {
		names[i] = s.Loss
	}
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.6, float64(len(names))-0.4
	p.Y.Min = base
	p.Y.Max = 100 + 0.3*(100-base) // room for the legend above the bars
	p.Y.Tick.Marker = capTicks{100}
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	w := vg.Length(2.2+1.6*float64(len(names))) * vg.Inch
	return atomicfile.WriteFile(path, func(wr io.Writer) error {
		wt, err := p.WriterTo(w, 4*vg.Inch, "png")
		if err != nil {
			return err
		}
		_, err = wt.WriteTo(wr)
		return err
	})
}

// errPoints are bar tops with a symmetric error, for plotter.YErrorBars.
type errPoints []errPoint

type errPoint struct{ x, y, err float64 }

func (e errPoints) Len() int                        { return len(e) }
func (e errPoints) XY(i int) (float64, float64)     { return e[i].x, e[i].y }
func (e errPoints) YError(i int) (float64, float64) { return e[i].err, e[i].err }

// capTicks are gonum's default ticks, without those above max (the room
// left above 100% for the legend).
type capTicks struct{ max float64 }

// Ticks implements plot.Ticker.
func (c capTicks) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for _, t := range (plot.DefaultTicks{}).Ticks(lo, hi) {
		if t.Value <= c.max {
			ts = append(ts, t)
		}
	}
	return ts
}
