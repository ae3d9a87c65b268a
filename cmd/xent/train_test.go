package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xent-go/xent/data/mnist"
	"github.com/xent-go/xent/nn"
)

// These tests train on a few hundred images (--limit) and evaluate on a
// few dozen (--test-limit), so that the whole package stays fast. They
// need MNIST in the Go module cache and are skipped without it.

// needMNIST skips the test when MNIST is not in the module cache.
func needMNIST(t *testing.T) {
	t.Helper()
	if _, err := mnist.FindData(); err != nil {
		t.Skipf("no MNIST: %v", err)
	}
}

// trainOK runs xent train with args and fails the test unless it succeeds.
func trainOK(t *testing.T, args ...string) string {
	t.Helper()
	code, stdout, stderr := runXent(append([]string{"train"}, args...)...)
	if code != 0 {
		t.Fatalf("train %v: exit %d, stderr %q", args, code, stderr)
	}
	return stdout
}

// readMetrics reads dir/metrics.json both into a runMetrics and as a
// generic map, to check the JSON field names.
func readMetrics(t *testing.T, dir string) (runMetrics, map[string]any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, metricsFile))
	if err != nil {
		t.Fatal(err)
	}
	var m runMetrics
	var raw map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	return m, raw
}

func TestTrainWritesOutputs(t *testing.T) {
	needMNIST(t)
	dir := t.TempDir()
	stdout := trainOK(t, "--limit", "512", "--test-limit", "100", "--epochs", "2", "--out", dir)
	if !strings.Contains(stdout, "test accuracy") || !strings.Contains(stdout, "img/s") {
		t.Errorf("no summary in the output:\n%s", stdout)
	}
	png, err := os.ReadFile(filepath.Join(dir, curvesFile))
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("curves.png is not a PNG (err %v)", err)
	}
	if _, err := nn.ReadCheckpointFile(filepath.Join(dir, checkpointFile)); err != nil {
		t.Error(err)
	}
	m, raw := readMetrics(t, dir)
	if m.Task != "single" || m.TrainImages != 512 || m.TestImages != 100 || m.Batch != defaultTrain.Batch {
		t.Errorf("metrics.json config: %+v", m.trainConfig)
	}
	rows, _ := raw["epochs"].([]any)
	if len(rows) != 2 || len(m.Epochs) != 2 {
		t.Fatalf("metrics.json holds %d epochs, want 2", len(rows))
	}
	for _, f := range []string{"epoch", "train_loss", "test_loss", "test_accuracy", "seconds", "images_per_second"} {
		if _, ok := rows[0].(map[string]any)[f]; !ok {
			t.Errorf("epoch row has no field %q", f)
		}
	}
	for i, e := range m.Epochs {
		if e.Epoch != i+1 || !(e.TrainLoss > 0 && e.TrainLoss < 5) || !(e.TestLoss > 0 && e.TestLoss < 5) ||
			!(e.TestAccuracy >= 0 && e.TestAccuracy <= 1) || !(e.Seconds > 0) || !(e.ImagesPerSecond > 0) {
			t.Errorf("epoch row %d is not sane: %+v", i, e)
		}
	}
	if last := m.Epochs[1]; last.TestAccuracy < 0.5 || last.TrainLoss >= m.Epochs[0].TrainLoss {
		t.Errorf("the network does not learn: %+v", m.Epochs)
	}

	// eval on the checkpoint gives the last epoch's test metrics.
	code, out, stderr := runXent("eval", "--model", dir, "--test-limit", "100")
	if code != 0 {
		t.Fatalf("eval: exit %d, stderr %q", code, stderr)
	}
	want := m.Epochs[1]
	for _, s := range []string{
		"test accuracy " + ftoa(100*want.TestAccuracy) + "%",
		"test loss " + ftoa4(want.TestLoss),
		"true\\pred",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("eval output does not hold %q:\n%s", s, out)
		}
	}
	if code, _, stderr := runXent("eval", "--model", dir, "--task", "multilabel"); code != 2 || !strings.Contains(stderr, "trained for --task single") {
		t.Errorf("eval --task multilabel of a single-label model: exit %d, stderr %q", code, stderr)
	}
}

