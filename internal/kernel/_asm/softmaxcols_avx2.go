package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// softmaxColsAVX2 is softmaxCols (with grad) or softmaxColsFwd for AVX2:
// the same three passes over a copy of a step's rows in tmp (see
// softmaxCols), with these differences:
//
//   - Steps take 4 vectors of 8 positions side by side (the same 128 bytes
//     of each row as AVX-512's 2-vector steps), then single vectors, then
//     a masked tail: at most 31 positions are left undone before a bad one,
//     as there. There are no wide steps.
//   - M lives in b's M between passes 1 and 2: with 16 registers, four
//     maxima would not fit beside four sums and the exponential's
//     temporaries.
//   - Lane masks are vectors: the −Inf target and NaN sum flags are OR-ed
//     into one vector and tested with VPTEST; the gathers take a copy of
//     the target mask, which they clear.
//   - The exponential is the full-range one that ExpSumCols32 uses, not the
//     flushing one (not exp(x) below the smallest normal), so that the
//     gradient is bit for bit that of the three-pass kernels; pairs of
//     vectors whose lanes all allow it take expvNormal, which gives the
//     same (see normalFast).
//
// With idx it is softmaxColsIdx (or softmaxColsIdxFwd): each step first
// makes its Y and GW from the int64 targets and after its last pass writes
// the positions' losses and counts them, as on AVX-512 (see colsTargetsAVX2
// and colsLossAVX2).
func (g *gen) softmaxColsAVX2(grad, idx bool) {
	pd, ps, C, sb, L, pb, pt, pl := g.beginCols(grad, idx)
	g.hoist(g.normalHot()...)
	doff := GP64()
	if grad {
		MOVQ(pd, doff)
		SUBQ(ps, doff) // d − s: the d element of s element q is q + doff
	}
	j := GP64() // positions done
	XORQ(j, j)
	field := func(off int) Mem { return Mem{Base: pb, Index: j, Scale: 4, Disp: off} }
	bail := "sc_bail"

	// step does u vectors of positions from j, the last one masked if mask
	// is set; tmp's rows are u·32 bytes.
	step := func(u int, mask Op) {
		rowBytes := 32 * u
		lanes := func(i int) Op {
			if i == u-1 {
				return mask
			}
			return nil
		}
		put := func(v reg.VecVirtual, off, i int) {
			if m := lanes(i); m != nil {
				g.maskStore(v, m, field(off+32*i))
			} else {
				g.mov(v, field(off+32*i))
			}
		}

		if idx {
			g.colsTargetsAVX2(u, lanes, pt, j, pb, grad)
		}

		// Pass 1.
		M := make([]reg.VecVirtual, u)
		for i := range M {
			M[i] = g.vec()
			g.mov(g.constMem("neginf"), M[i])
		}
		q, t, c := GP64(), GP64(), GP64()
		LEAQ(Mem{Base: ps, Index: j, Scale: 4}, q)
		LEAQ(Mem{Base: pb, Disp: cbTmp}, t)
		MOVQ(C, c)
		g.rows(c, func() {
			for i := range M {
				x := g.loadAt(q, 32*i, lanes(i))
				g.mov(x, at(t, 32*i))
				g.max(M[i], x, M[i]) // NaN in x keeps M
			}
			ADDQ(sb, q)
			ADDQ(U32(rowBytes), t)
		})
		for i := range M {
			put(M[i], cbM, i)
		}

		// The target logits, gathered from tmp; a −Inf one is flagged.
		flag := g.vec()
		g.zero(flag)
		// hasTarget is the lane mask of vector i's lanes with a target.
		hasTarget := func(i int) reg.VecVirtual {
			y, minus1 := g.vec(), g.vec()
			VPCMPEQD(minus1, minus1, minus1)
			g.mov(field(cbY+32*i), y)
			VPCMPGTD(minus1, y, y) // y > −1
			if m := lanes(i); m != nil {
				VPAND(m, y, y)
			}
			return y
		}
		// gather returns the elements of tmp at the rows y of vector i
		// where has is set, 0 elsewhere.
		gather := func(i int, has reg.VecVirtual) reg.VecVirtual {
			ix := g.vec() // the elements' indices in tmp
			g.mov(field(cbY+32*i), ix)
			VPSLLD(Imm(uint64(3+log2(u))), ix, ix) // y·8·u
			VPADDD(iotaTab(8*i), ix, ix)
			v, mk := g.vec(), g.vec()
			g.zero(v)
			g.mov(has, mk) // the gather clears its mask
			VGATHERDPS(mk, Mem{Base: pb, Index: ix, Scale: 4, Disp: cbTmp}, v)
			return v
		}
		for i := 0; i < u; i++ {
			sy := gather(i, hasTarget(i))
			put(sy, cbSY, i)
			VCMPPS(Imm(0), g.constMem("neginf"), sy, sy) // sy == −Inf
			VORPS(sy, flag, flag)
		}

		// Pass 2.
		S := make([]reg.VecVirtual, u)
		for i := range S {
			S[i] = g.vec()
			g.zero(S[i])
		}
		pf := GP64() // the next step's lines of each row, prefetched here
		LEAQ(Mem{Base: pb, Disp: cbTmp}, t)
		MOVQ(C, c)
		LEAQ(Mem{Base: ps, Index: j, Scale: 4, Disp: rowBytes}, pf)
		g.rows(c, func() {
			for off := 0; off < rowBytes; off += 64 {
				PREFETCHT0(at(pf, off))
			}
			ADDQ(sb, pf)
			// Two vectors at a time: four at once would not leave the
			// exponential its registers, and two were 1–5% faster than
			// one (BenchmarkSoftmaxCols32, one thread, 5 alternating
			// runs).
			for i0 := 0; i0 < u; i0 += 2 {
				var xs []reg.VecVirtual
				for i := i0; i < min(i0+2, u); i++ {
					x := g.load(at(t, 32*i))
					g.sub(field(cbM+32*i), x, x)
					xs = append(xs, x)
				}
				g.normalOrFull(g.outsideNormal(xs), func(normal bool) {
					for k, x := range xs {
						i := i0 + k
						if normal {
							g.expvNormal(x)
						} else {
							g.expv(x, false)
						}
						if grad {
							g.mov(x, at(t, 32*i))
						}
						g.add(x, S[i], S[i])
					}
				})
			}
			ADDQ(U32(rowBytes), t)
		})
		for i, si := range S {
			put(si, cbSum, i)
			nan := g.vec()
			VCMPPS(Imm(3), si, si, nan) // unordered
			if m := lanes(i); m != nil {
				VPAND(m, nan, nan)
			}
			VORPS(nan, flag, flag)
		}
		VPTEST(flag, flag)
		JNZ(LabelRef(bail))
		// The losses, once the sums are no longer needed in registers.
		losses := func() {
			if idx {
				for i := 0; i < u; i++ {
					g.colsLossAVX2(i, lanes(i), hasTarget(i), pb, pl, j)
				}
			}
		}
		if !grad {
			losses()
			return
		}

		// a = float32(gw / float64(S)) and the target's element
		// float32(float64(e_y·a) − gw), a half vector (4 lanes) at a
		// time, into aux.
		gwAt := func(i, h int) Mem { return Mem{Base: pb, Index: j, Scale: 8, Disp: cbGW + 8*(8*i+4*h)} }
		aA := func(i int) Mem { return Mem{Base: pb, Disp: cbAux + 32*i} }
		aFixed := func(i int) Mem { return Mem{Base: pb, Disp: cbAux + 32*(4+i)} }
		// halves applies op to each half of v, widened, with the half's gw,
		// and joins the narrowed results.
		halves := func(v reg.VecVirtual, i int, op func(gw Mem, x reg.VecVirtual)) reg.VecVirtual {
			var out [2]reg.VecVirtual
			for h := range 2 {
				src := v.AsX()
				if h == 1 {
					src = XMM()
					VEXTRACTF128(Imm(1), v, src)
				}
				w := YMM()
				VCVTPS2PD(src, w)
				op(gwAt(i, h), w)
				out[h] = XMM()
				VCVTPD2PSY(w, out[h])
			}
			r := g.vec()
			VINSERTF128(Imm(1), out[1], out[0].AsY(), r)
			return r
		}
		for i := 0; i < u; i++ {
			A := halves(S[i], i, func(gw Mem, x reg.VecVirtual) {
				w := YMM()
				VMOVUPD(gw, w)
				VDIVPD(x, w, x) // gw / S
			})
			g.mov(A, aA(i))
			ey := gather(i, hasTarget(i))
			g.mul(A, ey, ey)
			fixed := halves(ey, i, func(gw Mem, x reg.VecVirtual) {
				VSUBPD(gw, x, x) // e_y·a − gw
			})
			g.mov(fixed, aFixed(i))
		}

		// Pass 3, down from the first row.
		cv, one := g.vec(), g.vec()
		VPCMPEQD(cv, cv, cv) // −1 in every lane
		VPSRLD(Imm(31), cv, one)
		LEAQ(Mem{Base: ps, Index: j, Scale: 4}, q)
		LEAQ(Mem{Base: pb, Disp: cbTmp}, t)
		MOVQ(C, c)
		g.rows(c, func() {
			VPADDD(one, cv, cv) // the row's class in every lane
			for i := 0; i < u; i++ {
				x := g.load(at(t, 32*i))
				g.mul(aA(i), x, x)
				hit := g.vec()
				VPCMPEQD(field(cbY+32*i), cv, hit)
				VBLENDVPS(hit, aFixed(i), x, x) // the target's element where y == c
				dm := Mem{Base: q, Index: doff, Scale: 1, Disp: 32 * i}
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

	g.colsSteps(L, j, pb, idx, []int{4, 1}, nil, step, bail)
}

// colsTargetsAVX2 makes Y, and with grad GW, of a step's u vectors of
// positions from the int64 targets at pt, 4 at a time: OR-ing in the
// mask of ignored targets makes them −1 before the low halves are packed
// into int32 lanes. The tail's targets are loaded under its mask widened
// to 64-bit lanes, so nothing past L is read. It writes whole vectors;
// lanes past L are never read back.
func (g *gen) colsTargetsAVX2(u int, lanes func(int) Op, pt, j, pb reg.Register, grad bool) {
	ign, gw := g.targetParams(grad)
	for i := 0; i < u; i++ {
		var lows [2]reg.VecVirtual
		for h := range 2 {
			src := Mem{Base: pt, Index: j, Scale: 8, Disp: 8 * (8*i + 4*h)}
			t := YMM()
			if m := lanes(i); m != nil {
				VMASKMOVPD(src, wideHalf(m, h), t)
			} else {
				VMOVDQU(src, t)
			}
			ignored := YMM()
			VPCMPEQQ(ign, t, ignored)
			VPOR(ignored, t, t) // −1 where ignored
			perm := YMM()
			VMOVDQU(packLowTab(), perm)
			lows[h] = YMM()
			VPERMD(t, perm, lows[h]) // the low dwords, in the low half
			if grad {
				w := YMM()
				VANDNPD(gw, ignored, w) // 0 where ignored
				VMOVUPD(w, Mem{Base: pb, Index: j, Scale: 8, Disp: cbGW + 8*(8*i+4*h)})
			}
		}
		y := YMM()
		VINSERTI128(Imm(1), lows[1].AsX(), lows[0], y)
		VMOVDQU(y, Mem{Base: pb, Index: j, Scale: 4, Disp: cbY + 32*i})
	}
}

// targetParams broadcasts the index kernels' ignore index and, with grad,
// gw into vectors, straight from the arguments: the legacy-SSE MOVQ or
// MOVSD into an xmm register, with the upper halves of the vector
// registers in use, cost the AVX2 kernel about 250 ns a step on Zen 3 (a
// quarter of its time at 8×21×128×128).
func (g *gen) targetParams(grad bool) (ign, gw reg.VecVirtual) {
	ign = g.vec()
	VPBROADCASTQ(frameMem(Param("ignore")), ign)
	if grad {
		gw = g.vec()
		VBROADCASTSD(frameMem(Param("gw")), gw)
	}
	return ign, gw
}

var packLowMem Mem

// packLowTab is the VPERMD index 0, 2, 4, 6 (then zeros): the low dwords
// of four qwords.
func packLowTab() Mem {
	if packLowMem.Symbol.Name == "" {
		packLowMem = GLOBL("packlow", RODATA|NOPTR)
		for i := 0; i < 8; i++ {
			v := 0
			if i < 4 {
				v = 2 * i
			}
			DATA(4*i, U32(uint32(v)))
		}
	}
	return packLowMem
}

// wideHalf returns half h (lanes 0–3 or 4–7) of the 32-bit lane mask m
// widened to four 64-bit lanes.
func wideHalf(m Op, h int) reg.VecVirtual {
	src := m.(reg.VecVirtual).AsX()
	if h == 1 {
		src = XMM()
		VEXTRACTI128(Imm(1), m, src)
	}
	w := YMM()
	VPMOVSXDQ(src, w)
	return w
}

// colsLossAVX2 is colsLoss for AVX2: the losses of vector i of a step,
// (M − SY) + log(Sum) in float64, 0 where has is clear, written under
// mask (if set), and has's lanes added to the count at cbCnt. Sum is at
// least 1 in every lane of a step that got here (or of the tail's lanes
// past L, which load zeros and sum exp(0)s), so the log kernel's fast path
// is the one Log32 takes for it.
func (g *gen) colsLossAVX2(i int, mask Op, has reg.VecVirtual, pb, pl, j reg.Register) {
	n := GP32()
	VMOVMSKPS(has, n)
	POPCNTL(n, n)
	ADDL(n, Mem{Base: pb, Disp: cbCnt})
	x := g.vec()
	g.mov(Mem{Base: pb, Index: j, Scale: 4, Disp: cbSum + 32*i}, x)
	lg := g.logv(x, nil)
	for h := range 2 {
		m, sy, l := YMM(), YMM(), YMM()
		VCVTPS2PD(Mem{Base: pb, Index: j, Scale: 4, Disp: cbM + 32*i + 16*h}, m)
		VCVTPS2PD(Mem{Base: pb, Index: j, Scale: 4, Disp: cbSY + 32*i + 16*h}, sy)
		half := lg.AsX()
		if h == 1 {
			half = XMM()
			VEXTRACTF128(Imm(1), lg, half)
		}
		VCVTPS2PD(half, l)
		VSUBPD(sy, m, m) // M − SY
		VADDPD(l, m, m)  // + log S
		VANDPD(wideHalf(has, h), m, m)
		dst := Mem{Base: pl, Index: j, Scale: 8, Disp: 8 * (8*i + 4*h)}
		if mask != nil {
			VMASKMOVPD(m, wideHalf(mask, h), dst)
		} else {
			VMOVUPD(m, dst)
		}
	}
}
