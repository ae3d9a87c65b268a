package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// AVX-512F: 32 zmm registers, the exponential's constants kept in
// registers, VSCALEF for 2^n, tails through opmask registers.

func avx512(f64 bool) *gen {
	g := &gen{isa: "AVX512", z: true, f64: f64, W: 16, es: 4, U: 4}
	if f64 {
		g.W, g.es = 8, 8
	}
	return g
}

var kMaskTab Mem

// kTailMask returns an opmask of the first n lanes, 0 < n < W, read from a
// table of the 16-bit masks 2^n − 1.
func (g *gen) kTailMask(n reg.Register) Op {
	if kMaskTab.Symbol.Name == "" {
		kMaskTab = GLOBL("ktailmask", RODATA|NOPTR)
		for i := 0; i < 16; i++ {
			DATA(2*i, U16(uint16(1)<<i-1))
		}
	}
	base := GP64()
	LEAQ(kMaskTab, base)
	k := K()
	KMOVW(Mem{Base: base, Index: n, Scale: 2}, k)
	return k
}
