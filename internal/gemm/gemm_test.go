package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

// forEachImpl runs f as a subtest under every implementation.
func forEachImpl(t *testing.T, f func(t *testing.T)) {
	for _, name := range Implementations() {
		t.Run("impl="+name, func(t *testing.T) {
			restore, ok := Select(name)
			if !ok {
				t.Fatalf("Select(%q) failed", name)
			}
			defer restore()
			f(t)
		})
	}
}

const guard = -12345.5

type problem struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	lda, ldb, ldc  int // extra stride beyond the row length
}

func (p problem) String() string {
	return fmt.Sprintf("tA=%v/tB=%v/m=%d/n=%d/k=%d/alpha=%g/beta=%g/pad=%d,%d,%d",
		p.transA, p.transB, p.m, p.n, p.k, p.alpha, p.beta, p.lda, p.ldb, p.ldc)
}

// matrix returns an r×c matrix with row stride c+pad, random entries and
// guard values in the padding, and the stride.
func matrix(r *rand.Rand, rows, cols, pad int) ([]float32, int) {
	ld := max(cols+pad, 1)
	s := make([]float32, rows*ld)
	for i := range s {
		s[i] = guard
	}
	for i := range rows {
		for j := range cols {
			s[i*ld+j] = float32(r.NormFloat64())
		}
	}
	return s, ld
}

// check runs Sgemm on p and compares it with a float64 triple loop; the
// padding of c and the guards around it must be untouched.
func check(t *testing.T, r *rand.Rand, p problem) {
	t.Helper()
	ar, ac := p.m, p.k
	if p.transA {
		ar, ac = p.k, p.m
	}
	br, bc := p.k, p.n
	if p.transB {
		br, bc = p.n, p.k
	}
	a, lda := matrix(r, ar, ac, p.lda)
	b, ldb := matrix(r, br, bc, p.ldb)
	c0, ldc := matrix(r, p.m, p.n, p.ldc)
	if p.beta == 0 {
		for i := range p.m {
			for j := range p.n {
				c0[i*ldc+j] = float32(math.NaN())
			}
		}
	}
	const g = 16
	buf := make([]float32, g+len(c0)+g)
	for i := range buf {
		buf[i] = guard
	}
	copy(buf[g:], c0)
	c := buf[g : g+len(c0) : g+len(c0)]
	Sgemm(p.transA, p.transB, p.m, p.n, p.k, p.alpha, a, lda, b, ldb, p.beta, c, ldc)

	opA := func(i, l int) float64 {
		if p.transA {
			return float64(a[l*lda+i])
		}
		return float64(a[i*lda+l])
	}
	opB := func(l, j int) float64 {
		if p.transB {
			return float64(b[j*ldb+l])
		}
		return float64(b[l*ldb+j])
	}
	bad := 0
	for i := range p.m {
		for j := range p.n {
			var sum, mag float64
			for l := range p.k {
				x := opA(i, l) * opB(l, j)
				sum += x
				mag += math.Abs(x)
			}
			want := float64(p.alpha) * sum
			mag *= math.Abs(float64(p.alpha))
			if p.beta != 0 {
				want += float64(p.beta) * float64(c0[i*ldc+j])
				mag += math.Abs(float64(p.beta) * float64(c0[i*ldc+j]))
			}
			got := float64(c[i*ldc+j])
			tol := float64(p.k+2)*1.2e-7*mag + 1e-30
			if !(math.Abs(got-want) <= tol) {
				if bad++; bad <= 3 {
					t.Errorf("%v: c[%d,%d] = %g, want %g (tol %g)", p, i, j, got, want, tol)
				}
			}
		}
		for j := p.n; j < ldc && i*ldc+j < len(c); j++ {
			if c[i*ldc+j] != guard {
				t.Fatalf("%v: padding c[%d,%d] overwritten", p, i, j)
			}
		}
	}
	for i := 0; i < g; i++ {
		if buf[i] != guard || buf[len(buf)-1-i] != guard {
			t.Fatalf("%v: guard overwritten", p)
		}
	}
}

var (
	sizes  = []int{1, 2, 3, 4, 5, 6, 7, 8, 13, 14, 15, 16, 17, 29, 31, 32, 33, 45, 64, 70}
	depths = []int{1, 2, 7, 16, 33, 70}
	alphas = []float32{1, -0.5, 2.25}
	betas  = []float32{0, 1, -1.5, 0.25}
)

func TestSgemm(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		n := 0
		for _, m := range sizes {
			for _, nn := range sizes {
				for _, k := range depths {
					n++
					check(t, r, problem{
						transA: n%2 == 1, transB: n/2%2 == 1,
						m: m, n: nn, k: k,
						alpha: alphas[n%3], beta: betas[n/3%4],
						lda: n % 3, ldb: n / 5 % 3, ldc: n / 7 % 4,
					})
				}
			}
		}
	})
}

// TestSgemmAllCombinations crosses every transpose, alpha, beta and
// padding on a few awkward shapes.
func TestSgemmAllCombinations(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		for _, s := range [][3]int{{1, 1, 1}, {15, 33, 17}, {29, 17, 31}, {70, 70, 70}} {
			for tr := range 4 {
				for _, alpha := range alphas {
					for _, beta := range betas {
						for pad := range 2 {
							check(t, r, problem{
								transA: tr&1 != 0, transB: tr&2 != 0,
								m: s[0], n: s[1], k: s[2], alpha: alpha, beta: beta,
								lda: pad, ldb: 2 * pad, ldc: 3 * pad,
							})
						}
					}
				}
			}
		}
	})
}

