package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// scanIndex: the usual-case check of int64 index targets, 8 at a time (for
// avx512(true), whose lanes are 64-bit). It counts the targets outside
// [0, C) (compared unsigned, so negative ones are outside) and stops at
// the first group of vectors holding one outside [0, C) that is not the
// ignore index, returning the index of the group's first target as from
// (−1 if there is none); the Go wrapper finds the exact position from
// there.
func (g *gen) scanIndex() {
	g.begin("scanIndex", "(t []int64, C uint64, ignore int64) (outside, from int)", "")
	p := Load(Param("t").Base(), GP64())
	n := Load(Param("t").Len(), GP64())
	base := GP64()
	MOVQ(p, base)
	cv, iv := ZMM(), ZMM()
	VPBROADCASTQ(Load(Param("C"), GP64()), cv)
	VPBROADCASTQ(Load(Param("ignore"), GP64()), iv)
	count := GP64()
	XORQ(count, count)
	bad := g.lbl("scan_bad")
	g.loop(n, []reg.Register{p}, func(offs []int, mask Op) {
		stray := K() // outside and not ignore, in any vector of the group
		KXORW(stray, stray, stray)
		for _, off := range offs {
			x := ZMM()
			if mask != nil {
				VMOVDQU64_Z(at(p, off), mask, x)
			} else {
				VMOVDQU64(at(p, off), x)
			}
			out := K()
			if mask != nil {
				VPCMPUQ(Imm(5), cv, x, mask, out) // x ≥ C, within the tail
			} else {
				VPCMPUQ(Imm(5), cv, x, out)
			}
			ign, b := K(), K()
			VPCMPEQQ(iv, x, ign)
			KANDNW(out, ign, b) // out and not ignore
			KORW(b, stray, stray)
			c := GP32()
			KMOVW(out, c)
			POPCNTL(c, c)
			ADDQ(c.As64(), count)
		}
		KORTESTW(stray, stray)
		JNZ(LabelRef(bad))
	})
	Store(count, ReturnIndex(0))
	none := GP64()
	MOVQ(I64(-1), none)
	Store(none, ReturnIndex(1))
	g.end()
	Label(bad)
	SUBQ(base, p)
	SHRQ(Imm(3), p)
	Store(count, ReturnIndex(0))
	Store(p, ReturnIndex(1))
	g.end()
}