func ftoa(v float64) string  { return strings.TrimSpace(fmtf("%.2f", v)) }
func ftoa4(v float64) string { return strings.TrimSpace(fmtf("%.4f", v)) }

// TestTrainResume checks that a run stopped after epoch 1 and resumed ends
// with the same weights, optimiser state and generator state as the run
// left alone; dropout and the learning rate decay make the generator and
// the epoch count matter.
func TestTrainResume(t *testing.T) {
	needMNIST(t)
	t.Run("adam", func(t *testing.T) { testResume(t, "adam", "0.001") })
	t.Run("sgd", func(t *testing.T) { testResume(t, "sgd", "0.05") })
}

func testResume(t *testing.T, optimizer, lr string) {
	whole, parts := t.TempDir(), t.TempDir()
	args := []string{"--limit", "300", "--test-limit", "50", "--batch", "32", "--dropout", "0.25",
		"--lr-decay", "0.5", "--optimizer", optimizer, "--lr", lr}
	trainOK(t, append(args, "--epochs", "2", "--out", whole)...)
	trainOK(t, append(args, "--epochs", "1", "--out", parts)...)
	stdout := trainOK(t, "--resume", parts, "--epochs", "2", "--lr", lr)
	if !strings.Contains(stdout, "resuming") {
		t.Errorf("no word of resuming in the output:\n%s", stdout)
	}
	a, err := nn.ReadCheckpointFile(filepath.Join(whole, checkpointFile))
	if err != nil {
		t.Fatal(err)
	}
	b, err := nn.ReadCheckpointFile(filepath.Join(parts, checkpointFile))
	if err != nil {
		t.Fatal(err)
	}
	if a.Epoch != 2 || b.Epoch != 2 {
		t.Errorf("epochs %d and %d, want 2", a.Epoch, b.Epoch)
	}
	if !slices.Equal(bits(a.Params), bits(b.Params)) {
		t.Error("the resumed run's weights differ from the uninterrupted run's")
	}
	if a.Steps != b.Steps || !bytes.Equal(a.RNG, b.RNG) || a.Opt.Steps != b.Opt.Steps ||
		len(a.Opt.Buffers) != len(b.Opt.Buffers) || !slices.Equal(bits(a.Opt.Buffers[0]), bits(b.Opt.Buffers[0])) {
		t.Error("the resumed run's step count, generator or optimiser state differs")
	}
	ma, _ := readMetrics(t, whole)
	mb, _ := readMetrics(t, parts)
	if len(mb.Epochs) != 2 || mb.Epochs[1].TestAccuracy != ma.Epochs[1].TestAccuracy || mb.Epochs[1].LR != ma.Epochs[0].LR/2 {
		t.Errorf("metrics after resume %+v, uninterrupted %+v", mb.Epochs, ma.Epochs)
	}

	// Nothing left to do, or a flag that would change the weights.
	code, _, stderr := runXent("train", "--resume", parts)
	checkFailure(t, code, "", stderr, "", 2, "already run 2 of 2 epochs")
	code, _, stderr = runXent("train", "--resume", parts, "--epochs", "3", "--lr", "0.1")
	checkFailure(t, code, "", stderr, "", 2, "--lr 0.1 differs from the checkpoint's "+lr)
	// --out must not silently overwrite a run.
	code, stdout, stderr = runXent(append([]string{"train", "--out", whole}, args...)...)
	checkFailure(t, code, stdout, stderr, "", 2, "already holds a run")
}

// bits returns the bit patterns of s, so that equal means bit-for-bit.
func bits(s []float32) []uint32 {
	b := make([]uint32, len(s))
	for i, v := range s {
		b[i] = math.Float32bits(v)
	}
	return b
}

