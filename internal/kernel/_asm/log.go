package main

import (
	"fmt"
	"math"
	"math/big"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The vector natural logarithm.
//
// -- Range reduction --
// x = 2^k · m, m in [√½, √2), read off the bit pattern: with
// u = bits(x) + bits(1) − bits(√½), u >> (p−1) = k + bias and
// (u & mantissa) + bits(√½) = bits(m) (p = mantissa bits). k becomes a
// float by OR-ing k + bias into the mantissa of 2^(p−1) and subtracting
// 2^(p−1) + bias. Subnormal x is first multiplied by 2^(p−1), and p−1
// taken off k.
//
// -- Polynomial --
// With f = m − 1 (exact) and s = f/(2 + f), |s| ≤ 3 − 2√2,
// log(1+f) = log((1+s)/(1−s)) = 2s + s·R, R = Σ_{j≥1} 2s^(2j)/(2j+1),
// and, as 2s = f − s·f, log(1+f) = f − (hfsq − s·(hfsq + R)) with
// hfsq = f²/2 (the arrangement of fdlibm's log). R = z·q(z), z = s², q
// interpolated at Chebyshev nodes of [0, (3−2√2)²], 4 coefficients for
// float32 and 7 for float64, computed below in 256-bit arithmetic.
// log(x) = k·ln2hi − ((hfsq − (s·(hfsq + R) + k·ln2lo)) − f), ln2hi with
// enough trailing zeros that k·ln2hi is exact.
//
// -- Special values --
// The reduction is right only for positive finite x. AVX-512: VFIXUPIMM
// replaces the result by class of x: 0 → −Inf, negative (−Inf included)
// → NaN, +Inf → +Inf, NaN → NaN (quieted), 1 → +0. AVX2: one integer
// compare finds the lanes that are not positive normal numbers; if a step
// of vectors has any, it is done by a slower path that scales subnormals
// and blends in the special results.

func init() {
	f := func(name string, v32, v64 float64) { consts[name] = fconst{f32: v32, f64: v64} }
	b := func(name string, b32 uint32, b64 uint64) { consts[name] = fconst{raw: true, b32: b32, b64: b64} }
	const sqrth32, sqrth64 = 0x3f3504f3, 0x3fe6a09e667f3bcd // √½
	b("lsqrth", sqrth32, sqrth64)
	b("loff", 0x3f800000-sqrth32, 0x3ff0000000000000-sqrth64)
	b("lmant", 1<<23-1, 1<<52-1)
	f("lkmagic", 1<<23, 1<<52)
	f("lkbias", 1<<23+127, 1<<52+1023)
	f("lone", 1, 1)
	f("ltwo", 2, 2)
	f("lhalf", 0.5, 0.5)
	// ln2 = hi + lo, hi with 12 (float32) and 21 (float64) trailing zero
	// bits, so that k·hi is exact for every k.
	f("lln2hi", float64(math.Float32frombits(0x3f317180)), math.Float64frombits(0x3fe62e42fee00000))
	f("lln2lo", float64(float32(math.Ln2-float64(math.Float32frombits(0x3f317180)))),
		math.Ln2-math.Float64frombits(0x3fe62e42fee00000))
	f("ltiny", 0x1p-126, 0x1p-1022) // smallest normal
	f("lsubsc", 0x1p23, 0x1p52)
	f("lsubk", 23, 52)
	f("lzero", 0, 0)
	f("lposinf", math.Inf(1), math.Inf(1))
	f("lneginf", math.Inf(-1), math.Inf(-1))
	f("lnan", math.NaN(), math.NaN())
	// bits(x) + lbadoff > lbadthr (signed) iff x is not a positive normal
	// number: the unsigned test bits(x) − bits(tiny) ≥ bits(+Inf) − bits(tiny)
	// with the sign bit flipped.
	b("lbadoff", 0x7f800000, 0x7ff0000000000000)
	b("lbadthr", 0xfeffffff, 0xffdfffffffffffff)
	// VFIXUPIMM responses by class of x, 4 bits each: QNaN 2 (QNaN(x)),
	// SNaN 2, zero 4 (−Inf), +1 8 (+0), −Inf 3 (default NaN), +Inf 5 (+Inf),
	// negative 3, positive 0 (keep the result).
	b("lfix", 0x03538422, 0x03538422)
	for i, c := range fitLog(4) {
		consts[fmt.Sprintf("lq%d", i)] = fconst{f32: c}
	}
	for i, c := range fitLog(7) {
		fc := consts[fmt.Sprintf("lq%d", i)]
		fc.f64 = c
		consts[fmt.Sprintf("lq%d", i)] = fc
	}
}

// fitLog returns the n coefficients of q(z) ≈ Σ_j 2z^j/(2j+3) on
// [0, (3−2√2)²].
func fitLog(n int) []float64 {
	const prec = 256
	nf := func(x float64) *big.Float { return new(big.Float).SetPrec(prec).SetFloat64(x) }
	q := func(z *big.Float) *big.Float {
		sum, p := nf(0), nf(2)
		for j := 0; j < 40; j++ {
			sum.Add(sum, new(big.Float).SetPrec(prec).Quo(p, nf(float64(2*j+3))))
			p.Mul(p, z)
		}
		return sum
	}
	smax := 3 - 2*math.Sqrt2
	zmax := smax * smax * 1.001
	return interpolate(q, zmax/2, zmax/2, n)
}

func (g *gen) nq() int {
	if g.f64 {
		return 7
	}
	return 4
}

func (g *gen) logConsts() []string {
	names := []string{"loff", "lmant", "lsqrth", "lkmagic", "lkbias", "lone", "ltwo", "lhalf", "lln2lo", "lln2hi"}
	for i := g.nq() - 1; i >= 0; i-- {
		names = append(names, fmt.Sprintf("lq%d", i))
	}
	if g.z {
		names = append(names, "ltiny", "lsubsc", "lsubk", "lfix")
	}
	return names
}

// ior, iand, iadd, isrl: integer lane operations of the element width.
func (g *gen) ior(a, b, c Op) {
	switch {
	case !g.z:
		VPOR(a, b, c)
	case g.f64:
		VPORQ(a, b, c)
	default:
		VPORD(a, b, c)
	}
}

func (g *gen) iand(a, b, c Op) {
	switch {
	case !g.z:
		VPAND(a, b, c)
	case g.f64:
		VPANDQ(a, b, c)
	default:
		VPANDD(a, b, c)
	}
}

func (g *gen) iadd(a, b, c Op) { g.pick(VPADDD, VPADDQ)(a, b, c) }

func (g *gen) isrl(a, b, c Op) { g.pick(VPSRLD, VPSRLQ)(a, b, c) }

// logv returns log(x), right for positive finite x. sub, if not nil,
// marks the lanes of x that are subnormal (or zero or negative): x is
// scaled there by 2^(p−1), in place (an opmask on AVX-512, a lane mask on
// AVX2), which keeps the class of x (zero, negative, +Inf, NaN) as it was.
func (g *gen) logv(x reg.VecVirtual, sub Op) reg.VecVirtual {
	if sub != nil {
		if g.z {
			g.pick(VMULPS, VMULPD)(g.k("lsubsc"), x, sub, x)
		} else {
			t := g.vec()
			g.mul(g.k("lsubsc"), x, t)
			g.blendv(sub, t, x, x)
		}
	}
	u := g.vec()
	g.iadd(g.k("loff"), x, u)
	f := g.vec()
	g.iand(g.k("lmant"), u, f)
	g.iadd(g.k("lsqrth"), f, f) // m
	g.isrl(Imm(uint64(g.mbits())), u, u)
	g.ior(g.k("lkmagic"), u, u)
	g.sub(g.k("lkbias"), u, u) // k
	if sub != nil {
		if g.z {
			g.pick(VSUBPS, VSUBPD)(g.k("lsubk"), u, sub, u)
		} else {
			a := g.vec()
			g.pick(VANDPS, VANDPD)(g.k("lsubk"), sub, a)
			g.sub(a, u, u)
		}
	}
	g.sub(g.k("lone"), f, f) // f
	d := g.vec()
	g.add(g.k("ltwo"), f, d)
	s := g.div(f, d)
	h := g.vec()
	g.mul(g.k("lhalf"), f, h)
	g.mul(f, h, h) // hfsq
	z := d
	g.mul(s, s, z)
	q := g.vec()
	nq := g.nq()
	g.mov(g.k(fmt.Sprintf("lq%d", nq-1)), q)
	for i := nq - 2; i >= 0; i-- {
		g.fma213(g.k(fmt.Sprintf("lq%d", i)), z, q)
	}
	g.fma213(h, z, q) // hfsq + R
	y := z
	g.mul(g.k("lln2lo"), u, y)
	g.fma231(s, q, y) // s·(hfsq + R) + k·lo
	g.sub(y, h, y)
	g.sub(f, y, y)
	g.pick(VFMSUB231PS, VFMSUB231PD)(g.k("lln2hi"), u, y) // k·hi − y
	return y
}

func (g *gen) mbits() int {
	if g.f64 {
		return 52
	}
	return 23
}

// hoistLog keeps the logarithm's constants in registers on AVX-512; AVX2
// reads them from memory.
func (g *gen) hoistLog() {
	if !g.z {
		return
	}
	g.hoist(g.logConsts()...)
}

func (g *gen) log() {
	g.begin("log", "(dst, x []T)", "")
	pd := Load(Param("dst").Base(), GP64())
	ps := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	g.hoistLog()
	const ltOQ, eqOQ, nltUQ = 0x11, 0x00, 0x15
	g.loop(n, []reg.Register{pd, ps}, func(offs []int, mask Op) {
		xs := make([]reg.VecVirtual, len(offs))
		for i, off := range offs {
			xs[i] = g.loadAt(ps, off, mask)
		}
		if g.z {
			for i, x := range xs {
				k := K()
				g.pick(VCMPPS, VCMPPD)(Imm(ltOQ), g.k("ltiny"), x, k)
				y := g.logv(x, k)
				g.pick(VFIXUPIMMPS, VFIXUPIMMPD)(Imm(0), g.k("lfix"), x, y)
				g.storeAt(y, pd, offs[i], mask)
			}
			return
		}
		// Any lane that is not a positive normal number (the tail's
		// lanes past the end, zero, left out) sends the step down the slow
		// path.
		bad := g.vec()
		for i, x := range xs {
			v := g.vec()
			g.iadd(g.k("lbadoff"), x, v)
			if i == 0 {
				g.pick(VPCMPGTD, VPCMPGTQ)(g.k("lbadthr"), v, bad)
			} else {
				g.pick(VPCMPGTD, VPCMPGTQ)(g.k("lbadthr"), v, v)
				VPOR(v, bad, bad)
			}
		}
		if mask != nil {
			VPAND(mask, bad, bad)
		}
		r := GP32()
		if g.f64 {
			VMOVMSKPD(bad, r)
		} else {
			VMOVMSKPS(bad, r)
		}
		slow, join := g.lbl("logslow"), g.lbl("logjoin")
		TESTL(r, r)
		JNZ(LabelRef(slow))
		for i, x := range xs {
			g.storeAt(g.logv(x, nil), pd, offs[i], mask)
		}
		JMP(LabelRef(join))
		Label(slow)
		for i, x := range xs {
			sub := g.vec()
			g.pick(VCMPPS, VCMPPD)(Imm(ltOQ), g.k("ltiny"), x, sub)
			y := g.logv(x, sub)
			c := g.vec()
			blend := func(pred uint64, against, val string) {
				g.pick(VCMPPS, VCMPPD)(Imm(pred), g.k(against), x, c)
				g.blendv(c, g.k(val), y, y)
			}
			blend(eqOQ, "lzero", "lneginf")
			blend(ltOQ, "lzero", "lnan")
			g.pick(VCMPPS, VCMPPD)(Imm(nltUQ), g.k("lposinf"), x, c) // NaN or +Inf
			g.blendv(c, x, y, y)
			g.storeAt(y, pd, offs[i], mask)
		}
		Label(join)
	})
	g.end()
}

// blendv sets d = mask ? a : b, lane by lane (AVX2).
func (g *gen) blendv(mask, a, b, d Op) {
	if g.f64 {
		VBLENDVPD(mask, a, b, d)
	} else {
		VBLENDVPS(mask, a, b, d)
	}
}

// div returns f/d for the logarithm's s, where a relative error δ in s
// becomes at most 0.043·δ in log (s·(hfsq + R) ≤ 0.043·|f|). float32 takes
// the reciprocal estimate r (VRCP14PS, 2^−14; AVX2 VRCPPS, 1.5·2^−12) and
// refines s0 = f·r once, s = s0 + r·(f − d·s0), squaring δ. float64
// divides: on the machines measured, VDIVPD beat VRCP14PD with the two
// refinements it needs.
func (g *gen) div(f, d reg.VecVirtual) reg.VecVirtual {
	s := g.vec()
	if g.f64 {
		VDIVPD(d, f, s)
		return s
	}
	r := g.vec()
	if g.z {
		VRCP14PS(d, r)
	} else {
		VRCPPS(d, r)
	}
	g.mul(f, r, s)
	t := g.vec()
	g.mov(f, t)
	g.fnma231(d, s, t) // f − d·s0
	g.fma231(r, t, s)
	return s
}
