package main

import (
	"github.com/xent-go/xent"
	"github.com/xent-go/xent/internal/metrics"
	"github.com/xent-go/xent/nn"
)

// evalBatch is the batch size of evaluation: the activations of a whole
// batch are held at once (nn's documentation), so a few hundred.
const evalBatch = 250

// evalResult is the score of a network on a test set.
type evalResult struct {
	N    int     // samples evaluated
	Loss float64 // mean loss per sample, as the training loss
	// Accuracy is the fraction of samples predicted exactly: the argmax
	// class for the single-label task; for the multi-label task the
	// decided set of classes (see decide) equals the true set.
	Accuracy float64
	// Confusion[t][p] counts samples of true class t predicted p
	// (single-label task only).
	Confusion [][]int
	// Multi-label task only: mean average precision over the classes,
	// the fraction of images whose M top-scored classes are their M true
	// ones, and the micro-averaged F1 of the decisions.
	MAP, TopM, F1 float64
}

// evaluate runs net over ds in batches, in evaluation mode, and scores it
// with the given loss kind (the loss of a separate layer, so that the
// network's own is left alone).
func evaluate(net *nn.Net, ds dataset, kind nn.LossKind) (evalResult, error) {
	n, size, classes := ds.Len(), ds.Size(), net.Classes()
	res := evalResult{N: n}
	if n == 0 {
		return res, nil
	}
	b := min(evalBatch, n)
	x := make([]float32, b*size)
	t := newTargets(ds, b)
	idx := make([]int, b)
	loss := nn.NewLoss(kind)
	if own := net.LossLayer(); own != nil && own.Kind == kind {
		loss.Focal = own.Focal // the network's focal parameters
	}
	var logits []float32
	var err error
	// The multi-label metrics rank each class over the whole set.
	var scores, labels []float32
	if ds.MultiLabel() {
		scores = make([]float32, 0, n*classes)
		labels = make([]float32, 0, n*classes)
	} else {
		res.Confusion = make([][]int, classes)
		for i := range res.Confusion {
			res.Confusion[i] = make([]int, classes)
		}
	}
	var sumLoss float64
	correct := 0
	for lo := 0; lo < n; lo += b {
		m := min(b, n-lo)
		idx = idx[:m]
		for k := range idx {
			idx[k] = lo + k
		}
		tb := resizeTargets(t, m)
		if err := ds.Batch(x[:m*size], tb, idx); err != nil {
			return res, err
		}
		if logits, err = net.Logits(logits, x[:m*size]); err != nil {
			return res, err
		}
		l, err := loss.Forward(&nn.Tensor{Shape: []int{m, classes}, Data: logits}, tb, false)
		if err != nil {
			return res, err
		}
		sumLoss += l * float64(m)
		if ds.MultiLabel() {
			scores = append(scores, logits...)
			labels = append(labels, tb.Values...)
			continue
		}
		for k, y := range tb.Labels {
			p := nn.Argmax(logits[k*classes : (k+1)*classes])
			res.Confusion[y][p]++
			if p == y {
				correct++
			}
		}
	}
	res.Loss = sumLoss / float64(n)
	if !ds.MultiLabel() {
		res.Accuracy = float64(correct) / float64(n)
		return res, nil
	}
	res.MAP = metrics.MeanAP(rankScores(kind, scores, n, classes), labels, n, classes)
	res.TopM = metrics.TopMExact(scores, labels, n, classes)
	pred := decide(kind, scores, n, classes)
	res.F1 = metrics.MicroF1(pred, labels)
	for i := range n {
		exact := true
		for c := range classes {
			if pred[i*classes+c] != (labels[i*classes+c] != 0) {
				exact = false
				break
			}
		}
		if exact {
			correct++
		}
	}
	res.Accuracy = float64(correct) / float64(n)
	return res, nil
}

// decide turns multi-label logits (n, C) into class decisions: for a model
// trained with the multi-label softmax loss, class c is predicted when its
// probability is at least half the largest (metrics.DecideSoftmax); for
// the sigmoid loss, when σ(s) > 1/2, i.e. s > 0 (metrics.DecideThreshold).
func decide(kind nn.LossKind, logits []float32, n, classes int) []bool {
	if kind == nn.SoftmaxMultiLabel {
		return metrics.DecideSoftmax(nil, logits, n, classes)
	}
	return metrics.DecideThreshold(nil, logits, 0)
}

// rankScores returns the scores by which mAP ranks each class over the
// images: the logits for the sigmoid losses (σ is monotone), and for the
// multi-label softmax the log-probabilities log p_c = s_c − log Σ exp s_j,
// since the softmax defines the logits of an image only up to a constant
// (ranking raw logits across images would rank that arbitrary offset).
func rankScores(kind nn.LossKind, logits []float32, n, classes int) []float32 {
	if kind != nn.SoftmaxMultiLabel {
		return logits
	}
	out := make([]float32, len(logits))
	if err := xent.LogSoftmax(out, logits, []int{n, classes}); err != nil {
		return logits // non-finite logits: the scores say so anyway
	}
	return out
}
