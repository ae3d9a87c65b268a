package xent

import (
	"errors"
	"testing"
)

// TestScanTargetsChunks: targets checked in parallel chunks still name the
// first bad one, wherever the chunks meet, and count every ignored one,
// whatever the thread count, both for 64-bit targets (the vector kernel)
// and narrower ones (the Go loop).
func TestScanTargetsChunks(t *testing.T) {
	t.Run("int", scanTargetsChunks[int])
	t.Run("int32", scanTargetsChunks[int32])
}

func scanTargetsChunks[I Integer](t *testing.T) {
	const C, P = 3, 3*scanChunk + 100
	logits := make([]float32, C*P)
	ignore := DefaultIgnoreIndex
	for _, threads := range []int{1, 2, 4} {
		targets := make([]I, P)
		ignored := 0
		for i := range targets {
			targets[i] = I(i % C)
			if i%7 == 0 {
				targets[i] = I(ignore)
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
				targets[pos] = I(C + pos%5) // out of range
			}
			_, err := CrossEntropy(nil, logits, []int{P, C}, targets, opts)
			var ie *InputError
			if !errors.As(err, &ie) || !errors.Is(err, ErrTarget) || ie.Position != bad[0] || ie.Value != float64(C+bad[0]%5) {
				t.Fatalf("threads %d, bad targets at %v: error %v; want the one at %d", threads, bad, err, bad[0])
			}
			for _, pos := range bad {
				targets[pos] = I(pos % C)
			}
		}
	}
}
