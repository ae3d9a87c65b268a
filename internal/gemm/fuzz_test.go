package gemm

import (
	"math/rand/v2"
	"testing"
)

// FuzzSgemm checks every implementation against the float64 triple loop
// on arbitrary shapes, transposes, strides and scalars.
func FuzzSgemm(f *testing.F) {
	f.Add(uint8(14), uint8(32), uint8(7), uint8(0), uint8(0), float32(1), float32(0), uint64(1))
	f.Add(uint8(65), uint8(17), uint8(70), uint8(3), uint8(5), float32(-2), float32(0.5), uint64(2))
	f.Add(uint8(1), uint8(1), uint8(1), uint8(1), uint8(9), float32(0.25), float32(1), uint64(3))
	f.Fuzz(func(t *testing.T, m, n, k, tr, pad uint8, alpha, beta float32, seed uint64) {
		p := problem{
			transA: tr&1 != 0, transB: tr&2 != 0,
			m: int(m%80) + 1, n: int(n%80) + 1, k: int(k%80) + 1,
			alpha: alpha, beta: beta,
			lda: int(pad % 3), ldb: int(pad / 3 % 3), ldc: int(pad / 9 % 3),
		}
		if !(abs(alpha) < 1e6) || !(abs(beta) < 1e6) {
			t.Skip()
		}
		for _, name := range Implementations() {
			restore, _ := Select(name)
			check(t, rand.New(rand.NewPCG(seed, 0)), p)
			restore()
		}
	})
}

func abs(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}
