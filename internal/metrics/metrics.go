// Package metrics evaluates multi-label predictions: n items (images), C
// classes, scores of shape (n, C) where higher means more likely (logits or
// probabilities), and labels of shape (n, C) where a nonzero value marks a
// true class, as the loss counts labels (SPEC §2.3: M = #{c : t_c ≠ 0}).
//
// Ranking metrics (AveragePrecision, MeanAP, TopMExact) use the scores
// only through their order. Decision metrics (MicroF1) take binary
// decisions, made from the scores by DecideThreshold (sigmoid outputs) or
// DecideSoftmax (softmax outputs).
//
// NaN scores rank below every other score, tied with each other. Inputs are
// validated by the callers; a length mismatch panics.
package metrics

import (
	"cmp"
	"math"
	"slices"
)

// Float is the element type of scores and labels.
type Float interface{ ~float32 | ~float64 }

// AveragePrecision returns the average precision of one class: the
// area under its precision-recall curve, computed as scikit-learn's
// average_precision_score does,
//
//	AP = Σ_k (R_k − R_{k−1}) · P_k,
//
// where k runs over the distinct scores in decreasing order, P_k and R_k
// are the precision and recall of predicting positive every item scored at
// least the k-th distinct score, and R_0 = 0. Tied items enter together, at
// one threshold, so the result does not depend on their order.
// An item is positive when its label is nonzero. With no positive item AP
// is undefined and AveragePrecision returns NaN.
// It panics if the lengths of scores and labels differ.
func AveragePrecision[F Float](scores, labels []F) float64 {
	if len(scores) != len(labels) {
		panic("metrics: AveragePrecision: scores and labels differ in length")
	}
	idx := make([]int, len(scores))
	return averagePrecision(scores, labels, idx)
}

// averagePrecision is AveragePrecision with a scratch slice idx of
// len(scores) indices.
func averagePrecision[F Float](scores, labels []F, idx []int) float64 {
	pos := 0
	for i := range idx {
		idx[i] = i
		if labels[i] != 0 {
			pos++
		}
	}
	if pos == 0 {
		return math.NaN()
	}
	// Decreasing score; cmp.Compare puts NaN below everything.
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })
	var ap float64
	tp, seen, prevTP := 0, 0, 0
	for k := 0; k < len(idx); {
		s := scores[idx[k]]
		// One threshold: every item tied with s.
		for k < len(idx) && cmp.Compare(scores[idx[k]], s) == 0 {
			if labels[idx[k]] != 0 {
				tp++
			}
			seen++
			k++
		}
		if tp > prevTP {
			ap += float64(tp-prevTP) / float64(pos) * float64(tp) / float64(seen)
			prevTP = tp
		}
	}
	return ap
}

// MeanAP returns the mean of AveragePrecision over the classes that have at
// least one positive item, for scores and labels of shape (n, C); classes
// without a positive are left out. It returns 0 if no class has a positive.
// It panics if len(scores) or len(labels) is not n·C.
func MeanAP[F Float](scores, labels []F, n, C int) float64 {
	checkShape("MeanAP", len(scores), len(labels), n, C)
	s, l, idx := make([]F, n), make([]F, n), make([]int, n)
	var sum float64
	classes := 0
	for c := range C {
		for i := range n {
			s[i], l[i] = scores[i*C+c], labels[i*C+c]
		}
		if ap := averagePrecision(s, l, idx); !math.IsNaN(ap) {
			sum += ap
			classes++
		}
	}
	if classes == 0 {
		return 0
	}
	return sum / float64(classes)
}

// TopMExact returns the fraction of items whose M top-scored classes are
// exactly their true classes, where M is the item's number of true classes.
// Classes are ranked by decreasing score, ties broken by increasing class
// index (so at a tie on the M-th place the lower class index is taken),
// NaN last. Items without a true class are left out; it returns 0 if no
// item has one.
// It panics if len(scores) or len(labels) is not n·C.
func TopMExact[F Float](scores, labels []F, n, C int) float64 {
	checkShape("TopMExact", len(scores), len(labels), n, C)
	exact, counted := 0, 0
	for i := range n {
		s, l := scores[i*C:(i+1)*C], labels[i*C:(i+1)*C]
		// The top-M set is the true set iff the lowest-ranked true class
		// ranks above the highest-ranked false one.
		worstPos, bestNeg := -1, -1
		for c := range C {
			if l[c] != 0 {
				if worstPos < 0 || cmp.Compare(s[c], s[worstPos]) <= 0 {
					worstPos = c // ties: the later index ranks lower
				}
			} else if bestNeg < 0 || cmp.Compare(s[c], s[bestNeg]) > 0 {
				bestNeg = c // ties: the earlier index ranks higher
			}
		}
		if worstPos < 0 {
			continue
		}
		counted++
		if bestNeg < 0 || ranksAbove(s, worstPos, bestNeg) {
			exact++
		}
	}
	if counted == 0 {
		return 0
	}
	return float64(exact) / float64(counted)
}

