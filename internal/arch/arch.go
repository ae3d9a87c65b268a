// Package arch is a registry of the assembly implementations of a kernel
// package, so that tests and benchmarks can run each one explicitly (after
// go/src/crypto/internal/impl). Packages internal/kernel and internal/gemm
// each keep one List and dispatch on its Enabled booleans.
package arch

import "golang.org/x/sys/cpu"

// Arch is one assembly implementation: Available is fixed at start-up from
// the CPU features; Enabled is what the package's dispatch reads.
type Arch struct {
	Name      string
	Available bool
	Enabled   *bool
}

// List holds a package's assembly implementations, slowest first.
type List []Arch

// Names returns the implementations this machine can run: "generic" first,
// then the assembly ones, slowest first.
func (l List) Names() []string {
	names := []string{"generic"}
	for _, a := range l {
		if a.Available {
			names = append(names, a.Name)
		}
	}
	return names
}

// Select makes the package use the named implementation (an assembly one
// also enables the slower assembly ones it may fall back on) and returns a
// function that restores the previous choice. "generic" forces the portable
// code. It reports false, changing nothing, if name is not available.
// Select is for tests and benchmarks: it must not run concurrently with
// the package's kernels.
func (l List) Select(name string) (restore func(), ok bool) {
	saved := make([]bool, len(l))
	for i, a := range l {
		saved[i] = *a.Enabled
	}
	restore = func() {
		for i, a := range l {
			*a.Enabled = saved[i]
		}
	}
	found := name == "generic"
	for _, a := range l {
		if a.Name == name && a.Available {
			found = true
		}
	}
	if !found {
		return func() {}, false
	}
	on := name != "generic"
	for _, a := range l {
		*a.Enabled = on && a.Available
		if a.Name == name {
			on = false
		}
	}
	return restore, true
}

// Active returns the name of the fastest implementation enabled now, or
// "generic" if none is.
func (l List) Active() string {
	name := "generic"
	for _, a := range l {
		if *a.Enabled {
			name = a.Name
		}
	}
	return name
}

// AnyEnabled reports whether an assembly implementation is selected now.
func (l List) AnyEnabled() bool {
	for _, a := range l {
		if *a.Enabled {
			return true
		}
	}
	return false
}

// The x86 features the assembly of this module needs, read once at
// start-up: the AVX2 code uses FMA too, and the AVX-512 code (AVX512F only)
// also uses AVX2 instructions on ymm registers.
var (
	HasAVX2   = cpu.X86.HasAVX && cpu.X86.HasAVX2 && cpu.X86.HasFMA
	HasAVX512 = HasAVX2 && cpu.X86.HasAVX512F
)

// X86 sets *avx2 and *avx512 to what the CPU supports and returns the list
// of the two x86 implementations whose dispatch reads them.
func X86(avx2, avx512 *bool) List {
	*avx2, *avx512 = HasAVX2, HasAVX512
	return List{
		{Name: "avx2", Available: HasAVX2, Enabled: avx2},
		{Name: "avx512", Available: HasAVX512, Enabled: avx512},
	}
}
