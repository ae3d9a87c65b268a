package main

import (
	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/gotypes"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// loop emits the usual three-stage loop over n elements at the pointers
// ptrs: U vectors at a time, then one vector at a time, then a masked tail.
// body gets the element offset in bytes of each vector (0, W·size, …) and,
// for the tail, the mask (nil otherwise).
func (g *gen) loop(n reg.Register, ptrs []reg.Register, body func(offs []int, mask Op)) {
	step := func(u int) {
		top, next := g.lbl("loop"), g.lbl("next")
		Label(top)
		CMPQ(n, U32(g.W*u))
		JL(LabelRef(next))
		offs := make([]int, u)
		for i := range offs {
			offs[i] = i * g.W * g.es
		}
		body(offs, nil)
		for _, p := range ptrs {
			ADDQ(U32(g.W*u*g.es), p)
		}
		SUBQ(U32(g.W*u), n)
		JMP(LabelRef(top))
		Label(next)
	}
	if g.U > 1 {
		step(g.U)
	}
	step(1)
	done := g.lbl("done")
	TESTQ(n, n)
	JZ(LabelRef(done))
	body([]int{0}, g.tailMask(n))
	Label(done)
}

func (g *gen) loadAt(p reg.Register, off int, mask Op) reg.VecVirtual {
	if mask != nil {
		return g.maskLoad(at(p, off), mask)
	}
	return g.load(at(p, off))
}

func (g *gen) storeAt(v reg.VecVirtual, p reg.Register, off int, mask Op) {
	if mask != nil {
		g.maskStore(v, mask, at(p, off))
		return
	}
	g.mov(v, at(p, off))
}

// scalarParam broadcasts a float parameter straight from the argument
// frame. Float arguments and results move with VEX instructions only, not
// avo's Load and Store, which use legacy-SSE MOVSS and MOVSD: on an Intel
// Xeon (model 207), ExpScale32 over 1000 elements took 445–480 ns with
// its two float arguments loaded by MOVSS and then broadcast, 217–224 ns
// with them broadcast from memory (one thread, 5 runs each). A function
// doing only the first did not show it, so the cause is not pinned down;
// on AVX2 the index kernel's MOVSD had cost a quarter of its time on Zen 3.
func (g *gen) scalarParam(name string) reg.VecVirtual {
	v := g.vec()
	g.bcast(frameMem(Param(name)), v)
	return v
}

// storeResult stores the low lane of x as result i, with VMOVSS or VMOVSD
// (see scalarParam).
func (g *gen) storeResult(x reg.VecVirtual, i int) {
	g.pick(VMOVSS, VMOVSD)(x.AsX(), frameMem(ReturnIndex(i)))
}

// frameMem is the memory operand of an argument or result.
func frameMem(c gotypes.Component) Mem {
	b, err := c.Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

// prefetchAhead is how far ahead of its loads a loop that streams a row
// from memory prefetches it, in bytes: with the exponentials to compute,
// the hardware prefetchers alone leave the memory idle part of the time.
// On an AMD EPYC the online forward pass at 8192×32000 went from 1.3–1.4×
// the time of a sum to about 1.0× with 4 KiB (8 KiB did as well; 2 KiB was
// not tried there). On an Intel Xeon (`xent bench --shape 8192x32000`,
// alternating builds) 3 KiB and more left it at 1.3–1.6×, while 512 B to
// 2 KiB gave 1.1×, and the shapes that fit in L3 did not lose.
const prefetchAhead = 2048

// pipelineAhead is expSumMax's prefetch distance. On the AMD EPYC (rows of
// 1000 and 32000 float32 in L3, one thread, a scratch benchmark like
// BenchmarkRows3Pass32's) 16 to 32 KiB gained most; on the Xeon, with the
// rows in memory, forward+backward at 8192×32000 took 0.78× its copy with
// 16 KiB, 0.70× with 4 KiB and 0.61× with 2 KiB, and the shapes in L3 did
// not lose.
const pipelineAhead = 2048

// prefetch prefetches the lines prefetchAhead bytes past the vectors at
// offs from p, in the unrolled steps of a loop only.
func (g *gen) prefetch(p reg.Register, offs []int) { g.prefetchAt(p, offs, prefetchAhead) }

// prefetchAt is prefetch at a distance of ahead bytes.
func (g *gen) prefetchAt(p reg.Register, offs []int, ahead int) {
	if len(offs) < g.U {
		return
	}
	for off := 0; off < len(offs)*g.W*g.es; off += 64 {
		PREFETCHT0(at(p, ahead+off))
	}
}

// rescale moves the lanes' reference point M, and with it MT = M + the
// threshold, where the block max b exceeds MT, scaling the running sums S
// by exp(Mold − Mnew). Between moves, S sums exp(x − M) for x up to the
// threshold above M (no overflow: see "rethresh"), so the branch is
// taken a few times per row, not each time a lane's max grows.
func (g *gen) rescale(M, MT, S, b reg.VecVirtual) {
	skip := g.lbl("norescale")
	const gtOQ = 0x1e
	if g.z {
		k := K()
		g.pick(VCMPPS, VCMPPD)(Imm(gtOQ), MT, b, k)
		KORTESTW(k, k)
	} else {
		c := g.vec()
		g.pick(VCMPPS, VCMPPD)(Imm(gtOQ), MT, b, c)
		r := GP32()
		if g.f64 {
			VMOVMSKPD(c, r)
		} else {
			VMOVMSKPS(c, r)
		}
		TESTL(r, r)
	}
	JZ(LabelRef(skip))
	Mn := g.vec()
	g.max(M, b, Mn) // NaN in b keeps M
	d := g.vec()
	g.sub(Mn, M, d)
	g.expv(d, true)
	g.mul(d, S, S)
	g.mov(Mn, M)
	g.add(g.k("rethresh"), M, MT)
	Label(skip)
}

// maxSumExp: per-lane online max and sum, lanes combined at the end. Each
// lane keeps its true max T and a reference point M ≤ T, with S the sum of
// exp(x − M); M moves (rescale) only when a block's max passes M by the
// threshold, and at the end S·exp(M − m) is the lane's sum against the
// row's max m.
//
// M and T start at −MaxFloat rather than −Inf, so that M − Mnew and x − M
// are never −Inf − (−Inf): a lane that has seen only −Inf keeps S = 0. A
// lane that has seen a finite value has S ≥ 1, so sum = 0 at the end means
// the row was empty or all −Inf; the Go wrapper then reports m = −Inf. A
// NaN (or +Inf, giving Inf − Inf) makes S NaN for good; the wrapper falls
// back to the portable code for such rows.
func (g *gen) maxSumExp() {
	g.begin("maxSumExp", "(s []T) (m, sum T)", ": the lanes' max and sum, NaN sum if the row holds NaN or +Inf")
	p := Load(Param("s").Base(), GP64())
	n := Load(Param("s").Len(), GP64())
	g.hoistExp(true)
	M, MT, T, S := g.vec(), g.vec(), g.vec(), g.vec()
	g.mov(g.constMem("negmax"), M)
	g.mov(M, MT) // −MaxFloat + the threshold rounds to −MaxFloat
	g.mov(M, T)
	g.zero(S)
	var ninf reg.VecVirtual
	g.loop(n, []reg.Register{p}, func(offs []int, mask Op) {
		g.prefetch(p, offs)
		xs := make([]reg.VecVirtual, len(offs))
		for i, off := range offs {
			if mask != nil {
				ninf = g.vec()
				g.mov(g.constMem("neginf"), ninf)
				g.maskLoadInto(at(p, off), mask, ninf)
				xs[i] = ninf
			} else {
				xs[i] = g.load(at(p, off))
			}
		}
		b := xs[0]
		if len(xs) > 1 {
			b = g.vec()
			g.max(xs[0], xs[1], b)
			for _, x := range xs[2:] {
				g.max(x, b, b)
			}
		}
		g.max(b, T, T)
		g.rescale(M, MT, S, b)
		for _, x := range xs {
			g.sub(M, x, x)
			g.expv(x, true)
		}
		for len(xs) > 1 {
			var next []reg.VecVirtual
			for i := 0; i+1 < len(xs); i += 2 {
				g.add(xs[i+1], xs[i], xs[i])
				next = append(next, xs[i])
			}
			xs = next
		}
		g.add(xs[0], S, S)
	})
	m := g.hreduce(g.pick2(VMAXPS, VMAXPD), T)
	mb := g.vec()
	g.bcast(m, mb)
	g.sub(mb, M, M)
	g.expv(M, true)
	g.mul(M, S, S)
	s := g.hreduce(g.pick2(VADDPS, VADDPD), S)
	g.storeResult(m, 0)
	g.storeResult(s, 1)
	g.end()
}

func (g *gen) pick2(ps, pd vop) func(a, b, c Op) {
	f := g.pick(ps, pd)
	return func(a, b, c Op) { f(a, b, c) }
}

func (g *gen) expScale() {
	g.begin("expScale", "(dst, s []T, m, scale T)", "")
	pd := Load(Param("dst").Base(), GP64())
	ps := Load(Param("s").Base(), GP64())
	n := Load(Param("s").Len(), GP64())
	mb := g.scalarParam("m")
	sb := g.scalarParam("scale")
	g.hoistExp(false)
	g.loop(n, []reg.Register{pd, ps}, func(offs []int, mask Op) {
		for _, off := range offs {
			x := g.loadAt(ps, off, mask)
			g.sub(mb, x, x)
			g.expv(x, false)
			g.mul(sb, x, x)
			g.storeAt(x, pd, off, mask)
		}
	})
	g.end()
}

func (g *gen) exp() {
	g.begin("exp", "(dst, x []T)", "")
	pd := Load(Param("dst").Base(), GP64())
	ps := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	g.hoistExp(false)
	g.loop(n, []reg.Register{pd, ps}, func(offs []int, mask Op) {
		for _, off := range offs {
			x := g.loadAt(ps, off, mask)
			g.expv(x, false)
			g.storeAt(x, pd, off, mask)
		}
	})
	g.end()
}

func (g *gen) sum() {
	g.begin("sum", "(s []T) T", "")
	p := Load(Param("s").Base(), GP64())
	n := Load(Param("s").Len(), GP64())
	acc := make([]reg.VecVirtual, g.U)
	for i := range acc {
		acc[i] = g.vec()
		g.zero(acc[i])
	}
	g.loop(n, []reg.Register{p}, func(offs []int, mask Op) {
		for i, off := range offs {
			x := g.loadAt(p, off, mask)
			g.add(x, acc[i], acc[i])
		}
	})
	g.reduceSum(acc)
	s := g.hreduce(g.pick2(VADDPS, VADDPD), acc[0])
	g.storeResult(s, 0)
	g.end()
}

// overC runs body C times with q = p + c·strideBytes.
func (g *gen) overC(p, C, strideBytes reg.Register, body func(q reg.Register)) {
	q, c := GP64(), GP64()
	MOVQ(p, q)
	MOVQ(C, c)
	top, done := g.lbl("c"), g.lbl("cdone")
	Label(top)
	TESTQ(c, c)
	JZ(LabelRef(done))
	body(q)
	ADDQ(strideBytes, q)
	DECQ(c)
	JMP(LabelRef(top))
	Label(done)
}

func (g *gen) strideBytes() reg.Register {
	sb := Load(Param("stride"), GP64())
	if g.f64 {
		SHLQ(Imm(3), sb)
	} else {
		SHLQ(Imm(2), sb)
	}
	return sb
}

// maxSumExpCols: the max over c, then the sum over c against the max
// (clamped to −MaxFloat so that an all −Inf column sums to 0), both
// streaming the rows in order and keeping m and sum in place in memory:
// with the rows a multiple of 4 KiB apart, walking down the columns would
// thrash the L1 sets. NaN is detected with an unordered compare; the Go
// wrapper reruns the portable code then, since these sums include it.
func (g *gen) maxSumExpCols() {
	g.begin("maxSumExpCols", "(m, sum, s []T, C, stride int) (nan bool)", "")
	pm := Load(Param("m").Base(), GP64())
	L := Load(Param("m").Len(), GP64())
	psum := Load(Param("sum").Base(), GP64())
	ps := Load(Param("s").Base(), GP64())
	C := Load(Param("C"), GP64())
	sb := g.strideBytes()
	g.hoistExp(true)
	g.hoist("neginf", "negmax")
	flag := g.nanFlag()
	zero := g.vec()
	g.zero(zero)
	// overRow runs body over the L positions of row q, with pointers to m
	// and sum advancing beside it.
	overRow := func(q reg.Register, body func(q, m, s reg.Register, offs []int, mask Op)) {
		n, m, su := GP64(), GP64(), GP64()
		MOVQ(L, n)
		MOVQ(pm, m)
		MOVQ(psum, su)
		g.loop(n, []reg.Register{q, m, su}, func(offs []int, mask Op) { body(q, m, su, offs, mask) })
	}
	tmp := GP64()
	MOVQ(ps, tmp)
	overRow(tmp, func(_, m, su reg.Register, offs []int, mask Op) {
		for _, off := range offs {
			g.storeAt(g.hot["neginf"], m, off, mask)
			g.storeAt(zero, su, off, mask)
		}
	})
	g.overC(ps, C, sb, func(q reg.Register) {
		row := GP64()
		MOVQ(q, row)
		overRow(row, func(row, m, _ reg.Register, offs []int, mask Op) {
			for _, off := range offs {
				x := g.loadAt(row, off, mask)
				g.flagNaN(x, flag)
				M := g.loadAt(m, off, mask)
				g.max(M, x, M) // NaN in x keeps M
				g.storeAt(M, m, off, mask)
			}
		})
	})
	g.overC(ps, C, sb, func(q reg.Register) {
		row := GP64()
		MOVQ(q, row)
		overRow(row, func(row, m, su reg.Register, offs []int, mask Op) {
			for _, off := range offs {
				x := g.loadAt(row, off, mask)
				M := g.loadAt(m, off, mask)
				g.max(g.k("negmax"), M, M)
				g.sub(M, x, x)
				g.expv(x, true)
				S := g.loadAt(su, off, mask)
				g.add(x, S, S)
				g.storeAt(S, su, off, mask)
			}
		})
	})
	g.storeNaN(flag, 0)
	g.end()
}

func (g *gen) expScaleCols() {
	g.begin("expScaleCols", "(dst, s []T, C, stride int, m, scale []T)", "")
	pd := Load(Param("dst").Base(), GP64())
	ps := Load(Param("s").Base(), GP64())
	C := Load(Param("C"), GP64())
	sb := g.strideBytes()
	pm := Load(Param("m").Base(), GP64())
	L := Load(Param("m").Len(), GP64())
	psc := Load(Param("scale").Base(), GP64())
	g.hoistExp(false)
	// Row by row, m and scale re-read from cache (see maxSumExpCols).
	doff := GP64()
	MOVQ(pd, doff)
	SUBQ(ps, doff) // dst − s: the dst element of s element q is q + doff
	g.overC(ps, C, sb, func(q reg.Register) {
		row, n, m, sc := GP64(), GP64(), GP64(), GP64()
		MOVQ(q, row)
		MOVQ(L, n)
		MOVQ(pm, m)
		MOVQ(psc, sc)
		g.loop(n, []reg.Register{row, m, sc}, func(offs []int, mask Op) {
			for _, off := range offs {
				x := g.loadAt(row, off, mask)
				mv := g.loadAt(m, off, mask)
				g.sub(mv, x, x)
				g.expv(x, false)
				if mask != nil {
					sv := g.loadAt(sc, off, mask)
					g.mul(sv, x, x)
				} else {
					g.mul(at(sc, off), x, x)
				}
				dm := Mem{Base: row, Index: doff, Scale: 1, Disp: off}
				if mask != nil {
					g.maskStore(x, mask, dm)
				} else {
					g.mov(x, dm)
				}
			}
		})
	})
	g.end()
}

// max: per-lane running max with the NaN-ignoring operand order, U
// accumulators, and an unordered compare OR-ed into a flag.
func (g *gen) maxK() {
	g.begin("max", "(s []T) (m T, nan bool)", "")
	p := Load(Param("s").Base(), GP64())
	n := Load(Param("s").Len(), GP64())
	g.hoist("neginf")
	flag := g.nanFlag()
	acc := make([]reg.VecVirtual, g.maxAccs())
	for i := range acc {
		acc[i] = g.vec()
		g.mov(g.hot["neginf"], acc[i])
	}
	g.loop(n, []reg.Register{p}, func(offs []int, mask Op) {
		g.prefetch(p, offs)
		for i, off := range offs {
			g.maxStep(p, off, mask, acc[i%len(acc)], flag)
		}
	})
	g.reduceMax(acc)
	m := g.hreduce(g.pick2(VMAXPS, VMAXPD), acc[0])
	g.storeResult(m, 0)
	g.storeNaN(flag, 1)
	g.end()
}

// maxAccs is how many running maxima max and expSumMax keep, vector i of
// a step going to accumulator i mod maxAccs; they are combined by
// reduceMax. The two must agree: VMAXPS of +0 and −0 returns its second
// source, so the order decides the sign of a zero max, and expSumMax's
// max of the next row is to be Max's bit for bit. U, but two on AVX2,
// where expSumMax needs the registers: float32 for two of the
// exponential's constants (BenchmarkRows3Pass32 pipelined, Zen 3, 3
// alternating runs: 1.90–1.98 → 1.74–1.78 ms at C = 1000, 1.85–1.95 →
// 1.69–1.74 at C = 32000), float64 to hold a step's vectors rather than
// read them twice (xent bench float64 f+b, 3 alternating runs: 2.80–2.85
// → 2.67–2.71 ms at 4096×1000, 5.70–5.80 → 5.48–5.51 at 256×32000). One
// max per cycle keeps up with the loads.
func (g *gen) maxAccs() int {
	if !g.z {
		return 2
	}
	return g.U
}

// reduceSum adds the running sums into acc[0], pairwise.
func (g *gen) reduceSum(acc []reg.VecVirtual) {
	for w := len(acc); w > 1; w /= 2 {
		for i := 0; i < w/2; i++ {
			g.add(acc[i+w/2], acc[i], acc[i])
		}
	}
}

// reduceMax combines the running maxima into acc[0], pairwise.
func (g *gen) reduceMax(acc []reg.VecVirtual) {
	for w := len(acc); w > 1; w /= 2 {
		for i := 0; i < w/2; i++ {
			g.max(acc[i+w/2], acc[i], acc[i])
		}
	}
}

// expSum: dst = exp(s − m), summed in U accumulators; the tail's lanes
// past the end are kept out of the sum.
func (g *gen) expSum() {
	g.begin("expSum", "(dst, s []T, m T) T", "")
	pd := Load(Param("dst").Base(), GP64())
	ps := Load(Param("s").Base(), GP64())
	n := Load(Param("s").Len(), GP64())
	mb := g.scalarParam("m")
	if g.normalFast() {
		g.hoist(g.normalHot()...)
	} else {
		g.hoistExp(false)
	}
	acc := make([]reg.VecVirtual, g.U)
	for i := range acc {
		acc[i] = g.vec()
		g.zero(acc[i])
	}
	g.loop(n, []reg.Register{pd, ps}, func(offs []int, mask Op) {
		g.prefetch(ps, offs) // reaches into the next row, for rows up to prefetchAhead bytes
		if mask == nil && g.normalFast() {
			g.expSumSteps(pd, ps, offs, mb, acc)
			return
		}
		for i, off := range offs {
			g.expSumStep(pd, ps, off, mask, mb, acc[i])
		}
	})
	g.reduceSum(acc)
	s := g.hreduce(g.pick2(VADDPS, VADDPD), acc[0])
	g.storeResult(s, 0)
	g.end()
}

// maxStep is one vector of max and expSumMax: the running max acc of the
// elements at p+off (a tail's missing lanes read as −Inf), with an
// unordered compare OR-ed into flag for NaN.
func (g *gen) maxStep(p reg.Register, off int, mask Op, acc reg.VecVirtual, flag reg.Register) {
	var x reg.VecVirtual
	if mask != nil {
		x = g.vec()
		g.mov(g.k("neginf"), x)
		g.maskLoadInto(at(p, off), mask, x)
	} else {
		x = g.load(at(p, off))
	}
	g.flagNaN(x, flag)
	g.max(acc, x, acc)
}

// expSumSteps is the vectors of an unrolled step of expSum and expSumMax
// where normalFast: dst = exp(s − m) at offs, added into acc, through
// expvNormal when every lane allows it.
func (g *gen) expSumSteps(pd, ps reg.Register, offs []int, mb reg.VecVirtual, acc []reg.VecVirtual) {
	xs := make([]reg.VecVirtual, len(offs))
	for i, off := range offs {
		xs[i] = g.load(at(ps, off))
		g.sub(mb, xs[i], xs[i])
	}
	g.normalOrFull(g.outsideNormal(xs), func(normal bool) {
		if !normal {
			// The full-range exponential needs more registers: park the
			// vectors in dst, which is to be written anyway, and take
			// them one at a time.
			for i, x := range xs {
				g.mov(x, at(pd, offs[i]))
			}
		}
		for i, x := range xs {
			if normal {
				g.expvNormal(x)
			} else {
				x = g.load(at(pd, offs[i]))
				g.expv(x, false)
			}
			g.mov(x, at(pd, offs[i]))
			g.add(x, acc[i], acc[i])
		}
	})
}

// expSumStep is one vector of expSum and expSumMax: dst = exp(s − m) at
// off, added into acc (a tail's missing lanes kept out).
func (g *gen) expSumStep(pd, ps reg.Register, off int, mask Op, mb, acc reg.VecVirtual) {
	x := g.loadAt(ps, off, mask)
	g.sub(mb, x, x)
	g.expv(x, false)
	g.storeAt(x, pd, off, mask)
	switch {
	case mask == nil:
		g.add(x, acc, acc)
	case g.z:
		g.pick(VADDPS, VADDPD)(x, acc, mask, acc)
	default:
		g.pick(VANDPS, VANDPD)(mask, x, x)
		g.add(x, acc, acc)
	}
}

func (g *gen) scale() {
	g.begin("scale", "(dst []T, a T)", "")
	p := Load(Param("dst").Base(), GP64())
	n := Load(Param("dst").Len(), GP64())
	a := g.scalarParam("a")
	g.loop(n, []reg.Register{p}, func(offs []int, mask Op) {
		for _, off := range offs {
			x := g.loadAt(p, off, mask)
			g.mul(a, x, x)
			g.storeAt(x, p, off, mask)
		}
	})
	g.end()
}

// The three-pass spatial kernels: maxCols, expSumCols and scaleCols take
// the positions in blocks of whole vectors (U, then 2, then 1, then the
// masked tail), and walk each block down the rows c in order with its m,
// sum or a in registers (AVX2, with 16 registers, reads m from memory).
// The block's share of a row is whole cache lines (but for a last odd
// vector on AVX2), so no line is wanted again after its block, and the
// rows a multiple of 4 KiB apart (see maxSumExpCols) thrash nothing that
// would be reused. Walking whole rows with the state in memory instead
// costs a store and reload of it per vector and row, which serialises the
// rows when L is small (and stalls them outright in the masked tail, where
// a masked store does not forward to the load that follows it).

// colsKernel is the work of a block of vectors at the byte offsets offs
// (mask set for the tail): setup with cs, the pointers of the caller's
// per-position slices moved to the block; body on the block of each row in
// turn; finish with cs again.
type colsKernel struct {
	setup  func(cs []reg.Register, offs []int, mask Op)
	body   func(row reg.Register, offs []int, mask Op)
	finish func(cs []reg.Register, offs []int, mask Op)
}

// colsBlocks runs k over the L positions of the C rows of s (row c at
// s + c·strideBytes), the pointers in cols (to per-position slices)
// advancing with the blocks.
func (g *gen) colsBlocks(ps, C, sb, L reg.Register, cols []reg.Register, k colsKernel) {
	n, base := GP64(), GP64()
	MOVQ(L, n)
	MOVQ(ps, base)
	cs := make([]reg.Register, len(cols))
	for i, p := range cols {
		cs[i] = GP64()
		MOVQ(p, cs[i])
	}
	block := func(offs []int, mask Op) {
		k.setup(cs, offs, mask)
		g.overC(base, C, sb, func(q reg.Register) { k.body(q, offs, mask) })
		k.finish(cs, offs, mask)
	}
	step := func(u int) {
		top, next := g.lbl("blk"), g.lbl("blknext")
		Label(top)
		CMPQ(n, U32(g.W*u))
		JL(LabelRef(next))
		offs := make([]int, u)
		for i := range offs {
			offs[i] = i * g.W * g.es
		}
		block(offs, nil)
		for _, p := range append([]reg.Register{base}, cs...) {
			ADDQ(U32(g.W*u*g.es), p)
		}
		SUBQ(U32(g.W*u), n)
		JMP(LabelRef(top))
		Label(next)
	}
	if g.U > 2 {
		step(g.U)
	}
	if g.U > 1 {
		step(2) // a whole line where a line holds two vectors (AVX2)
	}
	step(1)
	done := g.lbl("blkdone")
	TESTQ(n, n)
	JZ(LabelRef(done))
	block([]int{0}, g.tailMask(n))
	Label(done)
}

// nanFlag starts a flag of unordered compares: flagNaN sets it where an
// element is NaN, storeNaN returns whether it was ever set.
func (g *gen) nanFlag() reg.Register {
	if g.z {
		k := K()
		KXORW(k, k, k)
		return k
	}
	v := g.vec()
	g.zero(v)
	return v
}

func (g *gen) flagNaN(x reg.VecVirtual, flag reg.Register) {
	const unord = 3
	if g.z {
		k := K()
		g.pick(VCMPPS, VCMPPD)(Imm(unord), x, x, k)
		KORW(k, flag, flag)
	} else {
		c := g.vec()
		g.pick(VCMPPS, VCMPPD)(Imm(unord), x, x, c)
		g.pick(VORPS, VORPD)(c, flag, flag)
	}
}

// storeNaN stores whether flag has any lane set as the bool result index.
func (g *gen) storeNaN(flag reg.Register, index int) {
	r := GP32()
	if g.z {
		KMOVW(flag, r)
	} else if g.f64 {
		VMOVMSKPD(flag, r)
	} else {
		VMOVMSKPS(flag, r)
	}
	TESTL(r, r)
	out := GP8()
	SETNE(out)
	Store(out, ReturnIndex(index))
}

// maxCols: a running max per block with the NaN-ignoring operand order
// (masked-off tail lanes read 0 and are never stored), NaN flagged by an
// unordered compare; it needs no fallback.
func (g *gen) maxCols() {
	g.begin("maxCols", "(m, s []T, C, stride int) (nan bool)", "")
	pm := Load(Param("m").Base(), GP64())
	L := Load(Param("m").Len(), GP64())
	ps := Load(Param("s").Base(), GP64())
	C := Load(Param("C"), GP64())
	sb := g.strideBytes()
	g.hoist("neginf")
	flag := g.nanFlag()
	var M []reg.VecVirtual
	g.colsBlocks(ps, C, sb, L, []reg.Register{pm}, colsKernel{
		setup: func(cs []reg.Register, offs []int, mask Op) {
			M = make([]reg.VecVirtual, len(offs))
			for i := range M {
				M[i] = g.vec()
				g.mov(g.hot["neginf"], M[i])
			}
		},
		body: func(row reg.Register, offs []int, mask Op) {
			for i, off := range offs {
				x := g.loadAt(row, off, mask)
				g.flagNaN(x, flag)
				g.max(M[i], x, M[i]) // NaN in x keeps M
			}
		},
		finish: func(cs []reg.Register, offs []int, mask Op) {
			for i, off := range offs {
				g.storeAt(M[i], cs[0], off, mask)
			}
		},
	})
	g.storeNaN(flag, 0)
	g.end()
}

// expSumCols: dst = exp(s − m) with the full-range exponential (m is any
// finite value, so s − m may be positive), summed per block in registers
// from 0. Each row's subtractions are issued before its exponentials.
func (g *gen) expSumCols() {
	g.begin("expSumCols", "(dst, s []T, C, stride int, m, sum []T)", "")
	pd := Load(Param("dst").Base(), GP64())
	ps := Load(Param("s").Base(), GP64())
	C := Load(Param("C"), GP64())
	sb := g.strideBytes()
	pm := Load(Param("m").Base(), GP64())
	L := Load(Param("m").Len(), GP64())
	psum := Load(Param("sum").Base(), GP64())
	g.hoistExp(false)
	doff := GP64()
	MOVQ(pd, doff)
	SUBQ(ps, doff) // dst − s: the dst element of s element q is q + doff
	var M []Op
	var S []reg.VecVirtual
	g.colsBlocks(ps, C, sb, L, []reg.Register{pm, psum}, colsKernel{
		setup: func(cs []reg.Register, offs []int, mask Op) {
			// AVX2 has registers for the sums but not for m as well: its m
			// stays a memory operand, but in the tail.
			M, S = make([]Op, len(offs)), make([]reg.VecVirtual, len(offs))
			for i, off := range offs {
				if g.z || mask != nil {
					M[i] = g.loadAt(cs[0], off, mask)
				} else {
					M[i] = at(cs[0], off)
				}
				S[i] = g.vec()
				g.zero(S[i])
			}
		},
		body: func(row reg.Register, offs []int, mask Op) {
			xs := make([]reg.VecVirtual, len(offs))
			for i, off := range offs {
				xs[i] = g.loadAt(row, off, mask)
				g.sub(M[i], xs[i], xs[i])
			}
			for i, off := range offs {
				g.expv(xs[i], false)
				dm := Mem{Base: row, Index: doff, Scale: 1, Disp: off}
				if mask != nil {
					g.maskStore(xs[i], mask, dm)
				} else {
					g.mov(xs[i], dm)
				}
				g.add(xs[i], S[i], S[i])
			}
		},
		finish: func(cs []reg.Register, offs []int, mask Op) {
			for i, off := range offs {
				g.storeAt(S[i], cs[1], off, mask)
			}
		},
	})
	g.end()
}

// scaleCols: dst *= a, a per block in registers.
func (g *gen) scaleCols() {
	g.begin("scaleCols", "(dst []T, C, stride int, a []T)", "")
	pd := Load(Param("dst").Base(), GP64())
	C := Load(Param("C"), GP64())
	sb := g.strideBytes()
	pa := Load(Param("a").Base(), GP64())
	L := Load(Param("a").Len(), GP64())
	var A []reg.VecVirtual
	g.colsBlocks(pd, C, sb, L, []reg.Register{pa}, colsKernel{
		setup: func(cs []reg.Register, offs []int, mask Op) {
			A = make([]reg.VecVirtual, len(offs))
			for i, off := range offs {
				A[i] = g.loadAt(cs[0], off, mask)
			}
		},
		body: func(row reg.Register, offs []int, mask Op) {
			for i, off := range offs {
				x := g.loadAt(row, off, mask)
				g.mul(A[i], x, x)
				g.storeAt(x, row, off, mask)
			}
		},
		finish: func(cs []reg.Register, offs []int, mask Op) {},
	})
	g.end()
}

// expSumMax is expSum for row s with the max of the next row, next, taken
// in the same loop (len(next) = len(s)): the next row streams in from
// memory while this row's exponentials are computed, and its max is ready
// for the checks that must come before its own exponentials are written.
// The prefetch runs pipelineAhead bytes ahead of next.
//
// With scalePrev it is scaleExpSumMax, which also multiplies the row
// before, prev (the previous row's gradient, still in cache), by a: the
// scale pass of that row, in the same loop.
func (g *gen) expSumMax(scalePrev bool) {
	name, sig := "expSumMax", "(dst, s []T, m T, next []T) (sum, mNext T, nan bool)"
	if scalePrev {
		name, sig = "scaleExpSumMax", "(prev []T, a T, dst, s []T, m T, next []T) (sum, mNext T, nan bool)"
	}
	g.begin(name, sig, "")
	pd := Load(Param("dst").Base(), GP64())
	ps := Load(Param("s").Base(), GP64())
	pn := Load(Param("next").Base(), GP64())
	n := Load(Param("s").Len(), GP64())
	mb := g.scalarParam("m")
	var pp reg.Register
	var ab reg.VecVirtual
	ptrs := []reg.Register{pd, ps, pn}
	if scalePrev {
		pp = Load(Param("prev").Base(), GP64())
		ab = g.scalarParam("a")
		ptrs = append(ptrs, pp)
	}
	// On AVX2 expSumSteps holds a step's vectors at once, beside U sums
	// and maxAccs maxima: float32 has two registers left for constants,
	// float64 none (the exponentials load the rest, and the full-range
	// path its clamps: clampReg).
	fast := g.normalFast() && !scalePrev
	switch {
	case g.z:
		g.hoistExp(false)
	case !g.f64:
		g.hoist(g.normalHot()...)
	}
	flag := g.nanFlag()
	acc := make([]reg.VecVirtual, g.U)
	mx := make([]reg.VecVirtual, g.maxAccs())
	for i := range acc {
		acc[i] = g.vec()
		g.zero(acc[i])
		if i < len(mx) {
			mx[i] = g.vec()
			g.mov(g.constMem("neginf"), mx[i])
		}
	}
	g.loop(n, ptrs, func(offs []int, mask Op) {
		g.prefetchAt(pn, offs, pipelineAhead)
		if mask == nil && fast {
			for i, off := range offs {
				g.maxStep(pn, off, mask, mx[i%len(mx)], flag)
			}
			g.expSumSteps(pd, ps, offs, mb, acc)
			return
		}
		for i, off := range offs {
			g.maxStep(pn, off, mask, mx[i%len(mx)], flag)
			if scalePrev {
				z := g.loadAt(pp, off, mask)
				g.mul(ab, z, z)
				g.storeAt(z, pp, off, mask)
			}
			g.expSumStep(pd, ps, off, mask, mb, acc[i])
		}
	})
	if len(mx) == len(acc) {
		// reduceSum and reduceMax, interleaved.
		for w := len(acc); w > 1; w /= 2 {
			for i := 0; i < w/2; i++ {
				g.add(acc[i+w/2], acc[i], acc[i])
				g.max(mx[i+w/2], mx[i], mx[i])
			}
		}
	} else {
		g.reduceSum(acc)
		g.reduceMax(mx)
	}
	s := g.hreduce(g.pick2(VADDPS, VADDPD), acc[0])
	g.storeResult(s, 0)
	m := g.hreduce(g.pick2(VMAXPS, VMAXPD), mx[0])
	g.storeResult(m, 1)
	g.storeNaN(flag, 2)
	g.end()
}