func TestTrainBadCheckpoint(t *testing.T) {
	needMNIST(t)
	dir := t.TempDir()
	trainOK(t, "--limit", "64", "--test-limit", "20", "--epochs", "1", "--out", dir)
	good, err := os.ReadFile(filepath.Join(dir, checkpointFile))
	if err != nil {
		t.Fatal(err)
	}
	flipped := slices.Clone(good)
	flipped[len(flipped)/2] ^= 0x40
	for name, data := range map[string][]byte{
		"truncated": good[:len(good)/3],
		"flipped":   flipped,
		"empty":     nil,
		"text":      []byte("not a checkpoint\n"),
	} {
		p := putRaw(t, t.TempDir(), "model.ckpt", data)
		for _, cmd := range [][]string{
			{"train", "--resume", p, "--epochs", "2"},
			{"eval", "--model", p},
		} {
			code, stdout, stderr := runXent(cmd...)
			checkFailure(t, code, stdout, stderr, "", 1, "bad checkpoint", p)
			if t.Failed() {
				t.Logf("%s: %v", name, cmd)
			}
		}
	}
	missing := filepath.Join(t.TempDir(), "nosuch.ckpt")
	code, stdout, stderr := runXent("train", "--resume", missing)
	checkFailure(t, code, stdout, stderr, "", 1, "nosuch.ckpt")
}

func TestTrainBadData(t *testing.T) {
	empty := t.TempDir()
	code, stdout, stderr := runXent("train", "--data", empty, "--out", t.TempDir())
	checkFailure(t, code, stdout, stderr, "", 1, "--data", "train-images-idx3-ubyte")

	needMNIST(t)
	// A folder with the four files, one of them corrupt.
	src, _ := mnist.FindData()
	bad := t.TempDir()
	for _, name := range []string{mnist.TrainImages, mnist.TrainLabels, mnist.TestImages, mnist.TestLabels} {
		b, err := os.ReadFile(filepath.Join(src, name+".gz"))
		if err != nil {
			t.Skip(err)
		}
		if name == mnist.TestLabels {
			b = b[:len(b)/2]
		}
		putRaw(t, bad, name+".gz", b)
	}
	code, stdout, stderr = runXent("train", "--data", bad, "--limit", "64", "--out", t.TempDir())
	checkFailure(t, code, stdout, stderr, "", 1, mnist.TestLabels, "--data")
}

func TestTrainUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--loss", "focal"}, "needs --task multilabel"},
		{[]string{"--loss", "focal", "--task", "multilabel", "--focal-gamma", "-1"}, "--focal-gamma -1"},
		{[]string{"--loss", "focal", "--task", "multilabel", "--focal-gamma", "NaN"}, "--focal-gamma NaN"},
		{[]string{"--loss", "focal", "--task", "multilabel", "--focal-alpha", "1.5"}, "--focal-alpha 1.5"},
		{[]string{"--loss", "bce", "--task", "multilabel", "--focal-gamma", "1"}, "apply to --loss focal only"},
		{[]string{"--loss", "bce"}, "needs --task multilabel"},
		{[]string{"--task", "pairs"}, "want single or multilabel"},
		{[]string{"--optimizer", "rmsprop"}, "want sgd or adam"},
		{[]string{"--epochs", "0"}, "at least 1"},
		{[]string{"--lr-decay", "2"}, "(0, 1]"},
		{[]string{"extra"}, "unexpected argument"},
	} {
		code, stdout, stderr := runXent(append([]string{"train"}, c.args...)...)
		checkFailure(t, code, stdout, stderr, "", 2, c.want)
	}
	code, stdout, stderr := runXent("eval")
	checkFailure(t, code, stdout, stderr, "", 2, "--model is required")
	for _, cmd := range []string{"train", "eval"} {
		code, stdout, stderr := runXent(cmd, "--help")
		if code != 0 || stderr != "" || !strings.Contains(stdout, "--test-limit") {
			t.Errorf("%s --help: exit %d, stderr %q", cmd, code, stderr)
		}
	}
}

