// Command _asm generates kernel_amd64.s and kernel_amd64_stubs.go, the AVX2
// and AVX-512 kernels of package kernel, with avo.
//
// Run it through go generate in internal/kernel.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

func main() {

	ConstraintExpr("amd64,!purego")
	for _, g := range []*gen{avx2(false), avx2(true), avx512(false), avx512(true)} {
		g.maxSumExp()
		g.expScale()
		g.maxSumExpCols()
		g.expScaleCols()
		g.exp()
		g.sum()
		g.maxK()
		g.expSum()
		g.expSumMax(false)
		if g.z { // AVX2's 16 registers are too few for it
			g.expSumMax(true)
		}
		g.scale()
		g.log()
		g.maxCols()
		g.expSumCols()
		g.scaleCols()
	}
	avx512(false).softmaxCols(true, false)
	avx512(false).softmaxCols(false, false)
	avx512(false).softmaxCols(true, true)
	avx512(false).softmaxCols(false, true)
	avx512(true).scanIndex()
	avx2(false).softmaxColsAVX2(true, false)
	avx2(false).softmaxColsAVX2(false, false)
	avx2(false).softmaxColsAVX2(true, true)
	avx2(false).softmaxColsAVX2(false, true)
	Generate()
}

// gen emits the kernels for one ISA and one element type.
type gen struct {
	isa   string // name suffix: "AVX2" or "AVX512"
	z     bool   // AVX-512: zmm registers, opmask tails, VSCALEF
	f64   bool
	W     int // lanes per vector
	es    int // element size in bytes
	U     int // vectors per unrolled step
	hot   map[string]reg.VecVirtual
	label int
}

func (g *gen) bits() string {
	if g.f64 {
		return "64"
	}
	return "32"
}

func (g *gen) typ() string { return "float" + g.bits() }

// begin opens a function named base+bits+isa with the given Go signature
// (written with T for the element type).
func (g *gen) begin(base, sig, doc string) {
	name := base + g.bits() + g.isa
	TEXT(name, NOSPLIT, "func"+replaceT(sig, g.typ()))
	Pragma("noescape")
	Doc(name + " is " + base + g.bits() + " for " + g.isa + doc + ".")
	g.hot = map[string]reg.VecVirtual{}
	g.label = 0
}

func (g *gen) end() {
	VZEROUPPER()
	RET()
}

func replaceT(s, t string) string {
	out := ""
	for i := 0; i < len(s); i++ {
		if s[i] == 'T' {
			out += t
		} else {
			out += string(s[i])
		}
	}
	return out
}

func (g *gen) lbl(s string) string {
	g.label++
	return fmt.Sprintf("%s%d", s, g.label)
}

func (g *gen) vec() reg.VecVirtual {
	if g.z {
		return ZMM()
	}
	return YMM()
}

type vop func(...Op)

func (g *gen) pick(ps, pd vop) vop {
	if g.f64 {
		return pd
	}
	return ps
}

func (g *gen) mov(ops ...Op)     { g.pick(VMOVUPS, VMOVUPD)(ops...) }
func (g *gen) add(a, b, c Op)    { g.pick(VADDPS, VADDPD)(a, b, c) }
func (g *gen) sub(a, b, c Op)    { g.pick(VSUBPS, VSUBPD)(a, b, c) }
func (g *gen) mul(a, b, c Op)    { g.pick(VMULPS, VMULPD)(a, b, c) }
func (g *gen) max(a, b, c Op)    { g.pick(VMAXPS, VMAXPD)(a, b, c) }
func (g *gen) min(a, b, c Op)    { g.pick(VMINPS, VMINPD)(a, b, c) }
func (g *gen) fma213(a, b, c Op) { g.pick(VFMADD213PS, VFMADD213PD)(a, b, c) }
func (g *gen) fma231(a, b, c Op) { g.pick(VFMADD231PS, VFMADD231PD)(a, b, c) }
func (g *gen) fnma231(a, b, c Op) {
	g.pick(VFNMADD231PS, VFNMADD231PD)(a, b, c)
}

// zero clears v (VPXORD: VXORPS on zmm would need AVX512DQ).
//
// On AVX-512 it loads a zero vector: avo counts the EVEX VPXORD v, v, v as
// a read of v, which would keep v live from the function's start and take
// a register for the whole function.
func (g *gen) zero(v Op) {
	if g.z {
		g.mov(g.constMem("zero"), v)
		return
	}
	g.pick(VXORPS, VXORPD)(v, v, v)
}

// bcast broadcasts the low element of x to every lane of v.
func (g *gen) bcast(x, v Op) { g.pick(VBROADCASTSS, VBROADCASTSD)(x, v) }

// k returns the constant vector name: its register if hoisted, else memory.
func (g *gen) k(name string) Op {
	if r, ok := g.hot[name]; ok {
		return r
	}
	return g.constMem(name)
}

// hoist keeps the named constants in registers for the whole function.
func (g *gen) hoist(names ...string) {
	for _, n := range names {
		if _, ok := g.hot[n]; ok {
			continue
		}
		r := g.vec()
		g.mov(g.constMem(n), r)
		g.hot[n] = r
	}
}

// kreg returns the hoisted constant's register (for operand slots that
// cannot take memory).
func (g *gen) kreg(name string) reg.VecVirtual {
	r, ok := g.hot[name]
	if !ok {
		panic("constant " + name + " not hoisted")
	}
	return r
}

// at returns the memory operand base+off.
func at(base reg.Register, off int) Mem { return Mem{Base: base, Disp: off} }

// load/store of full vectors.
func (g *gen) load(m Mem) reg.VecVirtual {
	v := g.vec()
	g.mov(m, v)
	return v
}
