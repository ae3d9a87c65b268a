package main

import (
	"encoding/json"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/xent-go/xent/internal/kernel"
)

// TestBenchJSON: xent bench on small shapes prints one JSON object per
// shape and dtype, with the fields the issue names, sizes that match the
// shapes and ratios that match the times.
func TestBenchJSON(t *testing.T) {
	for _, threads := range []string{"1", "2"} {
		code, stdout, stderr := runXent("bench", "--shape", "64x10,2x3x8x8", "--runs", "1", "--json", "--threads", threads)
		if code != 0 {
			t.Fatalf("threads %s: exit %d, stderr %q", threads, code, stderr)
		}
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		want := []struct {
			shape, dtype string
			bytes        int64
		}{{"64x10", "float32", 64 * 10 * 4}, {"64x10", "float64", 64 * 10 * 8}, {"2x3x8x8", "float32", 2 * 3 * 64 * 4}, {"2x3x8x8", "float64", 2 * 3 * 64 * 8}}
		if len(lines) != len(want) {
			t.Fatalf("threads %s: %d lines, want %d:\n%s", threads, len(lines), len(want), stdout)
		}
		for i, line := range lines {
			var row map[string]any
			if err := json.Unmarshal([]byte(line), &row); err != nil {
				t.Fatalf("line %d: %v: %q", i, err, line)
			}
			num := func(k string) float64 {
				v, ok := row[k].(float64)
				if !ok {
					t.Fatalf("line %d: field %q missing or not a number: %q", i, k, line)
				}
				return v
			}
			if row["shape"] != want[i].shape || row["dtype"] != want[i].dtype || row["kind"] != "index" ||
				num("threads") != map[string]float64{"1": 1, "2": 2}[threads] || num("bytes") != float64(want[i].bytes) {
				t.Errorf("line %d: %q; want shape %s, dtype %s, kind index, threads %s, bytes %d",
					i, line, want[i].shape, want[i].dtype, threads, want[i].bytes)
			}
			if impls := kernel.Implementations(); row["kernels"] != impls[len(impls)-1] {
				t.Errorf("line %d: kernels %v; want %q, the fastest of %v", i, row["kernels"], impls[len(impls)-1], impls)
			}
			for _, k := range []string{"fwd_ns", "fwdbwd_ns", "copy_ns", "sum_ns"} {
				if num(k) <= 0 {
					t.Errorf("line %d: %s = %v", i, k, num(k))
				}
			}
			if r := num("fwd_ns") / num("sum_ns"); math.Abs(num("fwd_per_sum")-r) > 1e-9*r {
				t.Errorf("line %d: fwd_per_sum %v, fwd_ns/sum_ns %v", i, num("fwd_per_sum"), r)
			}
			if r := num("fwdbwd_ns") / num("copy_ns"); math.Abs(num("fwdbwd_per_copy")-r) > 1e-9*r {
				t.Errorf("line %d: fwdbwd_per_copy %v, fwdbwd_ns/copy_ns %v", i, num("fwdbwd_per_copy"), r)
			}
			twoThreads := threads == "2" && runtime.GOMAXPROCS(0) >= 2
			if h := num("handoff_ns"); !twoThreads && h != 0 || twoThreads && !(h > 0) {
				t.Errorf("line %d, threads %s: handoff_ns %v", i, threads, h)
			}
		}
	}
}

// TestBenchBadFlags: bad flags are usage errors naming the flag, with
// nothing on stdout.
func TestBenchBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--threads", "0"}, "--threads"},
		{[]string{"--runs", "0"}, "--runs"},
		{[]string{"--kind", "softmax"}, "softmax"},
		{[]string{"--dtype", "float16"}, "float16"},
		{[]string{"--shape", "100"}, "100"},
		{[]string{"--shape", "0x5"}, "0x5"},
		{[]string{"--shape", "4x-1"}, "4x-1"},
		{[]string{"--shape", "99999999x99999999"}, "too many"},
		{[]string{"extra"}, "extra"},
	} {
		code, stdout, stderr := runXent(append([]string{"bench"}, c.args...)...)
		checkFailure(t, code, stdout, stderr, "", 2, c.want)
	}
}