func TestTrainMultiLabel(t *testing.T) {
	needMNIST(t)
	for _, loss := range []string{"softmax", "bce"} {
		dir := t.TempDir()
		trainOK(t, "--task", "multilabel", "--loss", loss, "--limit", "128", "--test-limit", "64",
			"--epochs", "1", "--conv1", "4", "--conv2", "8", "--hidden", "32", "--out", dir)
		m, raw := readMetrics(t, dir)
		row := raw["epochs"].([]any)[0].(map[string]any)
		for _, f := range []string{"test_map", "test_topm_exact", "test_f1", "test_accuracy", "test_loss", "train_loss"} {
			v, ok := row[f].(float64)
			if !ok || !(v >= 0) || (f != "test_loss" && f != "train_loss" && v > 1) {
				t.Errorf("%s: %s = %v", loss, f, row[f])
			}
		}
		if m.Task != "multilabel" || m.Loss != loss {
			t.Errorf("config %+v", m.trainConfig)
		}
		code, out, stderr := runXent("eval", "--model", filepath.Join(dir, checkpointFile), "--test-limit", "64")
		if code != 0 || !strings.Contains(out, "mAP "+ftoa(100*deref(m.Epochs[0].TestMAP))+"%") {
			t.Errorf("eval %s: exit %d, stderr %q, stdout:\n%s", loss, code, stderr, out)
		}
	}
}

func fmtf(format string, v float64) string { return fmt.Sprintf(format, v) }

// TestTrainFocal: a tiny multi-label run with the focal loss writes the
// multi-label metrics and its γ and α; eval and --resume rebuild the same
// loss from the checkpoint, and a resumed run refuses another γ.
func TestTrainFocal(t *testing.T) {
	needMNIST(t)
	dir := t.TempDir()
	args := []string{"--task", "multilabel", "--loss", "focal", "--focal-gamma", "1.5", "--focal-alpha", "0.25",
		"--limit", "128", "--test-limit", "64", "--epochs", "1", "--conv1", "4", "--conv2", "8", "--hidden", "32"}
	out := trainOK(t, append(args, "--out", dir)...)
	if !strings.Contains(out, "loss(focal)") || !strings.Contains(out, "loss focal") {
		t.Errorf("stdout does not name the focal loss:\n%s", out)
	}
	m, raw := readMetrics(t, dir)
	if m.Loss != "focal" || m.FocalGamma != 1.5 || m.FocalAlpha != 0.25 || raw["focal_gamma"] != 1.5 || raw["focal_alpha"] != 0.25 {
		t.Errorf("config %+v", m.trainConfig)
	}
	row := raw["epochs"].([]any)[0].(map[string]any)
	for _, f := range []string{"test_map", "test_topm_exact", "test_f1", "test_accuracy", "test_loss", "train_loss"} {
		v, ok := row[f].(float64)
		if !ok || !(v >= 0) || (f != "test_loss" && f != "train_loss" && v > 1) {
			t.Errorf("%s = %v", f, row[f])
		}
	}
	// eval scores with the checkpoint's γ and α: the same test loss.
	code, evalOut, stderr := runXent("eval", "--model", filepath.Join(dir, checkpointFile), "--test-limit", "64")
	if code != 0 || !strings.Contains(evalOut, fmt.Sprintf("test loss %.4f", m.Epochs[0].TestLoss)) ||
		!strings.Contains(evalOut, "mAP "+ftoa(100*deref(m.Epochs[0].TestMAP))+"%") {
		t.Errorf("eval: exit %d, stderr %q, stdout:\n%s", code, stderr, evalOut)
	}
	code, stdout, stderr := runXent("train", "--resume", dir, "--epochs", "2", "--focal-gamma", "3")
	checkFailure(t, code, stdout, stderr, "", 2, "--focal-gamma 3 differs")
	trainOK(t, "--resume", dir, "--epochs", "2", "--focal-gamma", "1.5")
	m2, _ := readMetrics(t, dir)
	if len(m2.Epochs) != 2 || m2.FocalGamma != 1.5 || m2.FocalAlpha != 0.25 {
		t.Errorf("resumed: %d epochs, config %+v", len(m2.Epochs), m2.trainConfig)
	}

	// Without --focal-alpha: γ = 2 and no α, stored as α = −1.
	dir2 := t.TempDir()
	trainOK(t, "--task", "multilabel", "--loss", "focal", "--limit", "64", "--test-limit", "32", "--epochs", "1",
		"--conv1", "4", "--conv2", "8", "--hidden", "32", "--out", dir2)
	if m3, _ := readMetrics(t, dir2); m3.FocalGamma != 2 || m3.FocalAlpha != -1 {
		t.Errorf("defaults: config %+v", m3.trainConfig)
	}
}
