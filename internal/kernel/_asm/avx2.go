package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// AVX2 + FMA: 16 ymm registers, constants as memory operands, tails through
// VMASKMOV with a lane mask cut from a table.

func avx2(f64 bool) *gen {
	g := &gen{isa: "AVX2", f64: f64, W: 8, es: 4, U: 4}
	if f64 {
		g.W, g.es = 4, 8
	}
	return g
}

var ymmMaskTab Mem

// ymmMaskTab is 32 bytes of ones then 32 of zeros: the 32 bytes at offset
// 32 − n·size select the first n lanes.
func maskTab() Mem {
	if ymmMaskTab.Symbol.Name == "" {
		ymmMaskTab = GLOBL("ymmtailmask", RODATA|NOPTR)
		for i := 0; i < 8; i++ {
			DATA(4*i, U32(0xffffffff))
		}
		for i := 8; i < 16; i++ {
			DATA(4*i, U32(0))
		}
	}
	return ymmMaskTab
}

// tailMask returns the mask of the first n lanes, 0 < n < W.
func (g *gen) tailMask(n reg.Register) Op {
	if g.z {
		return g.kTailMask(n)
	}
	base, off := GP64(), GP64()
	LEAQ(maskTab().Offset(32), base)
	MOVQ(n, off)
	if g.f64 {
		SHLQ(Imm(3), off)
	} else {
		SHLQ(Imm(2), off)
	}
	NEGQ(off)
	m := YMM()
	VMOVDQU(Mem{Base: base, Index: off, Scale: 1}, m)
	return m
}

// maskLoad loads the masked lanes of m into a new vector, the others zero.
func (g *gen) maskLoad(m Mem, mask Op) reg.VecVirtual {
	v := g.vec()
	switch {
	case g.z:
		g.pick(VMOVUPS_Zv, VMOVUPD_Zv)(m, mask, v)
	case g.f64:
		VMASKMOVPD(m, mask, v)
	default:
		VMASKMOVPS(m, mask, v)
	}
	return v
}

// maskLoadInto loads the masked lanes of m into v, keeping v's other lanes.
func (g *gen) maskLoadInto(m Mem, mask Op, v reg.VecVirtual) {
	if g.z {
		g.mov(m, mask, v)
		return
	}
	t := g.maskLoad(m, mask)
	if g.f64 {
		VBLENDVPD(mask, t, v, v)
	} else {
		VBLENDVPS(mask, t, v, v)
	}
}

// maskStore stores the masked lanes of v into m.
func (g *gen) maskStore(v reg.VecVirtual, mask Op, m Mem) {
	switch {
	case g.z:
		g.mov(v, mask, m)
	case g.f64:
		VMASKMOVPD(v, mask, m)
	default:
		VMASKMOVPS(v, mask, m)
	}
}

func VMOVUPS_Zv(ops ...Op) { VMOVUPS_Z(ops[0], ops[1], ops[2]) }
func VMOVUPD_Zv(ops ...Op) { VMOVUPD_Z(ops[0], ops[1], ops[2]) }

// hreduce folds the lanes of v with op (add or max) and returns an xmm
// register holding the result in its low element.
func (g *gen) hreduce(op func(a, b, c Op), v reg.VecVirtual) reg.VecVirtual {
	y := v
	if g.z {
		y = YMM()
		VEXTRACTF64X4(Imm(1), v, y)
		op(y, v.AsY(), y)
	}
	x := XMM()
	VEXTRACTF128(Imm(1), y, x)
	op(x, y.AsX(), x)
	t := XMM()
	VMOVHLPS(x, x, t)
	op(t, x, x)
	if !g.f64 {
		VSHUFPS(Imm(0x55), x, x, t)
		op(t, x, x)
	}
	return x
}
