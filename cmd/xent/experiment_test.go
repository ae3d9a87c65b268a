package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExperimentTiny runs a tiny experiment (two losses × two seeds of 256
// images) and checks its outputs: the run folders, results.json (each
// run's row against its metrics.json, each mean and std against the rows),
// results.md, results.png and the printed table; then that running it
// again reuses the runs, and that another setting in the same folder is
// refused.
func TestExperimentTiny(t *testing.T) {
	needMNIST(t)
	dir := t.TempDir()
	args := []string{"experiment", "multilabel", "--limit", "256", "--test-limit", "100", "--epochs", "1",
		"--seeds", "2", "--losses", "softmax,bce", "--out", dir}
	code, stdout, stderr := runXent(args...)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	for _, s := range []string{"[1/4] loss softmax, seed 1", "[4/4] loss bce, seed 2", "| loss | test mAP (%)", "| softmax | ", "| bce | "} {
		if !strings.Contains(stdout, s) {
			t.Errorf("the output does not hold %q:\n%s", s, stdout)
		}
	}

	b, err := os.ReadFile(filepath.Join(dir, resultsJSON))
	if err != nil {
		t.Fatal(err)
	}
	var res experimentResults
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	runs, _ := raw["runs"].([]any)
	if len(runs) != 4 || len(res.Runs) != 4 {
		t.Fatalf("results.json holds %d runs, want 4", len(runs))
	}
	for _, f := range []string{"loss", "seed", "test_map", "test_topm_exact", "test_f1", "test_accuracy", "test_loss", "train_seconds"} {
		if _, ok := runs[0].(map[string]any)[f]; !ok {
			t.Errorf("a run of results.json has no field %q", f)
		}
	}
	if s := res.Setting; s.Seeds != 2 || s.Epochs != 1 || s.TrainImages != 256 || s.TestImages != 100 ||
		strings.Join(s.Losses, ",") != "softmax,bce" || strings.Contains(s.Arch, "loss(") || !strings.Contains(s.Arch, "conv2d") {
		t.Errorf("setting: %+v", s)
	}
	if !strings.Contains(res.Command, "--seeds 2") || !strings.HasPrefix(res.Command, "xent experiment multilabel") {
		t.Errorf("command: %q", res.Command)
	}

	// Each run's row is the last epoch of its metrics.json, and its
	// folder holds what xent train writes.
	seen := map[string]bool{}
	for _, r := range res.Runs {
		rdir := filepath.Join(dir, r.Loss+"-seed"+string(rune('0'+r.Seed)))
		seen[filepath.Base(rdir)] = true
		m, _ := readMetrics(t, rdir)
		last := m.Epochs[len(m.Epochs)-1]
		if m.Loss != r.Loss || m.Seed != uint64(r.Seed) || m.Task != "multilabel" || m.TrainImages != 256 ||
			r.TestMAP != *last.TestMAP || r.TestTopMExact != *last.TestTopMExact || r.TestF1 != *last.TestF1 ||
			r.TestAccuracy != last.TestAccuracy || r.TestLoss != last.TestLoss || r.TrainSeconds != last.TrainSeconds {
			t.Errorf("run %s seed %d: row %+v, metrics.json %+v %+v", r.Loss, r.Seed, r, m.trainConfig, last)
		}
		if !(r.TestMAP > 0 && r.TestMAP <= 1) || !(r.TrainSeconds > 0) {
			t.Errorf("run %s seed %d is not sane: %+v", r.Loss, r.Seed, r)
		}
		for _, f := range []string{checkpointFile, curvesFile} {
			if _, err := os.Stat(filepath.Join(rdir, f)); err != nil {
				t.Error(err)
			}
		}
	}
	if len(seen) != 4 {
		t.Errorf("run folders %v, want four", seen)
	}

	// Mean and sample standard deviation of two values a, b: (a+b)/2 and
	// |a−b|/√2.
	if len(res.Summary) != 2 || res.Summary[0].Loss != "softmax" || res.Summary[1].Loss != "bce" {
		t.Fatalf("summary: %+v", res.Summary)
	}
	for _, s := range res.Summary {
		var rs []runResult
		for _, r := range res.Runs {
			if r.Loss == s.Loss {
				rs = append(rs, r)
			}
		}
		if len(rs) != 2 || s.Runs != 2 {
			t.Fatalf("%s: %d runs", s.Loss, len(rs))
		}
		for name, f := range map[string]func(x scores) float64{
			"test_map":        func(x scores) float64 { return x.TestMAP },
			"test_topm_exact": func(x scores) float64 { return x.TestTopMExact },
			"test_f1":         func(x scores) float64 { return x.TestF1 },
			"test_accuracy":   func(x scores) float64 { return x.TestAccuracy },
			"test_loss":       func(x scores) float64 { return x.TestLoss },
			"train_seconds":   func(x scores) float64 { return x.TrainSeconds },
		} {
			a, b := f(rs[0].scores), f(rs[1].scores)
			mean, std := (a+b)/2, math.Abs(a-b)/math.Sqrt2
			if math.Abs(f(s.Mean)-mean) > 1e-12 || math.Abs(f(s.Std)-std) > 1e-12 {
				t.Errorf("%s %s: mean %v std %v, want %v %v (runs %v %v)", s.Loss, name, f(s.Mean), f(s.Std), mean, std, a, b)
			}
		}
	}

	md, err := os.ReadFile(filepath.Join(dir, resultsMD))
	if err != nil {
		t.Fatal(err)
	}
	mds := string(md)
	for _, s := range []string{
		"| loss | test mAP (%) | top-M exact (%) | micro F1 (%) | exact set (%) | test loss | training time (s) |",
		"| softmax | " + ftoa(100*res.Summary[0].Mean.TestMAP) + " ± " + ftoa(100*res.Summary[0].Std.TestMAP) + " | ",
		"| bce | " + ftoa(100*res.Summary[1].Mean.TestMAP) + " ± " + ftoa(100*res.Summary[1].Std.TestMAP) + " | ",
		"`" + res.Command + "`", "256 training images per epoch", "100 test images",
	} {
		if !strings.Contains(mds, s) {
			t.Errorf("results.md does not hold %q:\n%s", s, mds)
		}
	}
	if !strings.Contains(stdout, res.table()) {
		t.Errorf("the printed table is not results.md's")
	}
	png, err := os.ReadFile(filepath.Join(dir, resultsPNG))
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("results.png is not a PNG (err %v)", err)
	}

	// Again, with the flags after the name: the complete runs are reused.
	code, stdout, stderr = runXent(args...)
	if code != 0 || strings.Count(stdout, "reusing the complete run") != 4 {
		t.Errorf("rerun: exit %d, stderr %q, stdout:\n%s", code, stderr, stdout)
	}
	// Another setting in the same folder is refused.
	code, _, stderr = runXent("experiment", "--limit", "128", "--test-limit", "100", "--epochs", "1", "--seeds", "1",
		"--losses", "bce", "--out", dir, "multilabel")
	if code != 1 || !strings.Contains(stderr, "another setting") {
		t.Errorf("another setting in the same folder: exit %d, stderr %q", code, stderr)
	}
}

