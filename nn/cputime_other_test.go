//go:build !unix

package nn

// cpuSeconds is not available here; the benchmark then reports wall time only.
func cpuSeconds() float64 { return 0 }
