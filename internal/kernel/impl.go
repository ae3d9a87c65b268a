package kernel

// Implementations returns the names of the implementations this machine
// can run: "generic" first, then the assembly ones, slowest first.
func Implementations() []string { return archImpls.Names() }

// Select makes every kernel use the named implementation (an assembly one also
// enables the slower assembly ones it may fall back on) and returns a
// function that restores the previous choice. "generic" forces the portable
// code. It reports false, changing nothing, if name is not available.
// Select is for tests and benchmarks: it must not run concurrently with
// every kernel.
func Select(name string) (restore func(), ok bool) { return archImpls.Select(name) }

// Active returns the name of the implementation the kernels use now: the
// fastest this machine can run unless Select chose another.
func Active() string { return archImpls.Active() }
