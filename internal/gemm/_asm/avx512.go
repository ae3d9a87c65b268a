package main

import (
	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/reg"
)

// AVX-512F: 32 zmm registers; a 14×32 tile takes 28 accumulators, two
// vectors of b and a broadcast of a. The 8×32 kernel is for m that 8
// divides better than 14; the 16-wide ones are for the last panel of B
// when it is at most 16 wide.
func avx512Kernel() {
	micro{
		name: "kernel14x32AVX512", mr: 14, nr: 32, w: 16,
		vec:  func() reg.VecVirtual { return ZMM() },
		zero: func(v reg.VecVirtual) { VPXORD(v, v, v) },
	}.emit()
	micro{
		name: "kernel14x16AVX512", mr: 14, nr: 16, w: 16,
		vec:  func() reg.VecVirtual { return ZMM() },
		zero: func(v reg.VecVirtual) { VPXORD(v, v, v) },
	}.emit()
	micro{
		name: "kernel8x32AVX512", mr: 8, nr: 32, w: 16,
		vec:  func() reg.VecVirtual { return ZMM() },
		zero: func(v reg.VecVirtual) { VPXORD(v, v, v) },
	}.emit()
	micro{
		name: "kernel8x16AVX512", mr: 8, nr: 16, w: 16,
		vec:  func() reg.VecVirtual { return ZMM() },
		zero: func(v reg.VecVirtual) { VPXORD(v, v, v) },
	}.emit()
}
