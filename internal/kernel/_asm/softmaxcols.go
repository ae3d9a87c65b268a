package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The per-position inputs, outputs and scratch of softmaxCols live in one
// ColsBlock32, at these offsets (checked by a test in package kernel).
const (
	cbY   = 0    // [256]int32
	cbGW  = 1024 // [256]float64
	cbM   = 3072 // [256]float32
	cbSum = 4096
	cbSY  = 5120
	cbAux = 6144 // [2·colsWide·16]float32: a and the targets' elements
	cbCnt = 8192 // uint32: the positions counted so far
	cbTmp = 8256 // [colsWideMaxC·16·colsWide]float32, also ≥ [64·16·2]

	colsWide     = 16 // vectors of positions in a wide step
	colsWideMaxC = 32 // the most classes a wide step takes (tmp in L1)
)

// softmaxCols: the whole gradient of index-target positions laid out in
// columns, a step of vectors of positions at a time, reading each logit
// once and writing each gradient element once (AVX-512, float32 only).
//
// With the rows 64 KiB apart (a 128×128 image), the C logits of one
// position all map to the same L1 and L2 sets, so a kernel that walks the
// rows three times (max; exponentials; scale) finds them gone each time.
// Here a step's C rows are copied into tmp (contiguous, C·u·64 bytes for
// u vectors of positions, which stays in L1) while the max is taken, and
// the exponentials and the scaled gradient are made from tmp:
//
//	pass 1, down the rows: x = s[c]; tmp[c] = x; M = max(M, x)
//	the target logits sy, gathered from tmp
//	pass 2, down tmp: e = exp(x − M); tmp[c] = e; S += e
//	check: S is NaN if a logit is NaN or M is ±Inf; with a −Inf target
//	       logit that stops the kernel before the step's first store,
//	       returning the positions done
//	a = float32(gw / float64(S)), in float64 as the Go code does
//	the target's element, e_y·a − gw, in float64, from a gather of tmp
//	pass 3, down tmp: d[c] = e·a, or the target's element where c == y
//
// (Pass 3 once went up from the last row, whose lines pass 1 had left in
// L1; going down measured 3–7% faster at 128×128, alternating test
// binaries of `go test -bench CrossEntropy/shape=8x21x128x128` in package
// xent; this machine has no cache counters to say why.)
//
// Steps take 2 vectors side by side, for independent chains of max, sum
// and exponentials, with M and S in registers; then single vectors, then a
// masked tail. During pass 2 the next step's lines of every row are
// prefetched.
//
// With grad, where the rows are a multiple of 4 KiB apart and C ≤
// colsWideMaxC, whole wide steps of colsWide vectors (256 positions) come
// first: pass 1 keeps the 16 vectors of M in registers and leaves them in
// b's M, S is in b's Sum, and pass 2 goes down one column of tmp at a
// time (a column's lines, 1 KiB apart, spread over four L1 sets). (With M
// in b during pass 1 too, a load and a store more per vector, the
// gradient of 8 images of 21×128×128 took 1.92–2.24 ms against 1.45–1.95
// on the Xeon, model 207, one thread, 8 alternating runs.) With
// rows 64 KiB apart, a wide step's stores are runs of 1 KiB per row
// instead of 128 bytes, and the in-place gradient of 8 images of 21×128×128
// took 0.59–0.62 ms against 0.84–0.88 with 2-vector steps (one thread,
// three alternating runs); with the rows 65 KiB or 1 KiB apart the
// 2-vector steps were faster (0.52–0.57 against 0.61–0.65 ms, and 7.7
// against 8.3–8.7 µs), and so was the loss alone, whatever the stride. A
// wide step that meets a bad position stops the kernel at its start, up to
// 255 positions before it.
//
// Without grad it is softmaxColsFwd: passes 1 and 2 only, for the loss
// alone, with nothing written but b's outputs.
//
// With idx it is softmaxColsIdx (or softmaxColsIdxFwd), for unweighted
// index targets: each step first makes its Y and GW from the int64
// targets (Y = −1 and GW = 0 where the target is the ignore index, else
// Y = the target and GW = gw), and after pass 2 writes the positions'
// losses (M − SY) + log(S) in float64 (0 where ignored), with the log of
// the log kernel, and counts the positions not ignored: the per-position
// loops the Go code would otherwise run.
func (g *gen) softmaxCols(grad, idx bool) {
	pd, ps, C, sb, L, pb, pt, pl := g.beginCols(grad, idx)
	g.hoist(g.tabExpConsts(expNonPos)...)
	g.hoist("neginf")
	doff := GP64()
	if grad {
		MOVQ(pd, doff)
		SUBQ(ps, doff) // d − s: the d element of s element q is q + doff
	}
	j := GP64() // positions done
	XORQ(j, j)
	minus1, one := g.vec(), g.vec()
	VPTERNLOGD(Imm(0xff), minus1, minus1, minus1) // all ones: −1 in every lane
	VPSRLD(Imm(31), minus1, one)
	field := func(off, scale int) Mem { return Mem{Base: pb, Index: j, Scale: uint8(scale), Disp: off} }
	bail := "sc_bail"
	// put stores v at the output field off for vector i of a step.
	put := func(v reg.VecVirtual, off, i int, mask Op) {
		if mask != nil {
			g.maskStore(v, mask, field(off+64*i, 4))
		} else {
			g.mov(v, field(off+64*i, 4))
		}
	}

	// step does u vectors of positions from j, the last one masked if mask
	// is set; tmp's rows are u·64 bytes.
	step := func(u int, mask Op) {
		rowBytes := 64 * u
		lanes := func(i int) Op {
			if i == u-1 {
				return mask
			}
			return nil
		}
		if idx {
			g.colsTargets(u, lanes, pt, j, pb, minus1, grad)
		}

		// Pass 1.
		wide := u == colsWide // S in b, not in registers
		M := make([]reg.VecVirtual, u)
		for i := range M {
			M[i] = g.vec()
			g.mov(g.hot["neginf"], M[i])
		}
		q, t, c := GP64(), GP64(), GP64()
		LEAQ(Mem{Base: ps, Index: j, Scale: 4}, q)
		LEAQ(Mem{Base: pb, Disp: cbTmp}, t)
		MOVQ(C, c)
		g.rows(c, func() {
			for i := range M {
				x := g.loadAt(q, 64*i, lanes(i))
				g.mov(x, at(t, 64*i))
				g.max(M[i], x, M[i]) // NaN in x keeps M
			}
			ADDQ(sb, q)
			ADDQ(U32(rowBytes), t)
		})
		for i := range M {
			put(M[i], cbM, i, lanes(i))
		}

		// The target logits, gathered from tmp; a −Inf one is flagged.
		flag := K()
		KXORW(flag, flag, flag)
		// hasTarget is the mask of vector i's lanes with a target term.
		hasTarget := func(i int) reg.Register {
			k := K()
			VPCMPD(Imm(1), field(cbY+64*i, 4), minus1, k) // −1 < y
			if m := lanes(i); m != nil {
				KANDW(m, k, k)
			}
			return k
		}
		// gather returns the elements of tmp at the rows y of vector i.
		gather := func(i int, mask reg.Register) reg.VecVirtual {
			idx := g.vec()
			VMOVDQU32(field(cbY+64*i, 4), idx)
			VPSLLD(Imm(uint64(4+log2(u))), idx, idx) // y·16·u
			VPADDD(iotaTab(16*i), idx, idx)
			v := g.vec()
			g.zero(v)
			VGATHERDPS(Mem{Base: pb, Index: idx, Scale: 4, Disp: cbTmp}, mask, v)
			return v
		}
		for i := 0; i < u; i++ {
			has := hasTarget(i)
			gk := K()
			KMOVW(has, gk) // the gather clears its mask
			sy := gather(i, gk)
			put(sy, cbSY, i, lanes(i))
			inf := K()
			VCMPPS(Imm(0), g.hot["neginf"], sy, has, inf) // sy == −Inf
			KORW(inf, flag, flag)
		}

		// Pass 2.
		S := make([]reg.VecVirtual, u)
		if !wide {
			for i := range S {
				S[i] = g.vec()
				g.zero(S[i])
			}
		}
		// sum returns vector i's sums after pass 2.
		sum := func(i int) reg.VecVirtual {
			if wide {
				v := g.vec()
				g.mov(field(cbSum+64*i, 4), v)
				return v
			}
			return S[i]
		}
		pf := GP64() // the next step's lines of each row, prefetched here
		if wide {
			// A column of tmp at a time, with its max and sum in
			// registers: tmp's rows are 1 KiB apart, so a column's
			// lines spread over four L1 sets.
			for i := 0; i < u; i++ {
				LEAQ(Mem{Base: pb, Disp: cbTmp + 64*i}, t)
				LEAQ(Mem{Base: ps, Index: j, Scale: 4, Disp: 64 * (u + i)}, pf)
				MOVQ(C, c)
				m, sum := g.vec(), g.vec()
				g.mov(field(cbM+64*i, 4), m)
				g.zero(sum)
				g.rows(c, func() {
					PREFETCHT0(Mem{Base: pf})
					ADDQ(sb, pf)
					x := g.load(Mem{Base: t})
					g.sub(m, x, x)
					g.expvCols(x) // x ≤ 0 (or NaN)
					if grad {
						g.mov(x, Mem{Base: t})
					}
					g.add(x, sum, sum)
					ADDQ(U32(rowBytes), t)
				})
				g.mov(sum, field(cbSum+64*i, 4))
			}
		} else {
			LEAQ(Mem{Base: pb, Disp: cbTmp}, t)
			MOVQ(C, c)
			LEAQ(Mem{Base: ps, Index: j, Scale: 4, Disp: 64 * u}, pf)
			g.rows(c, func() {
				for i := 0; i < u; i++ {
					PREFETCHT0(at(pf, 64*i))
				}
				ADDQ(sb, pf)
				xs := make([]reg.VecVirtual, u)
				for i := range xs {
					xs[i] = g.load(at(t, 64*i))
					g.sub(field(cbM+64*i, 4), xs[i], xs[i])
				}
				for i, x := range xs {
					g.expvCols(x) // x ≤ 0 (or NaN)
					if grad {
						g.mov(x, at(t, 64*i))
					}
					g.add(x, S[i], S[i])
				}
				ADDQ(U32(rowBytes), t)
			})
		}
		for i := range S {
			si := sum(i)
			if !wide {
				put(si, cbSum, i, lanes(i))
			}
			nan := K()
			g.pick(VCMPPS, VCMPPD)(Imm(3), si, si, nan)
			if m := lanes(i); m != nil {
				KANDW(m, nan, nan)
			}
			KORW(nan, flag, flag)
		}
		KORTESTW(flag, flag)
		JNZ(LabelRef(bail))
		// The losses, once the sums are no longer needed in registers.
		losses := func() {
			if idx {
				for i := 0; i < u; i++ {
					g.colsLoss(i, lanes(i), hasTarget(i), pb, pl, j)
				}
			}
		}
		if !grad {
			losses()
			return
		}

		// a = float32(gw / float64(S)) and the target's element
		// float32(float64(e_y·a) − gw), a half vector at a time.
		half := func(v reg.VecVirtual, hi bool, gw Op, op func(w, x, dst Op)) reg.VecVirtual {
			src := v.AsY()
			if hi {
				h := YMM()
				VEXTRACTF64X4(Imm(1), v, h)
				src = h
			}
			wide := g.vec()
			VCVTPS2PD(src, wide)
			op(gw, wide, wide)
			out := YMM()
			VCVTPD2PS(wide, out)
			return out
		}
		join := func(lo, hi reg.VecVirtual) reg.VecVirtual {
			v := g.vec()
			VINSERTF64X4(Imm(1), hi, lo.AsZ(), v)
			return v
		}
		div := func(gw, x, dst Op) { // dst = gw / x
			w := g.vec()
			VMOVUPD(gw, w)
			VDIVPD(x, w, dst)
		}
		sub := func(gw, x, dst Op) { VSUBPD(gw, x, dst) } // dst = x − gw
		aA := func(i int) Mem { return Mem{Base: pb, Disp: cbAux + 64*i} }
		aFixed := func(i int) Mem { return Mem{Base: pb, Disp: cbAux + 64*(colsWide+i)} }
		for i := 0; i < u; i++ {
			lo, hi := field(cbGW+128*i, 8), field(cbGW+128*i+64, 8)
			si := sum(i)
			A := join(half(si, false, lo, div), half(si, true, hi, div))
			g.mov(A, aA(i))
			ey := gather(i, hasTarget(i))
			g.mul(A, ey, ey)
			g.mov(join(half(ey, false, lo, sub), half(ey, true, hi, sub)), aFixed(i))
		}

		// Pass 3, down from the first row.
		cv := g.vec()
		g.mov(minus1, cv)
		LEAQ(Mem{Base: ps, Index: j, Scale: 4}, q)
		LEAQ(Mem{Base: pb, Disp: cbTmp}, t)
		MOVQ(C, c)
		g.rows(c, func() {
			VPADDD(one, cv, cv)
			for i := 0; i < u; i++ {
				x := g.load(at(t, 64*i))
				g.mul(aA(i), x, x)
				hit := K()
				VPCMPEQD(field(cbY+64*i, 4), cv, hit)
				VMOVUPS(aFixed(i), hit, x)
				dm := Mem{Base: q, Index: doff, Scale: 1, Disp: 64 * i}
				if m := lanes(i); m != nil {
					g.maskStore(x, m, dm)
				} else {
					g.mov(x, dm)
				}
			}
			ADDQ(sb, q)
			ADDQ(U32(rowBytes), t)
		})
		losses()
	}

	sizes := []int{2, 1}
	if grad {
		sizes = []int{colsWide, 2, 1}
	}
	// Wide steps only where the rows are a multiple of 4 KiB apart and C
	// is small enough.
	wideOK := func(u int, next string) {
		if u == colsWide {
			TESTQ(U32(4095), sb)
			JNZ(LabelRef(next))
			CMPQ(C, U32(colsWideMaxC))
			JA(LabelRef(next))
		}
	}
	g.colsSteps(L, j, pb, idx, sizes, wideOK, step, bail)
}

