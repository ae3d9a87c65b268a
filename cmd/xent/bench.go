package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/xent-go/xent"
	"github.com/xent-go/xent/internal/kernel"
)

// benchCommand builds "xent bench": the fused loss timed beside the two
// memory yardsticks, a copy and a sum of the logits, in one process.
func benchCommand() *Command {
	c := &Command{
		Name:      "bench",
		UsageLine: "xent bench [--shape NxC[,NxCxHxW...]] [--dtype float32|float64|both] [--kind index|dense|multilabel|bce] [--threads N] [--runs R] [--json]",
		Short:     "time the fused loss against a copy and a sum of the logits",
		Long: `
Bench times, for each shape and dtype, in one process:
  fwd      the loss alone (no gradient)
  fwdbwd   the loss and its gradient written in place over the logits
  copy     a copy of the logits into a buffer of the same size
  sum      a sum over the logits (a read-only pass)
each the median of --runs runs after one warm-up run. Copy and sum are split
across the same number of threads as the loss, so the ratios compare like
with like. Before each fwdbwd run the logits are restored (untimed) with
ordinary stores, in 64 KiB pieces, so that they sit in cache as the layer
that computed them would leave them (one big copy would use non-temporal
stores and leave them in memory).

It prints a table with milliseconds, GB/s (bytes read, plus bytes written
for fwdbwd and copy, per second) and the ratios fwd/sum and fwdbwd/copy: the
closer to 1, the closer the loss runs to memory speed, under a line naming
the kernels the CPU gets (avx512, avx2 or generic). --json prints one JSON
object per row instead, the kernels in its field "kernels".

The last column, measured before each row, is the one-way latency of a
cache line handed between two threads (ns): where it is several times its
usual value, the threads run on cores that share no cache, the copy and sum
get more cache and bandwidth between them, and the in-place fwdbwd, whose
logits one thread restored and another reads, gets slower.

The default shapes are 4096x1000, 256x32000, 8192x32000 and 8x21x128x128;
8192x32000 needs about 3 GB of memory in float32 and 6 GB in float64.`,
		Flag: flag.NewFlagSet("bench", flag.ContinueOnError),
	}
	var o benchFlags
	fs := c.Flag
	fs.StringVar(&o.shapes, "shape", "4096x1000,256x32000,8192x32000,8x21x128x128", "comma-separated `shapes` (N x C x d1...)")
	fs.StringVar(&o.dtype, "dtype", "both", "`dtype`: float32, float64 or both")
	fs.StringVar(&o.kind, "kind", "index", "loss `kind`: index, dense, multilabel or bce")
	fs.IntVar(&o.threads, "threads", runtime.GOMAXPROCS(0), "`number` of threads")
	fs.IntVar(&o.runs, "runs", 7, "timed `runs` per measurement (the median is reported)")
	fs.BoolVar(&o.json, "json", false, "print one JSON object per row")
	c.Run = func(c *Command, args []string, stdout io.Writer) error { return o.run(args, stdout) }
	return c
}

type benchFlags struct {
	shapes, dtype, kind string
	threads, runs       int
	json                bool
}

// benchRow is one line of the report; the JSON field names are stable.
type benchRow struct {
	Shape       string  `json:"shape"`
	Dtype       string  `json:"dtype"`
	Kind        string  `json:"kind"`
	Threads     int     `json:"threads"`
	FwdNs       int64   `json:"fwd_ns"`
	FwdBwdNs    int64   `json:"fwdbwd_ns"`
	CopyNs      int64   `json:"copy_ns"`
	SumNs       int64   `json:"sum_ns"`
	Bytes       int64   `json:"bytes"`
	FwdPerSum   float64 `json:"fwd_per_sum"`
	FwdBwdPerCp float64 `json:"fwdbwd_per_copy"`
	HandoffNs   float64 `json:"handoff_ns"` // see handoffNs; 0 with one thread
	Kernels     string  `json:"kernels"`    // the kernel implementation: avx512, avx2 or generic
}

