package xent

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Large inputs are cut into chunks of positions whose boundaries depend on
// the shape only, never on the thread count; each chunk's losses are summed
// in order and the chunks' sums are added in chunk order, so every result is
// bitwise the same whatever the number of threads.

// chunkElements is the target number of logits per chunk.
const chunkElements = 1 << 15

// A chunk of rows holds at least minChunkRows of them where that leaves
// minChunks chunks: rows are pipelined within a chunk (a row's max is
// taken while the row before is worked on), which a chunk of one row, as
// chunkElements alone gives for C ≥ 16384, never does.
const (
	minChunkRows = 8
	minChunks    = 16
)

// A chunk holds up to minChunkElements logits where that leaves minChunks
// chunks. The threads take chunks in turn, so that where a thread's chunk
// ends the next one's begins, and each chunk starts with its first lines
// not yet prefetched; with fewer, larger chunks that happens less often.
// (8×21×128×128 float32 with 2 threads on the Xeon, model 207, 8
// alternating runs of `xent bench --threads 2 --shape 8x21x128x128`:
// forward+backward median 1.47 → 1.22 ms with 16 chunks of 32 blocks
// instead of 86 of 6. 4096×1000 float32 on the Xeon with a 480 MiB L3:
// two goroutines running the bare MaxSumExp32 over the rows (a scratch
// variant of BenchmarkPoolOverhead) took 412–416 µs in 128 chunks of 32
// rows, 349–377 in 16 or 32 chunks; with 16 chunks
// of 256 rows instead of 128 of 32, 4 alternating runs of `xent bench
// --shape 4096x1000`, forward+backward 0.50–0.53 → 0.46–0.48 ms.)
const minChunkElements = 1 << 18

// unitsPerChunk is how many units (rows, or blocks of positions) of
// unitElems logits each a chunk holds: about chunkElements logits, and
// more, up to minChunkElements logits, where that leaves minChunks
// chunks; for rows at least minChunkRows where that leaves minChunks
// chunks. It depends on the shape only.
func unitsPerChunk(units, unitElems int, rows bool) int {
	n := max(chunkElements/unitElems, 1)
	least := minChunkElements / unitElems
	if rows {
		least = max(least, minChunkRows)
	}
	return max(n, min(least, units/minChunks))
}

// runner is work cut into chunks that may run in any order.
type runner interface {
	runChunk(c int)
}

// job hands the chunks of one call out to the pool's workers.
type job struct {
	r    runner
	n    int64
	next atomic.Int64
	wg   sync.WaitGroup
}

func (j *job) work() {
	for {
		c := j.next.Add(1) - 1
		if c >= j.n {
			return
		}
		j.r.runChunk(int(c))
	}
}

// pool is a set of long-lived worker goroutines, so that a call allocates
// nothing in steady state.
var pool struct {
	mu      sync.Mutex
	started int
	jobs    chan *job
}

var jobPool = sync.Pool{New: func() any { return new(job) }}

func ensureWorkers(n int) {
	pool.mu.Lock()
	defer pool.mu.Unlock()
	if pool.jobs == nil {
		pool.jobs = make(chan *job, 256)
	}
	for ; pool.started < n; pool.started++ {
		go workerLoop()
	}
}

// spinFor is how long a worker keeps looking for the next job after one
// before it blocks on the channel, yielding its P between looks. Waking a
// blocked worker costs the caller the send (up to 35 µs at times on the
// Xeon with a 480 MiB L3) and the worker's start (see parallel); calls that
// follow each other within spinFor find the worker awake. OpenMP runtimes
// and oneDNN spin the same way, for longer. float32, 2 threads, two series
// of 4 alternating runs of `xent bench`: the forward at 4096×1000 0.39–0.47
// → 0.37–0.42 ms, at 8×21×128×128 0.40–0.44 → 0.39–0.41; `xent train
// --epochs 1` no different (8,172–8,356 against 8,120–8,543 images/s).
const spinFor = 100 * time.Microsecond

// workerLoop runs the pool's jobs as they come.
func workerLoop() {
	for j := range pool.jobs {
		for j != nil {
			j.work()
			j.wg.Done()
			j = pollJob(pool.jobs, spinFor)
		}
	}
}

// pollJob returns the next job from jobs if one comes within d, or nil.
// Between looks it yields, so that it takes a P only where no other
// goroutine wants one.
func pollJob(jobs <-chan *job, d time.Duration) *job {
	deadline := time.Now().Add(d)
	for {
		select {
		case j := <-jobs:
			return j
		default:
		}
		if !time.Now().Before(deadline) {
			return nil
		}
		runtime.Gosched()
	}
}

// parallel runs r.runChunk(c) for every c in [0, chunks) on up to threads
// goroutines (0: GOMAXPROCS), the caller's included.
func parallel(r runner, chunks, threads int) {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	threads = min(threads, chunks)
	if threads <= 1 {
		for c := 0; c < chunks; c++ {
			r.runChunk(c)
		}
		return
	}
	ensureWorkers(threads - 1)
	j := jobPool.Get().(*job)
	j.r, j.n = r, int64(chunks)
	j.next.Store(0)
	j.wg.Add(threads - 1)
	for i := 1; i < threads; i++ {
		pool.jobs <- j
	}
	// The last worker the sends woke waits in this P's runnext slot, where
	// another P takes it only reluctantly: on the Xeon with a 480 MiB L3 a
	// worker woke 50–300 µs after the send while the caller kept busy. The
	// caller yields instead: the worker runs here at once, and the caller
	// waits in the global queue, which a waking P reads before it tries to
	// steal (back after 7–40 µs). 4096×1000 float32, 2 threads, `xent bench`, 4 alternating
	// runs: forward 0.43–0.49 → 0.39–0.42 ms.
	runtime.Gosched()
	j.work()
	j.wg.Wait()
	j.r = nil
	jobPool.Put(j)
}

// statePools holds one sync.Pool per state type, keyed by a nil pointer of
// that type, so generic call states are reused without allocating.
var statePools sync.Map

func getState[S any]() *S {
	key := any((*S)(nil))
	p, ok := statePools.Load(key)
	if !ok {
		p, _ = statePools.LoadOrStore(key, &sync.Pool{New: func() any { return new(S) }})
	}
	return p.(*sync.Pool).Get().(*S)
}

func putState[S any](s *S) {
	p, _ := statePools.Load(any((*S)(nil)))
	p.(*sync.Pool).Put(s)
}

// grow returns s resized to n, reusing its memory when it can.
func grow[E any](s []E, n int) []E {
	if cap(s) < n {
		return make([]E, n)
	}
	return s[:n]
}