// colsSteps ends a softmaxCols kernel: it runs step over the L positions
// from j = 0, whole steps of each size in sizes (vectors of positions, the
// largest first) while they fit, then the rest as one masked vector; skip,
// if not nil, is emitted before a size's steps and may jump to next to
// leave them out. Then, at bail too, it returns j and, with idx, the count.
func (g *gen) colsSteps(L, j, pb reg.Register, idx bool, sizes []int, skip func(u int, next string), step func(u int, mask Op), bail string) {
	left := GP64() // L − j
	MOVQ(L, left)
	for _, u := range sizes {
		top, next := g.lbl("sc_step"), g.lbl("sc_next")
		if skip != nil {
			skip(u, next)
		}
		Label(top)
		CMPQ(left, U32(g.W*u))
		JL(LabelRef(next))
		step(u, nil)
		ADDQ(U32(g.W*u), j)
		SUBQ(U32(g.W*u), left)
		JMP(LabelRef(top))
		Label(next)
	}
	out := "sc_out"
	TESTQ(left, left)
	JZ(LabelRef(out))
	step(1, g.tailMask(left))
	ADDQ(left, j)
	Label(out)
	Label(bail)
	Store(j, ReturnIndex(0))
	if idx {
		n := GP64()
		MOVLQZX(Mem{Base: pb, Disp: cbCnt}, n)
		Store(n, ReturnIndex(1))
	}
	g.end()
}