func (o *benchFlags) run(args []string, stdout io.Writer) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	if o.threads < 1 {
		return usagef("--threads %d: need at least 1", o.threads)
	}
	if o.runs < 1 {
		return usagef("--runs %d: need at least 1", o.runs)
	}
	switch o.kind {
	case "index", "dense", "multilabel", "bce":
	default:
		return usagef("--kind %q: want index, dense, multilabel or bce", o.kind)
	}
	var dtypes []string
	switch o.dtype {
	case "float32", "float64":
		dtypes = []string{o.dtype}
	case "both":
		dtypes = []string{"float32", "float64"}
	default:
		return usagef("--dtype %q: want float32, float64 or both", o.dtype)
	}
	var shapes [][]int
	for _, s := range strings.Split(o.shapes, ",") {
		shape, err := parseBenchShape(s)
		if err != nil {
			return usagef("--shape: %v", err)
		}
		shapes = append(shapes, shape)
	}
	if !o.json {
		fmt.Fprintf(stdout, "kernels: %s\n", kernel.Active())
		fmt.Fprintf(stdout, "%-14s %-7s %-10s %3s %9s %9s %9s %9s %8s %8s %8s %8s %7s %7s %7s\n",
			"shape", "dtype", "kind", "thr", "fwd ms", "f+b ms", "copy ms", "sum ms",
			"fwd GB/s", "f+b GB/s", "cpy GB/s", "sum GB/s", "fwd/sum", "f+b/cpy", "hand ns")
	}
	for _, shape := range shapes {
		for _, dt := range dtypes {
			// The previous row's buffers (up to 6 GB) are collected and
			// handed back to the system here, outside any timing.
			debug.FreeOSMemory()
			handoff := handoffNs(o.threads)
			var row benchRow
			var err error
			if dt == "float32" {
				row, err = benchOne[float32](o, shape)
			} else {
				row, err = benchOne[float64](o, shape)
			}
			if err != nil {
				return err
			}
			row.HandoffNs = handoff
			row.Kernels = kernel.Active()
			if o.json {
				b, _ := json.Marshal(row)
				fmt.Fprintf(stdout, "%s\n", b)
				continue
			}
			gbs := func(bytes int64, ns int64) float64 { return float64(bytes) / float64(ns) }
			ms := func(ns int64) float64 { return float64(ns) / 1e6 }
			fmt.Fprintf(stdout, "%-14s %-7s %-10s %3d %9.3f %9.3f %9.3f %9.3f %8.1f %8.1f %8.1f %8.1f %7.2f %7.2f %7.0f\n",
				row.Shape, row.Dtype, row.Kind, row.Threads,
				ms(row.FwdNs), ms(row.FwdBwdNs), ms(row.CopyNs), ms(row.SumNs),
				gbs(row.Bytes, row.FwdNs), gbs(2*row.Bytes, row.FwdBwdNs),
				gbs(2*row.Bytes, row.CopyNs), gbs(row.Bytes, row.SumNs),
				row.FwdPerSum, row.FwdBwdPerCp, row.HandoffNs)
		}
	}
	return nil
}

// parseBenchShape reads "NxC" or "NxCxd1x...".
func parseBenchShape(s string) ([]int, error) {
	parts := strings.Split(strings.TrimSpace(s), "x")
	if len(parts) < 2 {
		return nil, fmt.Errorf("%q: want NxC or NxCxd1...", s)
	}
	shape := make([]int, len(parts))
	total := int64(1)
	for i, p := range parts {
		d, err := strconv.ParseInt(p, 10, 32)
		if err != nil || d < 1 {
			return nil, fmt.Errorf("%q: %q is not a positive size", s, p)
		}
		shape[i] = int(d)
		if total > (1<<34)/d || total*d > math.MaxInt/8 {
			return nil, fmt.Errorf("%q: too many elements", s)
		}
		total *= d
	}
	return shape, nil
}

