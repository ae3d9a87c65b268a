package metrics

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

var nan = math.NaN()

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12 }

func TestAveragePrecision(t *testing.T) {
	for _, tc := range []struct {
		name           string
		scores, labels []float64
		want           float64
	}{
		// Thresholds 0.9: TP=1 of 1 seen, P=1, R=1/2;
		// 0.8 (the tie enters together): TP=2 of 3, P=2/3, R=1;
		// 0.1: R unchanged. AP = 1/2·1 + 1/2·2/3 = 5/6.
		// (Taking the tied positive first would give 1.)
		{"tie", []float64{0.9, 0.8, 0.8, 0.1}, []float64{1, 0, 1, 0}, 5.0 / 6},
		// All tied: one threshold, P=1/2, R=1: AP = 1/2. Any order of the
		// items would give something else: 1 (positives first) or
		// 1/2·1/3 + 1/2·2/4 = 5/12 (negatives first).
		{"all tied", []float64{0.5, 0.5, 0.5, 0.5}, []float64{1, 0, 0, 1}, 0.5},
		// scikit-learn's documentation example: 0.8(+) P=1 R=1/2;
		// 0.4(−); 0.35(+) P=2/3 R=1: AP = 1/2 + 1/3 = 0.8333….
		{"sklearn doc", []float64{0.1, 0.4, 0.35, 0.8}, []float64{0, 0, 1, 1}, 5.0 / 6},
		{"perfect", []float64{3, 2, 1}, []float64{1, 1, 0}, 1},
		// The only positive is last of three: P=1/3 at R=1.
		{"worst", []float64{3, 2, 1}, []float64{0, 0, 1}, 1.0 / 3},
		// NaN ranks last: the positive enters third, P=1/3.
		{"NaN last", []float64{nan, 0.2, 0.1}, []float64{1, 0, 0}, 1.0 / 3},
		// Labels count as positive when nonzero (0.25 here).
		{"soft label", []float64{1, 2}, []float64{0.25, 0}, 0.5},
		{"one item", []float64{7}, []float64{1}, 1},
	} {
		if got := AveragePrecision(tc.scores, tc.labels); !near(got, tc.want) {
			t.Errorf("%s: AP = %v, want %v", tc.name, got, tc.want)
		}
		if got := apBrute(tc.scores, tc.labels); !near(got, tc.want) {
			t.Errorf("%s: brute-force AP = %v, want %v (the test's oracle is wrong)", tc.name, got, tc.want)
		}
	}
	for _, tc := range [][2][]float64{{{1, 2}, {0, 0}}, {nil, nil}} {
		if got := AveragePrecision(tc[0], tc[1]); !math.IsNaN(got) {
			t.Errorf("AP with no positive = %v, want NaN", got)
		}
	}
	// float32 inputs give the same result.
	if got := AveragePrecision([]float32{0.9, 0.8, 0.8, 0.1}, []float32{1, 0, 1, 0}); !near(got, 5.0/6) {
		t.Errorf("float32 AP = %v", got)
	}
}

// apBrute is average precision from a second definition: the mean, over
// the positive items i, of the precision among the items scored at least
// s_i, #{j positive : s_j ≥ s_i} / #{j : s_j ≥ s_i}. O(n²).
func apBrute(scores, labels []float64) float64 {
	geq := func(a, b float64) bool { return cmp.Compare(a, b) >= 0 } // NaN lowest
	var sum float64
	pos := 0
	for i := range scores {
		if labels[i] == 0 {
			continue
		}
		pos++
		var above, posAbove int
		for j := range scores {
			if geq(scores[j], scores[i]) {
				above++
				if labels[j] != 0 {
					posAbove++
				}
			}
		}
		sum += float64(posAbove) / float64(above)
	}
	if pos == 0 {
		return math.NaN()
	}
	return sum / float64(pos)
}

