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
//     flushing one (which gives 0 below the smallest normal), so that the
//     gradient is bit for bit that of the three-pass kernels.
//
// There is no index variant: on AVX2 the Go code makes Y and GW from the
// targets and the losses from M, SY and Sum.
func (g *gen) softmaxColsAVX2(grad bool) {
	name, sig := "softmaxCols", "(d, s []T, C, stride, L int, b *int32) (done int)"
	if !grad {
		name, sig = "softmaxColsFwd", "(s []T, C, stride, L int, b *int32) (done int)"
	}
	g.begin(name, sig, "")
	var pd reg.Register
	if grad {
		pd = Load(Param("d").Base(), GP64())
	}
	ps := Load(Param("s").Base(), GP64())
	C := Load(Param("C"), GP64())
	sb := g.strideBytes()
	L := Load(Param("L"), GP64())
	pb := Load(Param("b"), GP64())
	g.hoistExp(false)
	doff := GP64()
	if grad {
		MOVQ(pd, doff)
		SUBQ(ps, doff) // d − s: the d element of s element q is q + doff
	}
	j := GP64() // positions done
	XORQ(j, j)
	field := func(off int) Mem { return Mem{Base: pb, Index: j, Scale: 4, Disp: off} }
	bail := "sca_bail"

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
			idx := g.vec()
			g.mov(field(cbY+32*i), idx)
			VPSLLD(Imm(uint64(3+log2(u))), idx, idx) // y·8·u
			VPADDD(iotaTab(8*i), idx, idx)
			v, mk := g.vec(), g.vec()
			g.zero(v)
			g.mov(has, mk) // the gather clears its mask
			VGATHERDPS(mk, Mem{Base: pb, Index: idx, Scale: 4, Disp: cbTmp}, v)
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
			xs := make([]reg.VecVirtual, u)
			for i := range xs {
				xs[i] = g.load(at(t, 32*i))
				g.sub(field(cbM+32*i), xs[i], xs[i])
			}
			for i, x := range xs {
				g.expv(x, false)
				if grad {
					g.mov(x, at(t, 32*i))
				}
				g.add(x, S[i], S[i])
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
		if !grad {
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
	}

	left := GP64() // L − j
	MOVQ(L, left)
	for _, u := range []int{4, 1} {
		top, next := g.lbl("sca_step"), g.lbl("sca_next")
		Label(top)
		CMPQ(left, U32(8*u))
		JL(LabelRef(next))
		step(u, nil)
		ADDQ(U32(8*u), j)
		SUBQ(U32(8*u), left)
		JMP(LabelRef(top))
		Label(next)
	}
	out := "sca_out"
	TESTQ(left, left)
	JZ(LabelRef(out))
	step(1, g.tailMask(left))
	ADDQ(left, j)
	Label(out)
	Label(bail)
	Store(j, ReturnIndex(0))
	g.end()
}
