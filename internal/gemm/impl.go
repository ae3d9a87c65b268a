package gemm

// A registry of the implementations, so that tests and benchmarks can run
// each one explicitly (after go/src/crypto/internal/impl).

// archImpl is one assembly implementation: available is fixed at start-up
// from the CPU features, enabled is what the dispatch reads.
type archImpl struct {
	name      string
	available bool
	enabled   *bool
}

// Implementations returns the names of the implementations this machine
// can run: "generic" first, then the assembly ones, slowest first.
func Implementations() []string {
	names := []string{"generic"}
	for _, a := range archImpls {
		if a.available {
			names = append(names, a.name)
		}
	}
	return names
}

// Select makes Sgemm use the named implementation (an assembly one
// also enables the slower assembly ones it may fall back on) and returns a
// function that restores the previous choice. "generic" forces the portable
// code. It reports false, changing nothing, if name is not available.
// Select is for tests and benchmarks: it must not run concurrently with
// Sgemm.
func Select(name string) (restore func(), ok bool) {
	saved := make([]bool, len(archImpls))
	for i, a := range archImpls {
		saved[i] = *a.enabled
	}
	restore = func() {
		for i, a := range archImpls {
			*a.enabled = saved[i]
		}
	}
	found := name == "generic"
	for _, a := range archImpls {
		if a.name == name && a.available {
			found = true
		}
	}
	if !found {
		return func() {}, false
	}
	// archImpls is ordered slowest first: enable up to name.
	on := name != "generic"
	for _, a := range archImpls {
		*a.enabled = on && a.available
		if a.name == name {
			on = false
		}
	}
	return restore, true
}