// randomCase draws n scores from few levels (many ties), sometimes NaN, and
// binary labels with the given positive rate.
func randomCase(r *rand.Rand, n, levels int, rate float64) (scores, labels []float64) {
	scores, labels = make([]float64, n), make([]float64, n)
	for i := range n {
		scores[i] = float64(r.IntN(levels)) / float64(levels)
		if r.IntN(50) == 0 {
			scores[i] = nan
		}
		if r.Float64() < rate {
			labels[i] = 1
		}
	}
	return scores, labels
}

func TestAveragePrecisionRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 2000 {
		n := 1 + r.IntN(60)
		levels := 1 + r.IntN(2*n)
		s, l := randomCase(r, n, levels, r.Float64())
		got, want := AveragePrecision(s, l), apBrute(s, l)
		if !(near(got, want) || math.IsNaN(got) && math.IsNaN(want)) {
			t.Fatalf("trial %d: AP(%v, %v) = %v, brute force %v", trial, s, l, got, want)
		}
		if math.IsNaN(got) {
			continue
		}
		// AP depends on the scores only through their order, and not on the
		// order of the items.
		perm := r.Perm(n)
		s2, l2 := make([]float64, n), make([]float64, n)
		for i, p := range perm {
			s2[i], l2[i] = 3*s[p]-1, l[p]
		}
		if got2 := AveragePrecision(s2, l2); !near(got, got2) {
			t.Fatalf("trial %d: AP %v changes to %v under a permutation and a monotone map", trial, got, got2)
		}
	}
}

func TestMeanAP(t *testing.T) {
	// Four items, three classes, row-major (n, C):
	// class 0 is the "tie" case (AP 5/6), class 1 is ranked perfectly
	// (AP 1), class 2 has no positive and is left out: mean 11/12.
	scores := []float32{
		0.9, 0.7, 0.1,
		0.8, 0.6, 0.2,
		0.8, 0.1, 0.3,
		0.1, 0.2, 0.4,
	}
	labels := []float32{
		1, 1, 0,
		0, 1, 0,
		1, 0, 0,
		0, 0, 0,
	}
	if got := MeanAP(scores, labels, 4, 3); !near(got, 11.0/12) {
		t.Errorf("MeanAP = %v, want 11/12", got)
	}
	if got := MeanAP(scores, make([]float32, 12), 4, 3); got != 0 {
		t.Errorf("MeanAP with no positive = %v, want 0", got)
	}
	if got := MeanAP([]float64(nil), nil, 0, 5); got != 0 {
		t.Errorf("MeanAP of nothing = %v, want 0", got)
	}
	// Random cross-check against the mean of brute-force columns.
	r := rand.New(rand.NewPCG(3, 4))
	for trial := range 200 {
		n, C := 1+r.IntN(40), 1+r.IntN(6)
		s, l := randomCase(r, n*C, 1+r.IntN(10), 0.3)
		var sum float64
		k := 0
		for c := range C {
			cs, cl := make([]float64, n), make([]float64, n)
			for i := range n {
				cs[i], cl[i] = s[i*C+c], l[i*C+c]
			}
			if ap := apBrute(cs, cl); !math.IsNaN(ap) {
				sum += ap
				k++
			}
		}
		want := 0.0
		if k > 0 {
			want = sum / float64(k)
		}
		if got := MeanAP(s, l, n, C); !near(got, want) {
			t.Fatalf("trial %d: MeanAP = %v, want %v", trial, got, want)
		}
	}
}