func benchOne[T xent.Float](o *benchFlags, shape []int) (benchRow, error) {
	n := 1
	for _, d := range shape {
		n *= d
	}
	C, P := shape[1], n/shape[1]
	var z T
	size := int64(n) * int64(sizeOfFloat(z))
	row := benchRow{Shape: benchShapeName(shape), Kind: o.kind, Threads: o.threads, Bytes: size,
		Dtype: map[int]string{4: "float32", 8: "float64"}[sizeOfFloat(z)]}

	logits := make([]T, n)
	work := make([]T, n)
	fillParallel(o.threads, n, func(lo, hi int) {
		r := rand.New(rand.NewPCG(uint64(lo), 7))
		for i := lo; i < hi; i++ {
			logits[i] = T(r.NormFloat64() * 3)
		}
	})
	var index []int64
	var dense []T
	if o.kind == "index" {
		index = make([]int64, P)
		r := rand.New(rand.NewPCG(1, 9))
		for i := range index {
			index[i] = int64(r.IntN(C))
		}
	} else {
		dense = make([]T, n)
		inner := n / (shape[0] * C)
		fillParallel(o.threads, P, func(lo, hi int) {
			r := rand.New(rand.NewPCG(uint64(lo), 11))
			for pos := lo; pos < hi; pos++ {
				base := (pos/inner)*C*inner + pos%inner
				dense[base+r.IntN(C)*inner] = 1
			}
		})
	}
	opts := &xent.Options[T]{Threads: o.threads}
	loss := func(grad, in []T) error {
		var err error
		switch o.kind {
		case "index":
			_, err = xent.CrossEntropy(grad, in, shape, index, opts)
		case "dense":
			_, err = xent.CrossEntropyDense(grad, in, shape, dense, opts)
		case "multilabel":
			_, err = xent.MultiLabel(grad, in, shape, dense, opts)
		case "bce":
			_, err = xent.SigmoidCrossEntropy(grad, in, shape, dense, opts)
		}
		return err
	}

	var err error
	row.FwdNs = median(o.runs, nil, func() {
		if e := loss(nil, logits); e != nil {
			err = e
		}
	})
	row.FwdBwdNs = median(o.runs, func() { restoreLogits(o.threads, work, logits) }, func() {
		if e := loss(work, work); e != nil {
			err = e
		}
	})
	if err != nil {
		return row, err
	}
	row.CopyNs = median(o.runs, nil, func() { parallelCopy(o.threads, work, logits) })
	var sink float64
	row.SumNs = median(o.runs, nil, func() { sink += parallelSum(o.threads, logits) })
	_ = sink
	row.FwdPerSum = float64(row.FwdNs) / float64(row.SumNs)
	row.FwdBwdPerCp = float64(row.FwdBwdNs) / float64(row.CopyNs)
	return row, nil
}

// median runs f once to warm up and then runs times more, calling setup
// (untimed) before each, and returns the median duration in nanoseconds.
func median(runs int, setup, f func()) int64 {
	times := make([]int64, runs)
	for i := -1; i < runs; i++ {
		if setup != nil {
			setup()
		}
		start := time.Now()
		f()
		if i >= 0 {
			times[i] = time.Since(start).Nanoseconds()
		}
	}
	slices.Sort(times)
	return times[runs/2]
}

// fillParallel calls f over threads contiguous ranges of [0, n).
func fillParallel(threads, n int, f func(lo, hi int)) {
	var wg sync.WaitGroup
	per := (n + threads - 1) / threads
	for lo := 0; lo < n; lo += per {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			f(lo, hi)
		}(lo, min(lo+per, n))
	}
	wg.Wait()
}

func parallelCopy[T xent.Float](threads int, dst, src []T) {
	fillParallel(threads, len(src), func(lo, hi int) { copy(dst[lo:hi], src[lo:hi]) })
}

// restoreLogits refills dst from src before a timed in-place run, in
// pieces small enough that copy uses ordinary stores: the logits then sit
// in cache as the layer that computed them would have left them. A single
// copy of a megabyte or more uses non-temporal stores, which would leave
// them in memory and time a cold read instead.
func restoreLogits[T xent.Float](threads int, dst, src []T) {
	const piece = 64 << 10 / 8
	fillParallel(threads, len(src), func(lo, hi int) {
		for ; lo < hi; lo += piece {
			end := min(lo+piece, hi)
			copy(dst[lo:end], src[lo:end])
		}
	})
}

func parallelSum[T xent.Float](threads int, s []T) float64 {
	parts := make([]float64, threads+1)
	per := (len(s) + threads - 1) / threads
	fillParallel(threads, len(s), func(lo, hi int) {
		parts[lo/per] = sumFloats(s[lo:hi])
	})
	total := 0.0
	for _, p := range parts {
		total += p
	}
	return total
}

// sumFloats sums with the kernel package's vector sum.
func sumFloats[T xent.Float](s []T) float64 {
	switch s := any(s).(type) {
	case []float32:
		return float64(kernel.Sum32(s))
	case []float64:
		return kernel.Sum64(s)
	}
	var t float64
	for _, v := range s {
		t += float64(v)
	}
	return t
}

func sizeOfFloat[T xent.Float](T) int {
	if _, ok := any(T(0)).(float32); ok {
		return 4
	}
	return 8
}

// benchShapeName writes a shape as "8192x32000".
func benchShapeName(shape []int) string {
	s := make([]string, len(shape))
	for i, d := range shape {
		s[i] = strconv.Itoa(d)
	}
	return strings.Join(s, "x")
}
