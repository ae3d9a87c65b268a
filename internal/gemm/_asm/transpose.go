package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// transpose8 emits transpose8AVX, the packing routine's 8×8 transposes:
// for p < kc&^7 and r < 8, d[p·ld2+r] = src[r·ld+p]. Each step loads eight
// row pieces and transposes them in three rounds: VUNPCK{L,H}PS pairs
// rows, VSHUFPS gathers four rows' elements per 128-bit lane, and
// VPERM2F128 joins the lanes.
func transpose8() {
	TEXT("transpose8AVX", NOSPLIT, "func(d []float32, ld2 int, src []float32, ld int, kc int)")
	Pragma("noescape")
	Doc("transpose8AVX is, for p < kc&^7 and r < 8, d[p*ld2+r] = src[r*ld+p].")
	n := Load(Param("kc"), GP64())
	SHRQ(U8(3), n)
	JZ(LabelRef("done"))
	s := Load(Param("src").Base(), GP64())
	l := Load(Param("ld"), GP64())
	SHLQ(U8(2), l)
	l3 := GP64()
	LEAQ(Mem{Base: l, Index: l, Scale: 2}, l3)
	s4 := GP64()
	LEAQ(Mem{Base: s, Index: l, Scale: 4}, s4)
	d := Load(Param("d").Base(), GP64())
	dl := Load(Param("ld2"), GP64())
	SHLQ(U8(2), dl)
	dl3 := GP64()
	LEAQ(Mem{Base: dl, Index: dl, Scale: 2}, dl3)
	d4 := GP64()
	LEAQ(Mem{Base: d, Index: dl, Scale: 4}, d4)
	step := GP64()
	MOVQ(dl, step)
	SHLQ(U8(3), step)

	rows := func(base, stride, stride3 reg.Register) []Mem {
		return []Mem{
			{Base: base},
			{Base: base, Index: stride, Scale: 1},
			{Base: base, Index: stride, Scale: 2},
			{Base: base, Index: stride3, Scale: 1},
		}
	}
	in := append(rows(s, l, l3), rows(s4, l, l3)...)
	out := append(rows(d, dl, dl3), rows(d4, dl, dl3)...)

	Label("loop")
	r := make([]reg.VecVirtual, 8)
	for i := range r {
		r[i] = YMM()
		VMOVUPS(in[i], r[i])
	}
	t := make([]reg.VecVirtual, 8)
	for i := 0; i < 8; i += 2 {
		t[i], t[i+1] = YMM(), YMM()
		VUNPCKLPS(r[i+1], r[i], t[i])
		VUNPCKHPS(r[i+1], r[i], t[i+1])
	}
	// u[4h+q] holds element q (and q+4) of rows 4h..4h+3.
	u := make([]reg.VecVirtual, 8)
	for h := 0; h < 2; h++ {
		a, b := t[4*h:4*h+2], t[4*h+2:4*h+4]
		for q := 0; q < 4; q++ {
			u[4*h+q] = YMM()
			imm := U8(0x44)
			if q%2 == 1 {
				imm = U8(0xEE)
			}
			VSHUFPS(imm, b[q/2], a[q/2], u[4*h+q])
		}
	}
	for q := 0; q < 4; q++ {
		lo, hi := YMM(), YMM()
		VPERM2F128(U8(0x20), u[4+q], u[q], lo)
		VPERM2F128(U8(0x31), u[4+q], u[q], hi)
		VMOVUPS(lo, out[q])
		VMOVUPS(hi, out[4+q])
	}
	ADDQ(U8(32), s)
	ADDQ(U8(32), s4)
	ADDQ(step, d)
	ADDQ(step, d4)
	DECQ(n)
	JNZ(LabelRef("loop"))
	VZEROUPPER()
	Label("done")
	RET()
}

// copyRows emits copyRowsNAVX: for p < kc, d[p·n:][:n] = src[p·ld:][:n],
// the packing of B panels that need no transpose.
func copyRows(n int) {
	name := fmt.Sprintf("copyRows%dAVX", n)
	TEXT(name, NOSPLIT, "func(d, src []float32, ld, kc int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is, for p < kc, copy(d[p*%d:][:%d], src[p*ld:][:%d]).", name, n, n, n))
	k := Load(Param("kc"), GP64())
	TESTQ(k, k)
	JZ(LabelRef("done"))
	s := Load(Param("src").Base(), GP64())
	d := Load(Param("d").Base(), GP64())
	l := Load(Param("ld"), GP64())
	SHLQ(U8(2), l)
	Label("loop")
	v := make([]reg.VecVirtual, n/8)
	for i := range v {
		v[i] = YMM()
		VMOVUPS(Mem{Base: s, Disp: 32 * i}, v[i])
	}
	for i := range v {
		VMOVUPS(v[i], Mem{Base: d, Disp: 32 * i})
	}
	ADDQ(l, s)
	ADDQ(U32(4*n), d)
	DECQ(k)
	JNZ(LabelRef("loop"))
	VZEROUPPER()
	Label("done")
	RET()
}