func TestTopMExact(t *testing.T) {
	scores := []float64{
		0.1, 0.9, 0.8, 0.2, // a: top 2 = {1, 2} = true set: exact
		0.5, 0.5, 0.1, 0.0, // b: M=1, tie at the top; lower index 0 wins, true is 1: not exact
		0.5, 0.5, 0.1, 0.0, // c: same scores, true is 0: exact
		0.3, 0.2, 0.1, 0.0, // d: no true class: left out
		0.3, 0.2, 0.1, 0.0, // e: M=4, all true: exact
		nan, 0.2, 0.1, 0.0, // f: NaN ranks last, top 1 = {1}, true is 0: not exact
		0.2, 0.9, 0.2, 0.0, // g: M=2, tie at the 2nd place between 0 and 2; 0 wins, true {1,2}: not exact
	}
	labels := []float64{
		0, 1, 1, 0,
		0, 1, 0, 0,
		1, 0, 0, 0,
		0, 0, 0, 0,
		1, 1, 1, 1,
		1, 0, 0, 0,
		0, 1, 1, 0,
	}
	// 3 exact (a, c, e) of 6 counted.
	if got := TopMExact(scores, labels, 7, 4); !near(got, 0.5) {
		t.Errorf("TopMExact = %v, want 1/2", got)
	}
	if got := TopMExact(scores, make([]float64, 28), 7, 4); got != 0 {
		t.Errorf("TopMExact with no labels = %v, want 0", got)
	}
	r := rand.New(rand.NewPCG(5, 6))
	for trial := range 500 {
		n, C := 1+r.IntN(30), 1+r.IntN(8)
		s, l := randomCase(r, n*C, 1+r.IntN(6), r.Float64())
		f32s, f32l := make([]float32, n*C), make([]float32, n*C)
		for i := range s {
			f32s[i], f32l[i] = float32(s[i]), float32(l[i])
		}
		want := topMBrute(s, l, n, C)
		if got := TopMExact(s, l, n, C); !near(got, want) {
			t.Fatalf("trial %d: TopMExact = %v, brute force %v", trial, got, want)
		}
		if got := TopMExact(f32s, f32l, n, C); !near(got, want) {
			t.Fatalf("trial %d: float32 TopMExact = %v, brute force %v", trial, got, want)
		}
	}
}

// topMBrute sorts each row's classes by (score descending, NaN last,
// index ascending) and compares the first M with the true set.
func topMBrute(s, l []float64, n, C int) float64 {
	exact, counted := 0, 0
	for i := range n {
		row, lab := s[i*C:(i+1)*C], l[i*C:(i+1)*C]
		order := make([]int, C)
		for c := range order {
			order[c] = c
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(row[b], row[a]) })
		m := 0
		for _, v := range lab {
			if v != 0 {
				m++
			}
		}
		if m == 0 {
			continue
		}
		counted++
		ok := true
		for _, c := range order[:m] {
			ok = ok && lab[c] != 0
		}
		if ok {
			exact++
		}
	}
	if counted == 0 {
		return 0
	}
	return float64(exact) / float64(counted)
}

func TestMicroF1(t *testing.T) {
	// TP = 2 (positions 0, 4), FP = 1 (position 1), FN = 1 (position 2):
	// F1 = 2·2 / (2·2 + 1 + 1) = 2/3.
	labels := []float32{1, 0, 1, 0, 1, 0}
	pred := []bool{true, true, false, false, true, false}
	if got := MicroF1(pred, labels); !near(got, 2.0/3) {
		t.Errorf("MicroF1 = %v, want 2/3", got)
	}
	if got := MicroF1([]bool{true, false, true, false, true, false}, labels); got != 1 {
		t.Errorf("perfect MicroF1 = %v, want 1", got)
	}
	if got := MicroF1(make([]bool, 6), labels); got != 0 {
		t.Errorf("MicroF1 of no predictions = %v, want 0", got)
	}
	if got := MicroF1(make([]bool, 6), make([]float32, 6)); got != 0 {
		t.Errorf("MicroF1 with nothing to find = %v, want 0", got)
	}
	// Random cross-check against the harmonic mean of precision and recall.
	r := rand.New(rand.NewPCG(7, 8))
	for trial := range 500 {
		n := 1 + r.IntN(50)
		p, l := make([]bool, n), make([]float64, n)
		var tp, np, nl float64
		for i := range n {
			p[i] = r.IntN(3) == 0
			if r.IntN(3) == 0 {
				l[i] = 1
			}
			if p[i] {
				np++
			}
			if l[i] != 0 {
				nl++
				if p[i] {
					tp++
				}
			}
		}
		want := 0.0
		if tp > 0 {
			prec, rec := tp/np, tp/nl
			want = 2 * prec * rec / (prec + rec)
		}
		if got := MicroF1(p, l); !near(got, want) {
			t.Fatalf("trial %d: MicroF1 = %v, want %v", trial, got, want)
		}
	}
}

