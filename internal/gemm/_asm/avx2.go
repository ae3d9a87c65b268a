package main

import (
	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/reg"
)

// AVX2+FMA: 16 ymm registers; a 6×16 tile takes 12 accumulators, two
// vectors of b and a broadcast of a. The 6×8 kernel is for the last
// panel of B when it is at most 8 wide.
func avx2Kernel() {
	micro{
		name: "kernel6x16AVX2", mr: 6, nr: 16, w: 8,
		vec:  func() reg.VecVirtual { return YMM() },
		zero: func(v reg.VecVirtual) { VXORPS(v, v, v) },
	}.emit()
	micro{
		name: "kernel6x8AVX2", mr: 6, nr: 8, w: 8,
		vec:  func() reg.VecVirtual { return YMM() },
		zero: func(v reg.VecVirtual) { VXORPS(v, v, v) },
	}.emit()
}