// ranksAbove reports whether class a ranks above class b: a higher score,
// or an equal score and a lower index.
func ranksAbove[F Float](s []F, a, b int) bool {
	if d := cmp.Compare(s[a], s[b]); d != 0 {
		return d > 0
	}
	return a < b
}

// MicroF1 returns the micro-averaged F1 score of binary decisions pred
// against labels (both of any shape, flattened): with TP, FP and FN counted
// over every (item, class) pair,
//
//	F1 = 2·TP / (2·TP + FP + FN).
//
// A label is positive when nonzero. With no positive label and no positive
// decision the denominator is 0 and MicroF1 returns 0, as scikit-learn's
// f1_score does by default.
// It panics if the lengths differ.
func MicroF1[F Float](pred []bool, labels []F) float64 {
	if len(pred) != len(labels) {
		panic("metrics: MicroF1: pred and labels differ in length")
	}
	var tp, fp, fn int
	for i, p := range pred {
		switch t := labels[i] != 0; {
		case p && t:
			tp++
		case p:
			fp++
		case t:
			fn++
		}
	}
	if d := 2*tp + fp + fn; d > 0 {
		return float64(2*tp) / float64(d)
	}
	return 0
}

// DecideThreshold sets dst[i] = scores[i] > thr and returns dst, grown if
// it is too short. For logits of a sigmoid model thr = 0 is the usual
// decision σ(s) > 1/2, the midpoint between the binary targets 0 and 1.
func DecideThreshold[F Float](dst []bool, scores []F, thr F) []bool {
	dst = slices.Grow(dst[:0], len(scores))[:len(scores)]
	for i, s := range scores {
		dst[i] = s > thr
	}
	return dst
}

// DecideSoftmax makes decisions from the logits of a model trained with the
// multi-label softmax loss, of shape (n, C): it predicts class c of item i
// when its probability is at least half the item's largest one,
//
//	p_c ≥ max_k p_k / 2   ⇔   s_c ≥ max_k s_k − ln 2,
//
// and returns dst, grown if it is too short.
//
// Why: the loss's targets are p_c = 1/M for the M true classes and 0 for
// the others, so the natural cut is the midpoint 1/(2M), as σ > 1/2 is for
// sigmoid targets 0 and 1. M is unknown at test time; the largest
// probability estimates 1/M (exactly so at the target), which gives the
// rule. It needs no tuned constant, adapts to M, and always predicts at
// least the top class (every image of multimnist holds a digit). A fixed
// cut such as 1/(2·Mmax) would instead admit a stray class at p = 0.2 on
// an image with one sure digit. Its weakness is the converse: a true class
// scored below half the top one (p = 0.3 beside 0.7) is missed.
//
// A row holding a NaN logit predicts nothing; a row of −Inf predicts all.
// It panics if len(logits) is not n·C.
func DecideSoftmax[F Float](dst []bool, logits []F, n, C int) []bool {
	if len(logits) != n*C {
		panic("metrics: DecideSoftmax: len(logits) is not n·C")
	}
	dst = slices.Grow(dst[:0], len(logits))[:len(logits)]
	for i := range n {
		row := logits[i*C : (i+1)*C]
		m := math.Inf(-1)
		for _, s := range row {
			if math.IsNaN(float64(s)) {
				m = math.NaN()
				break
			}
			m = max(m, float64(s))
		}
		cut := m - math.Ln2
		for c, s := range row {
			dst[i*C+c] = float64(s) >= cut
		}
	}
	return dst
}

func checkShape(op string, ns, nl, n, C int) {
	if n < 0 || C < 0 || ns != n*C || nl != n*C {
		panic("metrics: " + op + ": scores and labels must both hold n·C values")
	}
}