func TestDecideThreshold(t *testing.T) {
	got := DecideThreshold(nil, []float32{-1, 0, 0.5, float32(nan)}, 0)
	if want := []bool{false, false, true, false}; !slices.Equal(got, want) {
		t.Errorf("DecideThreshold = %v, want %v", got, want)
	}
	// dst is reused when long enough.
	buf := make([]bool, 8)
	if got := DecideThreshold(buf, []float64{2, 1}, 1.5); &got[0] != &buf[0] || !slices.Equal(got, []bool{true, false}) {
		t.Errorf("DecideThreshold into a buffer = %v", got)
	}
}

func TestDecideSoftmax(t *testing.T) {
	l := math.Log
	logits := []float64{
		l(0.5), l(0.3), l(0.2), // max 0.5, cut 0.25: {0, 1}
		0, 0, -100, // two equal: {0, 1}
		l(0.8), l(0.15), l(0.05), // one sure class: {0}
		1, 1 - math.Ln2, 1 - math.Ln2 - 1e-9, // exactly half is in; just below is out
		nan, 0, 1, // NaN: nothing
		math.Inf(-1), math.Inf(-1), math.Inf(-1), // all −Inf: all
		math.Inf(1), 5, math.Inf(1), // +Inf: the +Inf classes
	}
	want := []bool{
		true, true, false,
		true, true, false,
		true, false, false,
		true, true, false,
		false, false, false,
		true, true, true,
		true, false, true,
	}
	if got := DecideSoftmax(nil, logits, 7, 3); !slices.Equal(got, want) {
		t.Errorf("DecideSoftmax =\n%v, want\n%v", got, want)
	}
	// Cross-check against probabilities computed explicitly.
	r := rand.New(rand.NewPCG(9, 10))
	const n, C = 500, 10
	s := make([]float32, n*C)
	for i := range s {
		s[i] = float32(r.NormFloat64() * 3)
	}
	got := DecideSoftmax(nil, s, n, C)
	for i := range n {
		row := s[i*C : (i+1)*C]
		var z, pmax float64
		for _, v := range row {
			z += math.Exp(float64(v))
		}
		for _, v := range row {
			pmax = max(pmax, math.Exp(float64(v))/z)
		}
		for c, v := range row {
			ratio := math.Exp(float64(v)) / z / pmax
			if math.Abs(ratio-0.5) < 1e-6 {
				continue
			}
			if got[i*C+c] != (ratio >= 0.5) {
				t.Fatalf("item %d class %d: p/pmax = %v, decision %v", i, c, ratio, got[i*C+c])
			}
		}
	}
}

func TestPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"AveragePrecision": func() { AveragePrecision([]float64{1}, nil) },
		"MeanAP":           func() { MeanAP(make([]float32, 6), make([]float32, 6), 2, 4) },
		"TopMExact":        func() { TopMExact(make([]float32, 6), make([]float32, 5), 2, 3) },
		"MicroF1":          func() { MicroF1(make([]bool, 2), make([]float32, 3)) },
		"DecideSoftmax":    func() { DecideSoftmax(nil, make([]float32, 5), 2, 3) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s with bad lengths did not panic", name)
				}
			}()
			f()
		}()
	}
}

func BenchmarkMeanAP(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	const n, C = 10000, 10
	s, l := make([]float32, n*C), make([]float32, n*C)
	for i := range s {
		s[i] = r.Float32()
		if r.IntN(4) == 0 {
			l[i] = 1
		}
	}
	for b.Loop() {
		MeanAP(s, l, n, C)
	}
}