// beginCols opens the softmaxCols kernel of the variant (see softmaxCols)
// and loads its arguments: the pointers to d (nil without grad) and s, C,
// the stride in bytes, L, the block b and, with idx, the targets and the
// losses, whose count it zeroes.
func (g *gen) beginCols(grad, idx bool) (pd, ps, C, sb, L, pb, pt, pl reg.Register) {
	name, sig := "softmaxCols", "(d, s []T, C, stride, L int, b *int32) (done int)"
	switch {
	case idx && grad:
		name, sig = "softmaxColsIdx", "(d, s []T, C, stride, L int, t *int64, ignore int64, gw float64, losses *float64, b *int32) (done, counted int)"
	case idx:
		name, sig = "softmaxColsIdxFwd", "(s []T, C, stride, L int, t *int64, ignore int64, losses *float64, b *int32) (done, counted int)"
	case !grad:
		name, sig = "softmaxColsFwd", "(s []T, C, stride, L int, b *int32) (done int)"
	}
	g.begin(name, sig, "")
	if grad {
		pd = Load(Param("d").Base(), GP64())
	}
	ps = Load(Param("s").Base(), GP64())
	C = Load(Param("C"), GP64())
	sb = g.strideBytes()
	L = Load(Param("L"), GP64())
	pb = Load(Param("b"), GP64())
	if idx {
		pt = Load(Param("t"), GP64())
		pl = Load(Param("losses"), GP64())
		MOVL(U32(0), Mem{Base: pb, Disp: cbCnt})
	}
	return pd, ps, C, sb, L, pb, pt, pl
}

