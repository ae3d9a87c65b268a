package main

import (
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// handoffNs is the one-way latency, in nanoseconds, of a cache line handed
// back and forth between two goroutines spinning on it: the median of five
// rounds of 5,000 round trips. It tells where the threads run: on the
// two-core machines the README's figures come from, about 45 ns when both
// cores share an L3 cache and about 210 ns when they do not, and the
// in-place rows of xent bench change with it. It is 0 with fewer than two
// threads to run them.
func handoffNs(threads int) float64 {
	if threads < 2 || runtime.GOMAXPROCS(0) < 2 {
		return 0
	}
	const trips = 5000
	rounds := make([]float64, 5)
	for k := range rounds {
		var line atomic.Int64
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int64(0); i < trips; i++ {
				waitFor(&line, 2*i+1)
				line.Store(2*i + 2)
			}
		}()
		start := time.Now()
		for i := int64(0); i < trips; i++ {
			line.Store(2*i + 1)
			waitFor(&line, 2*i+2)
		}
		rounds[k] = float64(time.Since(start).Nanoseconds()) / (2 * trips)
		wg.Wait()
	}
	slices.Sort(rounds)
	return rounds[len(rounds)/2]
}

// waitFor spins until line holds v, yielding now and then in case the
// other goroutine waits for a thread.
func waitFor(line *atomic.Int64, v int64) {
	for spins := 1; line.Load() != v; spins++ {
		if spins%4096 == 0 {
			runtime.Gosched()
		}
	}
}