// TestSgemmBlocking shrinks the cache blocks so that small problems cross
// every block boundary (k split, several mc and nc blocks).
func TestSgemmBlocking(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		for im := current(); im != nil; im = im.short {
			saved := *im
			defer func() { *im = saved }()
			im.kc, im.mc, im.nc = 5, 2*im.mr, 2*im.nr
			for tr := range 4 {
				for _, s := range [][3]int{{3*im.mr + 1, 5*im.nr - 1, 23}, {2 * im.mr, 2 * im.nr, 10}, {1, 4*im.nr + 3, 11}} {
					check(t, r, problem{
						transA: tr&1 != 0, transB: tr&2 != 0,
						m: s[0], n: s[1], k: s[2], alpha: 1.5, beta: betas[tr],
						lda: 1, ldb: 2, ldc: 3,
					})
				}
			}
		}
	})
}

// The shapes of nn's LeNet (batch shard 32): conv forward, weight and
// input gradients, then the dense layers.
var nnShapes = []struct {
	name           string
	transA, transB bool
	m, n, k        int
	beta           float32
}{
	{"conv1.fwd", false, false, 32, 784, 25, 0},
	{"conv1.dW", false, true, 32, 25, 784, 1},
	{"conv2.fwd", false, false, 64, 196, 800, 0},
	{"conv2.dW", false, true, 64, 800, 196, 1},
	{"conv2.dcol", true, false, 800, 196, 64, 0},
	{"fc1.fwd", false, true, 32, 128, 3136, 1},
	{"fc1.dW", true, false, 128, 3136, 32, 1},
	{"fc1.dX", false, false, 32, 3136, 128, 0},
	{"fc2.fwd", false, true, 32, 10, 128, 1},
}

func TestSgemmNNShapes(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		for _, s := range nnShapes {
			check(t, r, problem{transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k, alpha: 1, beta: s.beta})
		}
	})
}

func TestSgemmDegenerate(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		// k = 0 or alpha = 0: c = beta·c, and beta = 0 clears NaNs.
		c := []float32{1, 2, float32(math.NaN()), 4, 5, 6}
		Sgemm(false, false, 2, 2, 0, 1, nil, 1, nil, 2, 2, c, 3)
		if want := []float32{2, 4, float32(math.NaN()), 8, 10, 6}; fmt.Sprint(c) != fmt.Sprint(want) {
			t.Errorf("k=0: c = %v, want %v", c, want)
		}
		c = []float32{float32(math.NaN()), 2, 3, 4}
		a := []float32{1, 2, 3, 4}
		Sgemm(false, false, 2, 2, 2, 0, a, 2, a, 2, 0, c, 2)
		if fmt.Sprint(c) != fmt.Sprint([]float32{0, 0, 0, 0}) {
			t.Errorf("alpha=0 beta=0: c = %v, want zeros", c)
		}
		Sgemm(false, false, 0, 3, 2, 1, nil, 2, make([]float32, 6), 3, 0, nil, 3)
	})
}

func TestSgemmPanics(t *testing.T) {
	a := make([]float32, 6)
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"negative", func() { Sgemm(false, false, -1, 1, 1, 1, a, 1, a, 1, 0, a, 1) }},
		{"lda", func() { Sgemm(false, false, 2, 2, 3, 1, a, 2, a, 2, 0, a, 2) }},
		{"short a", func() { Sgemm(false, false, 3, 2, 3, 1, a, 3, a, 2, 0, a, 2) }},
		{"short c", func() { Sgemm(true, false, 3, 3, 2, 1, a, 3, a, 3, 0, a, 3) }},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", tc.name)
				}
			}()
			tc.f()
		}()
	}
}

func TestSgemmAllocs(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		a := make([]float32, 64*800)
		b := make([]float32, 800*196)
		c := make([]float32, 64*196)
		f := func() { Sgemm(false, false, 64, 196, 800, 1, a, 800, b, 196, 0, c, 196) }
		f()
		if allocs := testing.AllocsPerRun(10, f); allocs != 0 {
			t.Errorf("allocs = %v, want 0", allocs)
		}
	})
}

// TestSgemmConcurrent runs calls on several goroutines at once, as nn's
// shards do (run it with -race): each must get its own packing buffers.
func TestSgemmConcurrent(t *testing.T) {
	const m, n, k = 37, 45, 70
	a := make([]float32, m*k)
	b := make([]float32, k*n)
	for i := range a {
		a[i] = float32(i%11) - 5
	}
	for i := range b {
		b[i] = float32(i%7) - 3
	}
	want := make([]float32, m*n)
	Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, want, n)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			c := make([]float32, m*n)
			for range 20 {
				Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
				for i := range c {
					if c[i] != want[i] {
						t.Errorf("goroutine %d: c[%d] = %v, want %v", g, i, c[i], want[i])
						return
					}
				}
			}
		})
	}
	wg.Wait()
}
