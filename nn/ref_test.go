package nn

import (
	"math"

	"github.com/xent-go/xent"
)

// refLoss is a plain float64 softmax cross-entropy with mean reduction for
// index targets (and the dense and multi-label kinds without weights), used
// where a test needs a working loss independently of package xent.
func refLoss(grad, logits []float32, shape []int, t Targets, opts *xent.Options[float32]) (xent.Result, error) {
	n, c := shape[0], shape[1]
	var total float64
	count := 0
	for i := 0; i < n; i++ {
		row := logits[i*c : (i+1)*c]
		m := math.Inf(-1)
		for _, v := range row {
			m = math.Max(m, float64(v))
		}
		var s float64
		for _, v := range row {
			s += math.Exp(float64(v) - m)
		}
		lse := m + math.Log(s)
		tgt := make([]float64, c)
		if t.Labels != nil {
			tgt[t.Labels[i]] = 1
		} else {
			M := 0.0
			for k := 0; k < c; k++ {
				tgt[k] = float64(t.Values[i*c+k])
				if tgt[k] != 0 {
					M++
				}
			}
			if M > 0 {
				for k := range tgt {
					tgt[k] /= M
				}
			}
		}
		T := 0.0
		for k := 0; k < c; k++ {
			total += tgt[k] * (lse - float64(row[k]))
			T += tgt[k]
		}
		count++
		if grad != nil {
			for k := 0; k < c; k++ {
				grad[i*c+k] = float32(T*math.Exp(float64(row[k])-lse) - tgt[k])
			}
		}
	}
	if grad != nil {
		for i := range grad {
			grad[i] /= float32(count)
		}
	}
	return xent.Result{Loss: total / float64(count), Counted: count}, nil
}
