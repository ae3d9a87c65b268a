package main

import (
	"fmt"
	"math"
	"math/big"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The vector exponential.
//
// All three are table-driven: with a table of 2^(j/K), j = 0…K−1,
//
//	exp(x) = 2^(N/K) · exp(r),  N = round(K·x·log2(e)),  r = x − (N/K)·ln2
//	       = 2^m · 2^(j/K) · exp(r),  m = floor(N/K),  j = N mod K
//
// AVX-512 (expvTab): K = 16, the table in registers (VPERMPS, VPERMI2PD).
// AVX2 float32 (expvTab8): K = 8, in one register (VPERMPS).
// AVX2 float64 (expvTab64): K = 256, in memory (VGATHERQPD).
//
// -- Range reduction --
// ln2 is split into hi + lo (Cody–Waite): hi has few significant bits, so
// (N/K)·hi is exact and x − (N/K)·hi is exact; only r − (N/K)·lo rounds.
// |r| ≤ ln2/(2K) (plus a hair). N/K is rounded by adding a magic number
// 1.5·2^(p−1−log2 K) (p = mantissa bits) with an ulp of 1/K: t =
// x·log2(e) + magic holds N/K rounded, t − magic is N/K as a float,
// exactly, and t's low mantissa bits hold N (plus any bias folded into
// magic): j in the low log2(K) bits, m + bias above them.
//
// -- Polynomial --
// exp(r) ≈ 1 + r + c2·r² + …, c2… interpolating (exp(r) − 1 − r)/r² at
// Chebyshev nodes of |r| ≤ ln2/(2K) (near-minimax, fitExpTab), computed in
// 256-bit arithmetic. With T = 2^(j/K) the result is T + T·r·q, q = 1 +
// c2·r + …, so that only the table's rounding and the last FMA's are of
// the order of half an ulp.
//
// -- Scaling by 2^m --
// AVX-512: VSCALEF multiplies by 2^m with one rounding, so overflow gives
// +Inf and underflow gives the correctly rounded subnormal.
// AVX2, full range: 2^m is split as 2^m1 · 2^m2, m1 = floor(u/2) − bias,
// m2 = ceil(u/2) − bias (u = m + 2·bias, the magic biased by 2·bias), both
// normal over the clamped range; 2^m2 goes into the table entry as an
// integer add to its exponent field, and the one rounding is the last
// multiply, by 2^m1.
// AVX2, flushing variant for x ≤ 0 (sums): 2^m goes into the table entry
// whole, and there is no last multiply; below the smallest normal the
// result is not exp(x) (+0 at the clamp), and for float32 the reduction is
// one FMA, see expvTab8.
// AVX2, normal range (expNormal): where |x| ≤ 87 (708), the flushing
// variant's scaling without the clamps is exactly the full-range result;
// expSum, expSumMax and the fused spatial kernels check each step's lanes
// and take it when they all allow it (normalFast).
//
// -- Special values --
// x is clamped with the constant as the first source of MAX/MIN, whose NaN
// rule returns the second source, so NaN stays NaN all the way through.
// +Inf clamps above the overflow threshold (→ +Inf); −Inf clamps below
// the underflow threshold (→ 0) in the AVX2 flushing variant only; the
// full-range ones and AVX-512's flushing one leave x unclamped from below
// and put +0 in the result by a mask (see expvTab and zeroBelow:
// underflow is slow on Intel cores), and expNormal needs neither.

type fconst struct {
	f32 float64 // value for float32 (as float64), or NaN if bits32 is set
	f64 float64
	b32 uint32
	b64 uint64
	raw bool // use the bit patterns
	// lanes32 and lanes64, if set, give each float32 or float64 lane its
	// own value (a table).
	lanes32 []float32
	lanes64 []float64
	// lanesb32, if set, gives each float32 lane its own bit pattern.
	lanesb32 []uint32
}

var consts = map[string]fconst{}

func init() {
	f := func(name string, v32, v64 float64) { consts[name] = fconst{f32: v32, f64: v64} }
	f("log2e", math.Log2E, math.Log2E)
	// Cody–Waite split of ln2.
	f("ln2hi", 0.693359375, 6.93147180369123816490e-01)
	f("ln2lo", -2.12194440e-4, 1.90821492927058770002e-10)
	f("ln2", math.Ln2, math.Ln2) // rounded once (AVX2 float32 sums)
	// Clamps: hi overflows to +Inf, lo underflows to 0 (|result| < half the
	// smallest subnormal), loflush gives the AVX2 flushing exponentials
	// m = −127 (−1023) and a table index j = 0, hence +0 (see tabScale):
	// −88·log2(e) rounds to −127 in eighths, and −1023·ln2 is −1023 in
	// 256ths.
	f("hi", 88.8, 709.8)
	f("lo", -104, -745.2)
	f("loflush", -88, -1023*math.Ln2)
	// The AVX-512 flushing exponential's bound: from it up exp(x) is a
	// normal number (e^−87.3 ≈ 1.217e−38 against 2^−126 ≈ 1.175e−38,
	// e^−708.39 ≈ 2.2264e−308 against 2^−1022 ≈ 2.2251e−308); below it
	// the result is +0 (see expvTab).
	f("lonorm", -87.3, -708.39)
	f("neginf", math.Inf(-1), math.Inf(-1))
	// |x| and the bound of expNormal (see normalFast), as bit patterns.
	consts["absmask"] = fconst{raw: true, b32: 1<<31 - 1, b64: 1<<63 - 1}
	consts["normlim"] = fconst{raw: true, b32: math.Float32bits(87), b64: math.Float64bits(708)}
	f("negmax", -math.MaxFloat32, -math.MaxFloat64)
	// How far above the reference point maxSumExp lets a lane's values go
	// before moving it: a sum of up to 2^31 terms of exp(rethresh) stays
	// far from overflow (float32: e^32·2^31 ≈ 2^77), and the terms'
	// relative accuracy does not depend on it.
	f("rethresh", 32, 256)
	// The table-driven exponential (AVX-512): t's ulp is 1/16. float32
	// reads its 16 entries from one vector, float64 from two (exptab holds
	// entries 0…7, exptab2 8…15).
	f("magic16", 1<<19*1.5, 1<<48*1.5)
	tab32 := make([]float32, 16)
	tab64 := make([]float64, 16)
	for i := range tab32 {
		tab64[i] = math.Exp2(float64(i) / 16)
		tab32[i] = float32(tab64[i])
	}
	consts["exptab"] = fconst{lanes32: tab32, lanes64: tab64[:8]}
	consts["exptab2"] = fconst{lanes64: tab64[8:]}
	q32, q64 := fitExpTab(16, 2), fitExpTab(16, 5)
	for i := range q64 {
		var c32 float64
		if i < len(q32) {
			c32 = q32[i]
		}
		f(fmt.Sprintf("t%d", i+2), c32, q64[i])
	}
	f("one", 1, 1)
	f("zero", 0, 0)
	f("p1", 1, 1)
	tab8Consts()
	tab64Consts()
}

// fitExpTab returns c2 … c(n+1) of exp(r) ≈ 1 + r + c2·r² + … on
// |r| ≤ ln2/(2·size), the range left by a table of the powers
// 2^(k/size): they interpolate expQ at n Chebyshev nodes (size 16: 2 for
// float32, a cubic, and 5 for float64, degree 6; size 8: 3 for float32,
// degree 4; size 256: 3 for float64, degree 4).
func fitExpTab(size, n int) []float64 {
	return interpolate(expQ, 0, math.Ln2/float64(2*size), n)
}

// tab8Consts adds the constants of expvTab8 (AVX2, float32): t's ulp is
// 1/8 and its magic number holds the bias of the scaling (see there), the
// table (8 entries less the offsets tabScale adds back, repeated to fill
// the 64 bytes) and e2 … e4, the polynomial's. On |r| ≤ ln2/16 the quartic is within 3.4e−10 of exp(r)
// (relative, 0.003 ulp of [1, 2)), where a cubic would be 7.7e−8 off
// (0.64 ulp): too much beside the table's and the last FMA's half ulps.
func tab8Consts() {
	const m8 = 1 << 20 * 1.5
	f := func(name string, v float64) { consts[name] = fconst{f32: v} }
	f("magic8fl", m8+127)
	f("magic8fu", m8+254)
	tabu := make([]uint32, 16)
	for i := range tabu {
		j := i % 8
		tabu[i] = math.Float32bits(float32(math.Exp2(float64(j)/8))) - uint32(j)<<20 - 127<<23
	}
	consts["exptab8u"] = fconst{lanesb32: tabu}
	for i, c := range fitExpTab(8, 3) {
		f(fmt.Sprintf("e%d", i+2), c)
	}
}

// expQ is q(r) = (exp(r) − 1 − r)/r² = Σ r^k/(k+2)!, in 256-bit arithmetic
// (60 terms: far more than enough for |r| ≤ ln2/16).
func expQ(r *big.Float) *big.Float {
	const prec = 256
	nf := func(x float64) *big.Float { return new(big.Float).SetPrec(prec).SetFloat64(x) }
	sum, term := nf(0), nf(0.5) // r^0/2!
	for k := 0; k < 60; k++ {
		sum.Add(sum, term)
		term.Mul(term, r)
		term.Quo(term, nf(float64(k+3)))
	}
	return sum
}

// interpolate returns the coefficients of the polynomial of degree n−1
// through f at the n Chebyshev nodes of [mid − half, mid + half], in
// 256-bit arithmetic.
func interpolate(f func(*big.Float) *big.Float, mid, half float64, n int) []float64 {
	const prec = 256
	nf := func(x float64) *big.Float { return new(big.Float).SetPrec(prec).SetFloat64(x) }
	nq := n
	// Vandermonde system A c = b at the nodes.
	A := make([][]*big.Float, nq)
	b := make([]*big.Float, nq)
	for i := 0; i < nq; i++ {
		r := nf(mid + half*math.Cos(math.Pi*(float64(i)+0.5)/float64(nq)))
		A[i] = make([]*big.Float, nq)
		p := nf(1)
		for j := 0; j < nq; j++ {
			A[i][j] = new(big.Float).SetPrec(prec).Set(p)
			p.Mul(p, r)
		}
		b[i] = f(r)
	}
	// Gaussian elimination with partial pivoting.
	for col := 0; col < nq; col++ {
		piv := col
		for i := col + 1; i < nq; i++ {
			if new(big.Float).Abs(A[i][col]).Cmp(new(big.Float).Abs(A[piv][col])) > 0 {
				piv = i
			}
		}
		A[col], A[piv] = A[piv], A[col]
		b[col], b[piv] = b[piv], b[col]
		for i := col + 1; i < nq; i++ {
			f := new(big.Float).SetPrec(prec).Quo(A[i][col], A[col][col])
			for j := col; j < nq; j++ {
				A[i][j].Sub(A[i][j], new(big.Float).SetPrec(prec).Mul(f, A[col][j]))
			}
			b[i].Sub(b[i], new(big.Float).SetPrec(prec).Mul(f, b[col]))
		}
	}
	c := make([]*big.Float, nq)
	for i := nq - 1; i >= 0; i-- {
		s := new(big.Float).SetPrec(prec).Set(b[i])
		for j := i + 1; j < nq; j++ {
			s.Sub(s, new(big.Float).SetPrec(prec).Mul(A[i][j], c[j]))
		}
		c[i] = s.Quo(s, A[i][i])
	}
	var out []float64
	for _, v := range c {
		f, _ := v.Float64()
		out = append(out, f)
	}
	return out
}

var constMems = map[string]Mem{}

// constMem returns a 64-byte read-only vector holding the constant in every
// lane, for the current element type.
func (g *gen) constMem(name string) Mem {
	key := name + g.bits()
	if m, ok := constMems[key]; ok {
		return m
	}
	c, ok := consts[name]
	if !ok {
		panic("no constant " + name)
	}
	m := GLOBL(fmt.Sprintf("k%s_%s", g.bits(), name), RODATA|NOPTR)
	for off := 0; off < 64; off += g.es {
		switch {
		case c.lanesb32 != nil && !g.f64:
			DATA(off, U32(c.lanesb32[off/4]))
		case c.lanes32 != nil && !g.f64:
			DATA(off, U32(math.Float32bits(c.lanes32[off/4])))
		case c.lanes64 != nil && g.f64:
			DATA(off, U64(math.Float64bits(c.lanes64[off/8])))
		case c.raw && g.f64:
			DATA(off, U64(c.b64))
		case c.raw:
			DATA(off, U32(c.b32))
		case g.f64:
			DATA(off, U64(math.Float64bits(c.f64)))
		default:
			DATA(off, U32(math.Float32bits(float32(c.f32))))
		}
	}
	constMems[key] = m
	return m
}

// expConsts are the constants the exponential reads, most used first.
func (g *gen) expConsts(flush bool) []string {
	if g.tabExp() {
		r := expFull
		if flush {
			r = expFlush
		}
		return g.tabExpConsts(r)
	}
	if g.tab8() {
		if flush {
			return []string{"loflush", "log2e", "magic8fl", "ln2hi", "ln2lo", "exptab8u", "e4", "e3", "e2", "p1"}
		}
		return []string{"lo", "hi", "log2e", "magic8fu", "ln2hi", "ln2lo", "exptab8u", "e4", "e3", "e2", "p1"}
	}
	if flush {
		return []string{"loflush", "log2e", "magic64fl", "ln2hi", "ln2lo", "tab64idx", "d4", "d3", "d2", "p1"}
	}
	return []string{"lo", "hi", "log2e", "magic64fu", "ln2hi", "ln2lo", "tab64idx", "d4", "d3", "d2", "p1"}
}

// tabExpConsts are expvTab's constants for the range r, most used first.
func (g *gen) tabExpConsts(r expRange) []string {
	lo, ln2 := "lo", []string{"ln2hi", "ln2lo"}
	if r == expFlush {
		lo = "lonorm"
		if !g.f64 {
			ln2 = []string{"ln2"}
		}
	}
	names := append([]string{lo, "log2e", "magic16"}, ln2...)
	names = append(names, "exptab")
	if g.f64 {
		names = append(names, "exptab2", "t6", "t5", "t4")
	}
	names = append(names, "t3", "t2", "one")
	if r == expFull {
		names = append(names, "hi")
	}
	return names
}

// hoistExp loads the exponential's constants into registers before the
// loops: the clamps always (MAX/MIN take their constant operand in a
// register) but the AVX2 full-range lower bound (a compare's memory
// operand, see zeroBelow), on AVX2 two or three more (expHot), and on
// AVX-512, with 32 registers, all of them for float32 and the reduction
// ones for float64. The rest are memory operands.
func (g *gen) hoistExp(flush bool) {
	if flush || g.z {
		g.hoist(g.expConsts(flush)[0])
	}
	if !flush {
		g.hoist("hi")
	}
	if !g.z {
		g.hoist(g.expHot(flush)...)
	}
	if g.z {
		g.hoist(g.expConsts(flush)...)
	}
}

// expHot names the constants of the AVX2 exponential worth a register
// where a kernel has two or three to spare (AVX2 has 16). float32: the
// magic number, read twice, and the table. float64 (whose table is in
// memory, and whose constants are loads the loops are short of): the
// magic number and log2(e), and for the flushing variant, whose kernels
// hoist one clamp, not two, ln2hi. (BenchmarkExpSum64 on Zen 3, min of 8
// alternating runs: 38.3 µs against 41.0 with the clamps alone, both with
// the degree-11 polynomial of then.)
func (g *gen) expHot(flush bool) []string {
	switch {
	case g.f64 && flush:
		return []string{"log2e", "magic64fl", "ln2hi"}
	case g.f64:
		return []string{"log2e", "magic64fu"}
	case flush:
		return []string{"magic8fl", "exptab8u"}
	}
	return []string{"magic8fu", "exptab8u"}
}

// expv replaces x by exp(x), in place. With flush set, x must be ≤ 0 or NaN
// (−Inf allowed), and results below the smallest normal are not exp(x)
// but 0 (AVX-512, see expvTab) or 0 or another number below it (AVX2, see
// expvTab8): fit for sums of at least 1 only.
func (g *gen) expv(x reg.VecVirtual, flush bool) {
	r := expFull
	if flush {
		r = expFlush
	}
	switch {
	case g.tabExp():
		g.expvTab(x, r)
	case g.tab8():
		g.expvTab8(x, r)
	default:
		g.expvTab64(x, r)
	}
}

// expRange is what an exponential may assume of x.
type expRange int

const (
	expFull   expRange = iota // anything: clamp above, mask below, 2^m split in two
	expFlush                  // x ≤ 0, for sums only (see expvTab8)
	expNormal                 // |x| ≤ normlim: no clamps, 2^m whole (AVX2)
	expNonPos                 // x ≤ 0, every result exact: no upper clamp (AVX-512)
)

// consts names the AVX2 exponential's lower clamp for the range ("" for
// none) and its magic number, magic+"fu" (bias for the full range) or
// magic+"fl" (for the flushing one's, which expNormal shares).
func (r expRange) consts(magic string) (lo, mg string) {
	switch r {
	case expFlush:
		return "loflush", magic + "fl"
	case expNormal:
		return "", magic + "fl"
	}
	return "lo", magic + "fu"
}

// normalFast reports whether the kernels that make exponentials to keep
// (expSum, expSumMax, the fused spatial kernels) take the expNormal exponential for the vectors of
// an unrolled step when all their lanes allow it (outsideNormal), and the
// full-range one otherwise: on AVX2, where the full range costs a clamp,
// a compare and two ANDs (zeroBelow), two shifts, a subtraction and a
// multiply more per vector. Where every
// lane is within ±normlim, exp(x) and 2^m are normal numbers, the flushing
// variant's scaling without its clamp gives exactly what the full-range
// code gives (the same N, r, table entry and polynomial, and the last
// rounding at the same place: multiplying a normal number by a power of
// two is exact), so that the choice never shows in the results. In those
// kernels x = s − max ≤ 0, and a row whose values span more than 87 (708
// for float64) takes the slow path for the vectors that hold such values.
func (g *gen) normalFast() bool { return !g.z }

// outsideNormal returns a vector that is zero unless some lane of some x
// is beyond ±normlim or NaN: |x| compared as an integer with the bits of
// normlim, which orders non-negative floats, NaN above all of them.
func (g *gen) outsideNormal(xs []reg.VecVirtual) reg.VecVirtual {
	var out reg.VecVirtual
	for _, x := range xs {
		a := g.vec()
		g.pick(VANDPS, VANDPD)(g.constMem("absmask"), x, a)
		g.pick(VPCMPGTD, VPCMPGTQ)(g.constMem("normlim"), a, a) // a = |x| > normlim
		if out == nil {
			out = a
		} else {
			VPOR(a, out, out)
		}
	}
	return out
}

// normalHot is expHot for a kernel that takes expvNormal: its constants
// worth a register, where the full-range exponential, taken rarely, reads
// its own from memory and loads its clamps (clampReg).
func (g *gen) normalHot() []string {
	if g.f64 {
		return []string{"log2e", "magic64fl"}
	}
	return []string{"magic8fl", "exptab8u"}
}

// normalOrFull emits the two paths of a step that takes expvNormal when
// every lane allows it: path(true), then, out of line, taken where out
// (from outsideNormal) has a lane set, path(false).
func (g *gen) normalOrFull(out reg.VecVirtual, path func(normal bool)) {
	full, join := g.lbl("fullrange"), g.lbl("joinexp")
	VPTEST(out, out)
	JNZ(LabelRef(full))
	path(true)
	JMP(LabelRef(join))
	Label(full)
	path(false)
	Label(join)
}

// expvNormal is expv for |x| ≤ normlim only (see normalFast).
func (g *gen) expvNormal(x reg.VecVirtual) {
	if g.tab8() {
		g.expvTab8(x, expNormal)
	} else {
		g.expvTab64(x, expNormal)
	}
}

// clampReg returns the register of the hoisted clamp name, or, in a kernel
// that has not hoisted it (AVX2 expSumMax, which has no register to spare,
// and the full-range path of AVX2 expSum, taken rarely: see normalFast), a
// new one it is loaded into: MAX/MIN take their constant operand in a
// register (see "Special values").
func (g *gen) clampReg(name string) reg.VecVirtual {
	if r, ok := g.hot[name]; ok {
		return r
	}
	r := g.vec()
	g.mov(g.constMem(name), r)
	return r
}

// tabExp reports whether expv is the table-driven one: on AVX-512, where
// VPERMPS looks up 16 float32 table entries in one instruction and
// VPERMI2PD 16 float64 ones in two vectors.
func (g *gen) tabExp() bool { return g.z }

// expvTab is expv on AVX-512, with a table of 2^(k/16), k = 0…15, in one
// register (float32) or two (float64):
//
//	exp(x) = 2^(n/16) · exp(r),  n = round(16·x·log2(e)),  r = x − (n/16)·ln2
//	       = 2^floor(n/16) · 2^((n mod 16)/16) · exp(r)
//
// With |r| ≤ ln2/32 a cubic gives a float32 exp(r) to well under an ulp,
// three FMAs where the table-free code (gone) needed six, and a polynomial
// of degree 6 a float64 one, six where it needed eleven. The magic number
// (1.5·2^19, or 1.5·2^48) has an ulp of 1/16, so t = x·log2(e) + magic
// holds n/16 rounded, t − magic is n/16 exactly, and the low four bits of
// t are n mod 16, which is all of the index VPERMPS or VPERMI2PD reads.
// VSCALEF takes floor(n/16) as it scales. The errors: the table's rounding
// (half an ulp), the last FMA's rounding (half an ulp) and a few
// hundredths from the polynomial and r. (float64, one thread: MaxSumExp64
// over 32,000 elements took 7.1–7.5 µs against 11.3–11.8 with the
// degree-11 polynomial, three alternating runs of `go test -bench
// MaxSumExp64`; 1.26 ulp at most against a 200-bit exp, TestExp64ULPExact,
// where it had 1.0.)
//
// Underflow: an Intel core takes a microcode assist for each instruction
// whose result underflows or whose input is subnormal, about 80 ns a time
// on the Xeon (model 207) measured, where overflow, infinities and NaN
// cost nothing. So x is not clamped from below: the lanes under lo, where
// exp(x) rounds to +0 (−Inf among them), make whatever huge or NaN values
// they make, and VSCALEF's zeroing mask puts +0 there; only a lane whose
// exp(x) really is subnormal takes the assist. The flushing variant (for
// sums) raises lo to lonorm, where exp(x) is still a normal number, and so
// takes none. (One thread, 3 alternating runs: MaxSumExp32 at C = 1000
// 479–535 → 259–279 ns; the first rescale of each lane, from −MaxFloat,
// and the −Inf lanes of the masked tail had cost two assists per row.)
func (g *gen) expvTab(x reg.VecVirtual, r expRange) {
	lo := "lo"
	if r == expFlush {
		lo = "lonorm"
	}
	k := K()
	g.pick(VCMPPS, VCMPPD)(Imm(nltUQ), g.clampReg(lo), x, k)  // k: x ≥ lo or NaN
	one := r == expFlush && !g.f64                            // as expvTab8's flushing variant
	t, nf := g.expReduce(x, "", "magic16", r != expFull, one) // nf = n/16
	T := g.vec()
	deg := 3
	if g.f64 {
		// The index is overwritten with the entries: t is done with.
		VPERMI2PD(g.k("exptab2"), g.k("exptab"), t) // t = 2^((n mod 16)/16)
		T = t
		deg = 6
	} else {
		VPERMPS(g.k("exptab"), t, T) // T = 2^((n mod 16)/16)
	}
	q := g.vec()
	g.mov(g.k(fmt.Sprintf("t%d", deg)), q)
	for i := deg - 1; i >= 2; i-- {
		g.fma213(g.k(fmt.Sprintf("t%d", i)), x, q) // q = c_i + r·q
	}
	g.fma213(g.k("one"), x, q) // q = 1 + r·(c2 + c3·r + …)
	g.mul(T, x, x)             // x = T·r
	g.fma213(T, x, q)          // q = T + T·r·q ≈ T·exp(r)
	scalef := VSCALEFPS_Z
	if g.f64 {
		scalef = VSCALEFPD_Z
	}
	scalef(nf, q, k, x) // +0 where x < lo
}

// tab8 reports whether expv is expvTab8: on AVX2 for float32, where
// VPERMPS looks up the 8 float32 entries of one ymm register.
func (g *gen) tab8() bool { return !g.z && !g.f64 }

// expvTab8 is expv on AVX2 for float32, with a table of 2^(j/8), j = 0…7:
//
//	exp(x) = 2^(N/8) · exp(r),  N = round(8·x·log2(e)),  r = x − (N/8)·ln2
//	       = 2^m · 2^(j/8) · exp(r),  m = floor(N/8),  j = N mod 8
//
// With |r| ≤ ln2/16 a quartic gives exp(r) to well under an ulp: three
// FMAs, then a multiply and an FMA for T·exp(r) = T + T·r·q, where the
// table-free code (gone) needed six FMAs. The magic number
// 1.5·2^20 + B has an ulp of 1/8, so t = x·log2(e) + magic holds N/8
// rounded, t − magic is N/8 exactly, the low three bits of t are j (all
// VPERMPS reads of the index) and t>>3 holds u = m + B in its low bits.
//
// Without VSCALEF, 2^m comes from the bits of t (tabScale): t<<20 is
// u<<23 + j<<20 (the high bits of t shift out), and the table holds
// bits(2^(j/8)) − j<<20 − 127<<23, so entry + (t<<20) is the bit pattern of
// 2^(j/8)·2^(u−127).
//
// Flushing variant (x ≤ 0), B = 127: that is 2^(j/8)·2^m, normal down to
// m = −126, so T + T·r·q needs no last multiply (Zen 3, one thread, 6
// alternating runs: MaxSumExp32 344 → 306 ns at C = 1000, 10.6 → 9.4 µs at
// C = 32000, against q·2^m). x is clamped at loflush, where m = −127 and
// j = 0, giving +0; for x in (−88, −87.3], m = −127 and j > 0 give a
// subnormal that is not exp(x) but below 2^−126: the flushing variant only
// feeds sums of at least 1, to which neither adds anything. It also reduces
// with ln2 rounded to float32 in one FMA, not Cody–Waite's two: r is then
// off by nf·(fl(ln2) − ln2), a relative error of x·2.75e−9 in the result
// (under 0.05 ulp per unit of |x|). A sum's terms are products of such factors
// whose arguments add up to the term's x − max (maxSumExp's references and
// rescales), so their errors add up to (x − max)·2.75e−9, about 0.2 ulp
// for the terms within 5 of the max that make up most of a sum (Zen 3, one
// thread, 3 alternating runs: MaxSumExp32 310 → 283 ns at C = 1000, 9.3 →
// 8.4–9.0 µs at C = 32000).
//
// Full range, B = 254: 2^m = 2^m1 · 2^m2 (see Scaling above), m1 = floor(u/2) −
// 127 and m2 = ceil(u/2) − 127, both within [−76, 64] over the clamped
// range (m in [−151, 128]). a = (t>>4)<<23 is 2^m1 as a float, and
// entry + (t<<20) − a the bit pattern of 2^(j/8)·2^m2, a normal number.
// The one rounding that matters is then the last multiply, q·2^m1:
// overflow gives +Inf, underflow the subnormal of q.
//
// The errors: the table's rounding (half an ulp; 2^(j/8)·exp(r) stays in
// [1, 2) but for j = 0, whose entry 1 is exact), the last FMA's rounding
// (half an ulp) and a few hundredths from the polynomial and r.
//
// expNormal, |x| ≤ normlim = 87: the flushing variant's B = 127 and
// scaling, for results from 2^−125.5 to 2^125.5, and no clamps.
func (g *gen) expvTab8(x reg.VecVirtual, r expRange) {
	lo, mg := r.consts("magic8")
	keep := g.zeroBelow(x, r, &lo)
	t, nf := g.expReduce(x, lo, mg, r != expFull, r == expFlush) // nf = N/8
	T := g.vec()
	VPERMPS(g.k("exptab8u"), t, T) // T = 2^(j/8), less the offsets tabScale adds back
	s := g.tabScale(t, T, nf, 3, r != expFull)
	g.tabPoly(x, T, s, "e")
	g.andKeep(keep, x)
}

// zeroBelow, for the full-range AVX2 exponentials, sets the lanes of x
// below lo (where exp(x) rounds to +0; −Inf among them) to +0 instead of
// clamping them, and returns the mask of the others (NaN included), for
// andKeep to put +0 in those lanes' results. Clamped to lo, they made the
// last multiply underflow, and an Intel core takes a microcode assist of
// about 80 ns for each instruction that does (see expvTab). It clears
// *lo, so that expReduce does not clamp; lo is a memory operand, which
// leaves the register it took to the mask. For the other ranges it does
// nothing and returns nil. (BenchmarkMaskedRow32 on one thread of the
// Xeon: 7.8 → 0.76 µs with three classes in four masked, as fast as the
// plain row; the plain row's ExpScale32 and Exp32, two more instructions
// a vector, are up to a tenth slower.)
func (g *gen) zeroBelow(x reg.VecVirtual, r expRange, lo *string) reg.VecVirtual {
	if r != expFull {
		return nil
	}
	keep := g.vec()
	g.pick(VCMPPS, VCMPPD)(Imm(nltUQ), g.k(*lo), x, keep) // keep: x ≥ lo or NaN
	g.pick(VANDPS, VANDPD)(keep, x, x)
	*lo = ""
	return keep
}

// andKeep puts +0 in the lanes of x that zeroBelow left out.
func (g *gen) andKeep(keep, x reg.VecVirtual) {
	if keep != nil {
		g.pick(VANDPS, VANDPD)(keep, x, x)
	}
}

// nltUQ is the compare predicate "not less than, or unordered": NaN lanes
// stay in.
const nltUQ = 0x05

// tabScale scales the table entry T, read from a table of 2^(j/2^tabBits)
// less j<<(mant−tabBits) and the bias in its exponent field, by the power
// of two in the bits of t above its tabBits index bits, u = m + bias: t
// shifted left by mant−tabBits is u<<mant + j<<(mant−tabBits), and adding
// it puts back what the table left out. Flushing (bias 127 or 1023), T
// becomes 2^(j/2^tabBits)·2^m, normal down to m = −126 (−1022), and +0 at
// the clamp, where j = 0 and u = 0; it returns nil. Otherwise (bias 254 or
// 2046) 2^m = 2^m1·2^m2 with both normal: T gets 2^m2 and the 2^m1 it
// returns, in s, is for the last multiply, where overflow and underflow
// round once.
func (g *gen) tabScale(t, T, s reg.VecVirtual, tabBits int, flush bool) reg.VecVirtual {
	srl, sll := g.pick(VPSRLD, VPSRLQ), g.pick(VPSLLD, VPSLLQ)
	add := g.pick(VPADDD, VPADDQ)
	mant := g.mbits()
	if flush {
		sll(Imm(uint64(mant-tabBits)), t, t) // t = u<<mant + j<<(mant−tabBits)
		add(t, T, T)                         // T = 2^(j/2^tabBits)·2^m
		return nil
	}
	srl(Imm(uint64(tabBits+1)), t, s)
	sll(Imm(uint64(mant)), s, s)         // s = 2^m1
	sll(Imm(uint64(mant-tabBits)), t, t) // t = u<<mant + j<<(mant−tabBits)
	add(t, T, T)
	g.pick(VPSUBD, VPSUBQ)(s, T, T) // T = 2^(j/2^tabBits)·2^m2
	return s
}

// tabPoly ends the AVX2 table exponentials: x = T·exp(r), times s if s is
// not nil, exp(r) as 1 + r + c2·r² + c3·r³ + c4·r⁴ with the constants named
// c+"2" … c+"4", and T·exp(r) as T + T·r·q, one rounding after the table's.
func (g *gen) tabPoly(x, T, s reg.VecVirtual, c string) {
	q := g.vec()
	g.mov(g.k(c+"4"), q)
	g.fma213(g.k(c+"3"), x, q)
	g.fma213(g.k(c+"2"), x, q)
	g.fma213(g.k("p1"), x, q) // q = 1 + r·(c2 + c3·r + c4·r²)
	g.mul(T, x, x)            // x = T·r
	if s == nil {
		g.fma213(T, q, x) // x = T + T·r·q ≈ T·exp(r)
		return
	}
	g.fma213(T, x, q) // q = T + T·r·q ≈ T·exp(r)
	g.mul(s, q, x)    // x = q·2^m1
}

// expReduce clamps x to [lo, hi] (from below only when flushing, where x ≤
// 0, and not at all without lo) and reduces it: t = x·log2(e) + magic,
// whose ulp of 2^−k leaves n/2^k rounded in t and the table index in its
// low k bits; nf = t − magic = n/2^k exactly; and x = r = x − nf·ln2
// (Cody–Waite, ln2hi + ln2lo), or with one, ln2 rounded to the element
// type, in a single FMA (see expvTab8's flushing variant).
func (g *gen) expReduce(x reg.VecVirtual, lo, magic string, flush, one bool) (t, nf reg.VecVirtual) {
	if lo != "" {
		g.max(x, g.clampReg(lo), x)
	}
	if !flush {
		g.min(x, g.clampReg("hi"), x)
	}
	t = g.vec()
	g.mov(g.k(magic), t)
	g.fma231(g.k("log2e"), x, t) // t = x·log2e + magic
	nf = g.vec()
	g.sub(g.k(magic), t, nf) // nf = n/2^k
	if one {
		g.fnma231(g.k("ln2"), nf, x) // x = r, but for nf·(ln2 − fl(ln2))
		return t, nf
	}
	g.fnma231(g.k("ln2hi"), nf, x) // x = x − nf·hi
	g.fnma231(g.k("ln2lo"), nf, x) // x = r
	return t, nf
}

// tab64Consts adds the constants of expvTab64 (AVX2, float64): t's ulp is
// 1/256 and its magic number holds the bias of the scaling, the index mask
// and d2 … d4, the polynomial's. On |r| ≤ ln2/512 the quartic is within
// 1.2e−17 of exp(r) (relative, 0.05 ulp of [1, 2)); a table of 64 entries
// needed degree 5 for 0.03 ulp, and was 2–3% slower (one FMA and one load
// more per vector). The tables themselves are tab64.
func tab64Consts() {
	const m = 1 << 44 * 1.5
	f := func(name string, v float64) { consts[name] = fconst{f64: v} }
	f("magic64fl", m+1023)
	f("magic64fu", m+2046)
	consts["tab64idx"] = fconst{raw: true, b64: 255}
	for i, c := range fitExpTab(256, 3) {
		f(fmt.Sprintf("d%d", i+2), c)
	}
}

var tab64Mem Mem

// tab64 is the table of expvTab64: 2^(j/256), j = 0…255, less j<<44 and
// 1023<<52 (see tabScale).
func tab64() Mem {
	if tab64Mem.Symbol.Name == "" {
		tab64Mem = GLOBL("kexptab64u", RODATA|NOPTR)
		for j := 0; j < 256; j++ {
			b := math.Float64bits(math.Exp2(float64(j) / 256))
			DATA(8*j, U64(b-(uint64(j)<<44+1023<<52)))
		}
	}
	return tab64Mem
}

// expvTab64 is expv on AVX2 for float64, with a table of 2^(j/256),
// j = 0…255, read by VGATHERQPD (AVX2 has no two-register permute like
// VPERMI2PD: VPERMD looks up 4 doubles in a register, 2^(j/4), which
// leaves |r| ≤ ln2/8 and a polynomial of degree 9). With |r| ≤ ln2/512 a
// quartic gives exp(r) to well under an ulp: three FMAs, the last with 1,
// then a multiply and an FMA for T·exp(r) = T + T·r·q, where the
// table-free code (gone) needed eleven FMAs. The magic number 1.5·2^44 + B has an ulp of 1/256,
// so t = x·log2(e) + magic holds N/256 rounded, t − magic is N/256 exactly,
// t's low 8 bits are j (the gather's index, masked) and t>>8 holds u =
// m + B in its low bits.
//
// As in expvTab8, t<<44 is u<<52 + j<<44 and the table holds
// bits(2^(j/256)) − j<<44 − 1023<<52, so entry + (t<<44) is the bit
// pattern of 2^(j/256)·2^(u−1023).
//
// Flushing variant (x ≤ 0), B = 1023: that is 2^(j/256)·2^m, with no last
// multiply (MaxSumExp64 at C = 32000: 31.4 → 30.0 µs). x is clamped at
// loflush = −1023·ln2, where m = −1023 and j = 0, giving +0; just above
// it, as in expvTab8, come subnormals below 2^−1022 that are not exp(x),
// which add nothing to the sums of at least 1 this variant feeds.
//
// Full range, B = 2046: as in expvTab8, m1 = floor(u/2) − 1023 and m2 =
// ceil(u/2) − 1023 are within [−538, 512] over the clamped range (m in
// [−1076, 1024]); a = (t>>9)<<52 is 2^m1, and entry + (t<<44) − a the bit
// pattern of 2^(j/256)·2^m2. The last multiply, q·2^m1, rounds once:
// overflow gives +Inf, underflow the subnormal of q.
//
// The errors: the table's rounding (half an ulp), the last FMA's rounding
// (half an ulp) and a few hundredths from the polynomial and r (at most
// 1.25 ulp against a 200-bit exp, TestExp64ULPExact, where the degree-11
// polynomial without a table had 1.00).
//
// Zen 3, one thread, medians of 6 alternating runs at C = 32000 against
// the degree-11 polynomial: Exp64 37.2 → 34.0 µs, ExpSum64 41.0 → 36.7,
// MaxSumExp64 34.0 → 31.7 (of which the hoisting of expHot alone, with the
// old polynomial, gave about 2.6, 2.7 and 1.4 µs, mins of 8 runs). Gathers
// are slow on Zen 3, but the loops are short of load slots and FMA ports
// more: with its constants as memory operands the old code made 17 loads
// per vector, the data's included, and 16 FMAs or multiplies. A table of
// 4 entries in a register (VPERMD) and a polynomial of degree 9 was no
// faster than the old code. NaN: the index is masked, so the
// gather stays within the table, and the NaN of r carries through.
//
// Registers: x, t, the index, the gather's mask and its destination at
// once (five); expSumMax, with none to spare, loads the clamps here rather
// than keep them (clampReg).
//
// expNormal, |x| ≤ normlim = 708: the flushing variant's bias and scaling,
// for results from about 2^−1021.4 up, and no clamps.
func (g *gen) expvTab64(x reg.VecVirtual, r expRange) {
	lo, mg := r.consts("magic64")
	flush := r != expFull
	keep := g.zeroBelow(x, r, &lo)
	t, nf := g.expReduce(x, lo, mg, flush, false) // nf = N/256
	idx := g.vec()
	VPAND(g.k("tab64idx"), t, idx) // idx = j
	msk := g.vec()
	VPCMPEQQ(t, t, msk) // all ones: gather every lane
	base := GP64()
	LEAQ(tab64(), base)
	// nf is done with and already written: the gather's destination (avo
	// would take a fresh one as live from the function's start, since the
	// gather reads it for the lanes it leaves).
	T := nf
	VGATHERQPD(msk, Mem{Base: base, Index: idx, Scale: 8}, T) // T = table[j]
	s := g.tabScale(t, T, idx, 8, flush)
	g.tabPoly(x, T, s, "d")
	g.andKeep(keep, x)
}
