// Command _asm generates kernel_amd64.s and kernel_amd64_stubs.go, the
// AVX2 and AVX-512 micro-kernels of package gemm, with avo.
//
// Run it through go generate in internal/gemm.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("amd64,!purego")
	avx2Kernel()
	avx512Kernel()
	transpose8()
	copyRows(16)
	copyRows(32)
	Generate()
}

// micro describes one register-blocked micro-kernel: an mr×nr tile of C
// held in mr·(nr/w) vector accumulators, w floats per vector.
type micro struct {
	name   string
	mr, nr int
	w      int // float32 lanes per vector
	vec    func() reg.VecVirtual
	zero   func(v reg.VecVirtual)
}

const signature = "func(k int, alpha float32, a, b []float32, beta float32, c []float32, ldc int)"

// emit writes the kernel. For p in [0, k) it broadcasts each of the mr
// values a[p·mr+i] and multiplies it into the nr/w vectors of b[p·nr:],
// accumulating; then it stores alpha·acc (+ beta·c unless beta is ±0).
func (u micro) emit() {
	TEXT(u.name, NOSPLIT, signature)
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is the %d×%d micro-kernel: see kernelGeneric.", u.name, u.mr, u.nr))
	nv := u.nr / u.w

	k := Load(Param("k"), GP64())
	ap := Load(Param("a").Base(), GP64())
	bp := Load(Param("b").Base(), GP64())

	acc := make([][]reg.VecVirtual, u.mr)
	for i := range acc {
		acc[i] = make([]reg.VecVirtual, nv)
		for j := range acc[i] {
			acc[i][j] = u.vec()
			u.zero(acc[i][j])
		}
	}

	Label("loop")
	bv := make([]reg.VecVirtual, nv)
	for j := range bv {
		bv[j] = u.vec()
		VMOVUPS(Mem{Base: bp, Disp: 4 * u.w * j}, bv[j])
	}
	for i := 0; i < u.mr; i++ {
		t := u.vec()
		VBROADCASTSS(Mem{Base: ap, Disp: 4 * i}, t)
		for j := 0; j < nv; j++ {
			VFMADD231PS(t, bv[j], acc[i][j])
		}
	}
	ADDQ(U32(4*u.mr), ap)
	ADDQ(U32(4*u.nr), bp)
	DECQ(k)
	JNZ(LabelRef("loop"))

	Comment("c = alpha·acc (+ beta·c)")
	cp := Load(Param("c").Base(), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	valpha := u.vec()
	VBROADCASTSS(paramAddr("alpha"), valpha)
	for i := range acc {
		for j := range acc[i] {
			VMULPS(valpha, acc[i][j], acc[i][j])
		}
	}
	bits := GP32()
	MOVL(paramAddr("beta"), bits)
	SHLL(U8(1), bits)
	JZ(LabelRef("store"))

	vbeta := u.vec()
	VBROADCASTSS(paramAddr("beta"), vbeta)
	for i := range acc {
		for j := range acc[i] {
			VFMADD231PS(Mem{Base: cp, Disp: 4 * u.w * j}, vbeta, acc[i][j])
			VMOVUPS(acc[i][j], Mem{Base: cp, Disp: 4 * u.w * j})
		}
		if i < u.mr-1 {
			ADDQ(ldc, cp)
		}
	}
	VZEROUPPER()
	RET()

	Label("store")
	for i := range acc {
		for j := range acc[i] {
			VMOVUPS(acc[i][j], Mem{Base: cp, Disp: 4 * u.w * j})
		}
		if i < u.mr-1 {
			ADDQ(ldc, cp)
		}
	}
	VZEROUPPER()
	RET()
}

// paramAddr is the stack address of a scalar argument.
func paramAddr(name string) Mem {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}
