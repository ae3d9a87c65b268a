package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/xent-go/xent/nn"
)

// evalCommand builds "xent eval".
func evalCommand() *Command {
	c := &Command{
		Name:      "eval",
		UsageLine: "xent eval --model CKPT|DIR [--data DIR] [--task single|multilabel] [--test-limit N] [--threads T]",
		Short:     "evaluate a trained checkpoint on the test set",
		Long: `
Eval loads a checkpoint written by "xent train" (model.ckpt, or the run folder
holding it), rebuilds the network from the training flags stored in it, and
evaluates it on the test set: the 10,000 MNIST test images, or for a
multi-label model the 10,000 generated multi-digit test images (the same
ones train evaluates on).

For a single-label model it prints the test loss, the accuracy and the 10×10
confusion matrix (rows: true digit, columns: predicted digit). For a
multi-label model it prints the test loss, mAP, top-M exact, micro F1 and
exact-set accuracy, with the decision rule of the model's loss (see
'xent help train').`,
		Flag: flag.NewFlagSet("eval", flag.ContinueOnError),
	}
	o := &evalFlags{}
	fs := c.Flag
	fs.StringVar(&o.model, "model", "", "`checkpoint` to evaluate (a model.ckpt, or a run folder holding one)")
	fs.StringVar(&o.data, "data", "", "MNIST `folder` with the four IDX files (default: the copy in the Go module cache)")
	fs.StringVar(&o.task, "task", "", "expected `task` of the model, single or multilabel (default: the checkpoint's)")
	fs.IntVar(&o.testLimit, "test-limit", 0, "evaluate on the first `N` test images only (0: all)")
	fs.IntVar(&o.threads, "threads", runtime.GOMAXPROCS(0), "`number` of threads")
	c.Run = func(c *Command, args []string, stdout io.Writer) error {
		if len(args) > 0 {
			return usagef("unexpected argument %q", args[0])
		}
		return o.run(stdout)
	}
	return c
}

// evalFlags holds the parsed flags of "xent eval".
type evalFlags struct {
	model, data, task  string
	testLimit, threads int
}

func (o *evalFlags) run(stdout io.Writer) error {
	switch {
	case o.model == "":
		return usagef("--model is required")
	case o.task != "" && o.task != "single" && o.task != "multilabel":
		return usagef("--task %q: want single or multilabel", o.task)
	case o.testLimit < 0:
		return usagef("--test-limit %d: must not be negative", o.testLimit)
	case o.threads < 1:
		return usagef("--threads %d: need at least 1", o.threads)
	}
	path := o.model
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, checkpointFile)
	}
	ck, err := nn.ReadCheckpointFile(path)
	if err != nil {
		return err
	}
	meta, err := decodeMeta(path, ck.Meta)
	if err != nil {
		return err
	}
	cfg := meta.Config
	if o.task != "" && o.task != cfg.Task {
		return usagef("--task %s, but %s was trained for --task %s", o.task, path, cfg.Task)
	}
	cfg.Threads = o.threads
	net, err := cfg.newNet()
	if err != nil {
		return err
	}
	if err := net.Restore(ck, nil); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	dir, err := dataDir(o.data)
	if err != nil {
		return err
	}
	_, test, err := loadData(dir, cfg.Task, cfg.Seed, 1, o.testLimit)
	if err != nil {
		return err
	}
	start := time.Now()
	ev, err := evaluate(net, test, cfg.lossKind())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s\n", net)
	fmt.Fprintf(stdout, "%s: task %s, loss %s, epoch %d; %d test images from %s in %s\n",
		path, cfg.Task, cfg.Loss, ck.Epoch, ev.N, dir, time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(stdout, "test loss %.4f\n", ev.Loss)
	if test.MultiLabel() {
		rule := "p ≥ max p / 2"
		if cfg.Loss != "softmax" {
			rule = "σ(s) > 1/2"
		}
		fmt.Fprintf(stdout, "test mAP %.2f%%  top-M exact %.2f%%  micro F1 %.2f%%  exact set %.2f%%  (decisions: %s)\n",
			100*ev.MAP, 100*ev.TopM, 100*ev.F1, 100*ev.Accuracy, rule)
		return nil
	}
	fmt.Fprintf(stdout, "test accuracy %.2f%% (%d errors)\n\n", 100*ev.Accuracy, ev.N-int(ev.Accuracy*float64(ev.N)+0.5))
	printConfusion(stdout, ev.Confusion)
	return nil
}

// printConfusion prints a confusion matrix: rows are true classes, columns
// predicted ones, with each row's recall at its end.
func printConfusion(w io.Writer, m [][]int) {
	var b strings.Builder
	b.WriteString("true\\pred")
	for p := range m {
		fmt.Fprintf(&b, " %5d", p)
	}
	b.WriteString("  recall\n")
	for t, row := range m {
		fmt.Fprintf(&b, "%9d", t)
		total := 0
		for _, v := range row {
			fmt.Fprintf(&b, " %5d", v)
			total += v
		}
		if total > 0 {
			fmt.Fprintf(&b, "  %5.1f%%\n", 100*float64(row[t])/float64(total))
		} else {
			b.WriteString("       -\n")
		}
	}
	io.WriteString(w, b.String())
}
