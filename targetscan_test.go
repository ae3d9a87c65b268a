package xent

import (
	"errors"
	"testing"
)

// TestScanTargetsChunks: targets checked in parallel chunks still name the
// first bad one, wherever the chunks meet, and count every ignored one,
// whatever the thread count.
func TestScanTargetsChunks(t *testing.T) {
	const C, P = 3, 3*scanChunk + 100
	logits := make([]float32, C*P)
	for _, threads := range []int{1, 2, 4} {
		targets := make([]int, P)
		ignored := 0
		for i := range targets {
			targets[i] = i % C
			if i%7 == 0 {
				targets[i] = DefaultIgnoreIndex
				ignored++
			}
		}
		opts := &Options[float32]{Threads: threads}
		r, err := CrossEntropy(nil, logits, []int{P, C}, targets, opts)
		if err != nil || r.Ignored != ignored || r.Counted != P-ignored {
			t.Fatalf("threads %d: %+v, %v; want %d ignored, %d counted", threads, r, err, ignored, P-ignored)
		}
		for _, bad := range [][]int{{scanChunk - 1, 2 * scanChunk}, {scanChunk, 3 * scanChunk}, {P - 1}} {
			for _, pos := range bad {
				targets[pos] = C + pos%5 // out of range
			}
			_, err := CrossEntropy(nil, logits, []int{P, C}, targets, opts)
			var ie *InputError
			if !errors.As(err, &ie) || !errors.Is(err, ErrTarget) || ie.Position != bad[0] || ie.Value != float64(C+bad[0]%5) {
				t.Fatalf("threads %d, bad targets at %v: error %v; want the one at %d", threads, bad, err, bad[0])
			}
			for _, pos := range bad {
				targets[pos] = pos % C
			}
		}
	}
}