func log2(n int) int {
	k := 0
	for 1<<k < n {
		k++
	}
	return k
}

// rows emits a loop running body c times (c > 0 is not assumed).
func (g *gen) rows(c reg.Register, body func()) {
	top, done := g.lbl("row"), g.lbl("rowdone")
	Label(top)
	TESTQ(c, c)
	JZ(LabelRef(done))
	body()
	DECQ(c)
	JMP(LabelRef(top))
	Label(done)
}

var iotaMems = map[int]Mem{}

// iotaTab is the int32 vector from, from+1, …, from+15.
func iotaTab(from int) Mem {
	m, ok := iotaMems[from]
	if !ok {
		m = GLOBL(fmt.Sprintf("iota32_%d", from), RODATA|NOPTR)
		for i := 0; i < 16; i++ {
			DATA(4*i, U32(uint32(from+i)))
		}
		iotaMems[from] = m
	}
	return m
}

// colsTargets makes Y, and with grad GW, of a step's u vectors of
// positions from the int64 targets at pt (see softmaxCols), 8 at a time:
// −1 (all ones, in minus1) replaces an ignored target before it is
// narrowed to int32. It writes whole vectors; lanes past L are never read
// back.
func (g *gen) colsTargets(u int, lanes func(int) Op, pt, j, pb reg.Register, minus1 reg.VecVirtual, grad bool) {
	ign, gw := g.targetParams(grad)
	for i := 0; i < u; i++ {
		var ys [2]reg.VecVirtual
		for h := range 2 {
			src := Mem{Base: pt, Index: j, Scale: 8, Disp: 8 * (16*i + 8*h)}
			t := ZMM()
			if m := lanes(i); m != nil {
				VMOVDQU64_Z(src, halfMask(m, h), t)
			} else {
				VMOVDQU64(src, t)
			}
			ignored := K()
			VPCMPEQQ(ign, t, ignored)
			VMOVDQA64(minus1, ignored, t)
			ys[h] = YMM()
			VPMOVQD(t, ys[h])
			if grad {
				w := ZMM()
				VMOVAPD(gw, w)
				VPXORQ(w, w, ignored, w) // 0 where ignored
				VMOVUPD(w, Mem{Base: pb, Index: j, Scale: 8, Disp: cbGW + 8*(16*i+8*h)})
			}
		}
		y := ZMM()
		VINSERTI64X4(Imm(1), ys[1], ys[0].AsZ(), y)
		VMOVDQU32(y, Mem{Base: pb, Index: j, Scale: 4, Disp: cbY + 64*i})
	}
}