func TestExperimentUsage(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "name the experiment"},
		{[]string{"single"}, `unknown experiment "single"`},
		{[]string{"multilabel", "extra"}, `unexpected argument "extra"`},
		{[]string{"multilabel", "--seeds", "0"}, "--seeds 0"},
		{[]string{"--seeds", "-1", "multilabel"}, "--seeds -1"},
		{[]string{"multilabel", "--losses", "softmax,hinge"}, `unknown loss "hinge"`},
		{[]string{"multilabel", "--losses", "bce,bce"}, "bce is listed twice"},
		{[]string{"multilabel", "--losses", ""}, `unknown loss ""`},
		{[]string{"multilabel", "--epochs", "0"}, "--epochs 0"},
		{[]string{"multilabel", "--threads", "0"}, "--threads 0"},
		{[]string{"multilabel", "--lr", "-1"}, "--lr -1"},
		{[]string{"multilabel", "--limit", "-5"}, "--limit -5"},
		{[]string{"multilabel", "--nosuch"}, "nosuch"},
		{[]string{"--epochs", "x", "multilabel"}, "invalid value"},
	} {
		args := append([]string{"experiment"}, c.args...)
		args = append(args, "--out", filepath.Join(dir, "x"))
		code, _, stderr := runXent(args...)
		if code != 2 || !strings.Contains(stderr, c.want) || !strings.HasPrefix(stderr, "xent: experiment:") {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", c.args, code, stderr, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); err == nil {
		t.Errorf("a usage error created the output folder")
	}
	for _, args := range [][]string{{"experiment", "--help"}, {"help", "experiment"}, {"experiment", "multilabel", "-h"}} {
		code, stdout, stderr := runXent(args...)
		if code != 0 || stderr != "" || !strings.Contains(stdout, "--seeds") || !strings.Contains(stdout, "results.md") {
			t.Errorf("%v: exit %d, stderr %q, stdout %q", args, code, stderr, stdout)
		}
	}
}

func TestMeanStd(t *testing.T) {
	for _, c := range []struct {
		xs        []float64
		mean, std float64
	}{
		{nil, 0, 0},
		{[]float64{0.9}, 0.9, 0},
		{[]float64{1, 3}, 2, math.Sqrt2},
		{[]float64{2, 4, 4, 4, 5, 5, 7, 9}, 5, math.Sqrt(32.0 / 7)},
	} {
		m, s := meanStd(c.xs)
		if math.Abs(m-c.mean) > 1e-12 || math.Abs(s-c.std) > 1e-12 {
			t.Errorf("meanStd(%v) = %v, %v; want %v, %v", c.xs, m, s, c.mean, c.std)
		}
	}
}
