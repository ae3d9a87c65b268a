package xent

import (
	"testing"
	"time"
)

// TestUnitsPerChunk: chunks hold about chunkElements logits, and more, up
// to 2^18, as long as 16 chunks remain; rows long enough to come one to a
// chunk that way come at least 8 to a chunk (so that they are pipelined)
// as long as 16 chunks remain.
func TestUnitsPerChunk(t *testing.T) {
	cases := []struct {
		units, unitElems int
		rows             bool
		want             int
	}{
		{4096, 1000, true, 256},     // 2^18 logits: 16 chunks
		{1024, 1000, true, 64},      // 16 chunks, more than chunkElements/C
		{100000, 100, true, 2621},   // 2^18 logits at most
		{512, 1000, true, 32},       // chunkElements/C
		{256, 32000, true, 8},       // one row per chunk before
		{8192, 32000, true, 8},      // 1024 chunks
		{64, 32000, true, 4},        // 8 would leave 8 chunks
		{16, 32000, true, 1},        // 16 chunks of one row
		{8, 32000, true, 1},         // fewer rows than chunks wanted
		{256, 1 << 20, true, 8},     // rows longer than a chunk
		{256, 32000, false, 8},      // blocks: 2^18 logits
		{1024, 21 * 256, false, 48}, // 2^18 logits at most
		{512, 21 * 256, false, 32},  // 8x21x128x128: 16 chunks
		{16, 21 * 256, false, 6},    // few blocks: the plain rule
		{10, 1, true, 1 << 15},      // tiny rows
	}
	for _, c := range cases {
		if got := unitsPerChunk(c.units, c.unitElems, c.rows); got != c.want {
			t.Errorf("unitsPerChunk(%d, %d, %v) = %d, want %d", c.units, c.unitElems, c.rows, got, c.want)
		}
	}
}

// TestPollJob: a worker that finds no job within the spin gives up (and
// blocks on the channel instead), and one that finds a job returns it.
func TestPollJob(t *testing.T) {
	jobs := make(chan *job, 1)
	const d = 2 * time.Millisecond
	start := time.Now()
	if j := pollJob(jobs, d); j != nil {
		t.Fatalf("pollJob on an empty channel = %p, want nil", j)
	}
	if waited := time.Since(start); waited < d {
		t.Errorf("pollJob gave up after %v, before its %v", waited, d)
	}
	want := new(job)
	go func() {
		time.Sleep(d / 4)
		jobs <- want
	}()
	if j := pollJob(jobs, time.Minute); j != want {
		t.Errorf("pollJob = %p, want the job sent meanwhile, %p", j, want)
	}
}