// halfMask returns the opmask of the 8 lanes of half h of the 16-lane
// mask m, in its low byte.
func halfMask(m Op, h int) reg.Register {
	k := K()
	if h == 0 {
		KMOVW(m, k)
	} else {
		KSHIFTRW(Imm(8), m, k)
	}
	return k
}

// colsLoss writes the losses of vector i of a step (see softmaxCols) to
// the float64 array at pl: (M − SY) + log(Sum), the log as the log kernel
// takes it, and 0 where has is clear; mask, if set, limits the lanes
// written. It adds has's lanes to the count at cbCnt.
func (g *gen) colsLoss(i int, mask Op, has reg.Register, pb, pl, j reg.Register) {
	n := GP32()
	KMOVW(has, n)
	POPCNTL(n, n)
	ADDL(n, Mem{Base: pb, Disp: cbCnt})
	const ltOQ = 0x11
	x := ZMM()
	g.mov(Mem{Base: pb, Index: j, Scale: 4, Disp: cbSum + 64*i}, x)
	sub := K()
	VCMPPS(Imm(ltOQ), g.k("ltiny"), x, sub)
	lg := g.logv(x, sub)
	VFIXUPIMMPS(Imm(0), g.k("lfix"), x, lg)
	for h := range 2 {
		m, sy, l := ZMM(), ZMM(), ZMM()
		VCVTPS2PD(Mem{Base: pb, Index: j, Scale: 4, Disp: cbM + 64*i + 32*h}, m)
		VCVTPS2PD(Mem{Base: pb, Index: j, Scale: 4, Disp: cbSY + 64*i + 32*h}, sy)
		half := lg.AsY()
		if h == 1 {
			half = YMM()
			VEXTRACTF64X4(Imm(1), lg, half)
		}
		VCVTPS2PD(half, l)
		VSUBPD(sy, m, m) // M − SY
		VADDPD(l, m, m)  // + log S
		out := ZMM()
		VMOVAPD_Z(m, halfMask(has, h), out)
		dst := Mem{Base: pl, Index: j, Scale: 8, Disp: 8 * (16*i + 8*h)}
		if mask != nil {
			VMOVUPD(out, halfMask(mask, h), dst)
		} else {
			VMOVUPD(out, dst)
		}
	}
}

// expvCols is the exponential of pass 2, where x ≤ 0 (or NaN), exact
// down to the subnormals: with grad its results are the gradient's, and
// without, the loss alone sums the same exponentials, so that the two
// give the same loss bit for bit (TestFusedBlock).
func (g *gen) expvCols(x reg.VecVirtual) { g.expvTab(x, expNonPos) }
