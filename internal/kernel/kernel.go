// Package kernel holds the row kernels of the fused softmax cross-entropy:
// an online max and sum of exponentials over a row of logits, and the scaled
// exponentials that make the gradient, for float32 and float64, over
// contiguous rows (class stride 1) and over blocks of spatial positions
// (class stride > 1, vectorised across positions); and, for float32 spatial
// blocks with index targets, the whole gradient in one kernel
// (SoftmaxCols32).
//
// Each kernel is documented by its reference loop, which kernel_generic.go
// implements in pure Go; that code is always compiled and is the oracle the
// tests hold every assembly implementation to.
//
// The kernels trust their callers: lengths are checked by package xent
// before any kernel runs.
//
// The amd64 assembly (AVX2+FMA and AVX-512, chosen at run time; see
// Implementations) forms s − m in the element type, where the reference
// loops subtract in float64, so exp(s − m) may differ from them by a
// relative |s − m|·ε/2 beyond the vector exp's own error (measured over
// the whole range, subnormal results included: about 1.02 ulp for float32
// on AVX-512 and 0.90 on AVX2, up to 1.26 for float64 against a 200-bit
// exp). Sums are accumulated in a different order. MaxSumExp rows holding
// NaN or +Inf, and MaxSumExpCols blocks holding NaN, are redone by the
// portable code.
package kernel

// MaxSumExp32 returns, for the row s,
//
//	m = max_k s[k]                (over the elements that are not NaN)
//	sum = Σ_k exp(s[k] − m)
//	nan = some s[k] is NaN
//
// in one pass (online softmax). If s is empty or every s[k] is −Inf, then
// m = −Inf and sum = 0. If m = +Inf, sum is unspecified. The SIMD code's
// exponential is made for sums only (see expvTab and expvTab8 in _asm):
// terms below the smallest normal are +0 (AVX-512) or not exact (AVX2),
// and a term's relative error grows by (m − s[k])·2.75e−9 (about 0.2 ulp
// for the terms within 5 of m).
func MaxSumExp32(s []float32) (m, sum float32, nan bool) { return maxSumExp32(s) }

// MaxSumExp64 is MaxSumExp32 for float64.
func MaxSumExp64(s []float64) (m, sum float64, nan bool) { return maxSumExp64(s) }

// ExpScale32 writes
//
//	for k := range s { dst[k] = scale * exp(s[k] − m) }
//
// dst may be s itself. exp(−Inf) is 0; m is finite.
func ExpScale32(dst, s []float32, m, scale float32) { expScale32(dst, s, m, scale) }

// ExpScale64 is ExpScale32 for float64.
func ExpScale64(dst, s []float64, m, scale float64) { expScale64(dst, s, m, scale) }

// MaxSumExpCols32 is MaxSumExp32 for L = len(m) positions laid out in
// columns: position j has its C logits at s[c*stride+j], c in [0, C).
//
//	for j := range m {
//		m[j] = max_c s[c*stride+j]
//		sum[j] = Σ_c exp(s[c*stride+j] − m[j])
//	}
//
// nan reports whether any of the values read is NaN. len(sum) == len(m),
// stride ≥ len(m), and s holds at least (C−1)*stride+len(m) elements.
func MaxSumExpCols32(m, sum, s []float32, C, stride int) (nan bool) {
	return maxSumExpCols32(m, sum, s, C, stride)
}

// MaxSumExpCols64 is MaxSumExpCols32 for float64.
func MaxSumExpCols64(m, sum, s []float64, C, stride int) (nan bool) {
	return maxSumExpCols64(m, sum, s, C, stride)
}

// ExpScaleCols32 is ExpScale32 for positions laid out in columns:
//
//	for c := 0; c < C; c++ {
//		for j := range m {
//			dst[c*stride+j] = scale[j] * exp(s[c*stride+j] − m[j])
//		}
//	}
//
// dst may be s itself; every m[j] is finite.
func ExpScaleCols32(dst, s []float32, C, stride int, m, scale []float32) {
	expScaleCols32(dst, s, C, stride, m, scale)
}

// ExpScaleCols64 is ExpScaleCols32 for float64.
func ExpScaleCols64(dst, s []float64, C, stride int, m, scale []float64) {
	expScaleCols64(dst, s, C, stride, m, scale)
}

// Exp32 writes dst[i] = exp(x[i]). It is the vector exponential the other
// kernels use, exported for accuracy tests. On AVX-512 it reads a table of
// 2^(k/16) and needs only a cubic after it (at most 1.02 ulp over every
// 97th float32 bit pattern: `go test -v -run Exp32ULP`); on AVX2 a table
// of 2^(k/8) and a quartic (0.90 ulp against math.Exp, the same sweep).
func Exp32(dst, x []float32) { exp32(dst, x) }

// Exp64 is Exp32 for float64. On AVX-512 it reads the table of 2^(k/16)
// and needs a polynomial of degree 6 after it; on AVX2 a table of
// 2^(k/256), gathered from memory, and a quartic (1.25 ulp at most against
// a 200-bit exp: `go test -v -run Exp64ULPExact`).
func Exp64(dst, x []float64) { exp64(dst, x) }

// Log32 writes the natural logarithm:
//
//	for i := range x { dst[i] = log(x[i]) }
//
// dst may be x itself; len(dst) ≥ len(x). log(0) = −Inf, log(+Inf) = +Inf,
// and log(x) is NaN for x < 0 and for NaN. The assembly is within 1 ulp of
// the exact logarithm, measured over the whole range, subnormals included
// (float32: 0.79 ulp over every 97th bit pattern; float64: 0.93 ulp on a
// sample, against a 200-bit reference).
func Log32(dst, x []float32) { log32(dst, x) }

// Log64 is Log32 for float64.
func Log64(dst, x []float64) { log64(dst, x) }

// Max32 returns, for the row s,
//
//	m = max_k s[k]                (over the elements that are not NaN)
//	nan = some s[k] is NaN
//
// m is −Inf if s is empty or all −Inf. With ExpSum32 and Scale32 it makes
// a three-pass alternative to MaxSumExp32 + ExpScale32 that computes each
// exponential once: Max32 streams the row from memory, and ExpSum32 and
// Scale32 then find it in cache.
func Max32(s []float32) (m float32, nan bool) { return max32(s) }

// Max64 is Max32 for float64.
func Max64(s []float64) (m float64, nan bool) { return max64(s) }

// ExpSum32 writes the exponentials and returns their sum:
//
//	for k := range s { dst[k] = exp(s[k] − m); sum += dst[k] }
//
// dst may be s itself; m is finite. The assembly's exponentials are bit
// for bit Exp32's of s[k] − m formed in float32; on AVX2 the steps whose
// s[k] − m all lie within ±87 (±708 for float64) compute them without the
// clamps and the two-part scaling that only results beyond need, and the
// others with them (TestExpSumIsExp).
func ExpSum32(dst, s []float32, m float32) (sum float32) { return expSum32(dst, s, m) }

// ExpSum64 is ExpSum32 for float64.
func ExpSum64(dst, s []float64, m float64) (sum float64) { return expSum64(dst, s, m) }

// ExpSumMax32 is ExpSum32 for the row s and Max32 for the row after it,
// next, in one loop:
//
//	sum = ExpSum32(dst, s, m)
//	mNext, nan = Max32(next)
//
// with the same results bit for bit. The next row streams in from memory
// while this row's exponentials are computed (the loop prefetches 2 KiB
// ahead of it), so a loop over rows that calls it with each row and the
// next reads every row from memory once, overlapped with the work on the
// row before, and still has each row's max, and its checks, before that
// row's exponentials are written. len(next) = len(s); dst may be s, but
// must not overlap next.
func ExpSumMax32(dst, s []float32, m float32, next []float32) (sum, mNext float32, nan bool) {
	return expSumMax32(dst, s, m, next)
}

// ExpSumMax64 is ExpSumMax32 for float64.
func ExpSumMax64(dst, s []float64, m float64, next []float64) (sum, mNext float64, nan bool) {
	return expSumMax64(dst, s, m, next)
}

// ScaleExpSumMax32 is Scale32 of the row before and ExpSumMax32 in one
// loop:
//
//	Scale32(prev, a)
//	sum, mNext, nan = ExpSumMax32(dst, s, m, next)
//
// with the same results bit for bit: a loop over rows that passes each
// row's gradient as prev to the next row's call scales it while it is
// still in cache, without a pass of its own. len(prev) = len(next) =
// len(s); prev must not overlap dst, s or next.
func ScaleExpSumMax32(prev []float32, a float32, dst, s []float32, m float32, next []float32) (sum, mNext float32, nan bool) {
	return scaleExpSumMax32(prev, a, dst, s, m, next)
}

// ScaleExpSumMax64 is ScaleExpSumMax32 for float64.
func ScaleExpSumMax64(prev []float64, a float64, dst, s []float64, m float64, next []float64) (sum, mNext float64, nan bool) {
	return scaleExpSumMax64(prev, a, dst, s, m, next)
}

// Scale32 multiplies in place:
//
//	for k := range dst { dst[k] *= a }
func Scale32(dst []float32, a float32) { scale32(dst, a) }

// Scale64 is Scale32 for float64.
func Scale64(dst []float64, a float64) { scale64(dst, a) }

// Sum32 returns Σ_k s[k]: the bandwidth yardstick of a read-only pass.
func Sum32(s []float32) float32 { return sum32(s) }

// Sum64 is Sum32 for float64.
func Sum64(s []float64) float64 { return sum64(s) }

// MaxCols32 is Max32 for L = len(m) positions laid out in columns, as in
// MaxSumExpCols32:
//
//	for j := range m {
//		m[j] = max_c s[c*stride+j]    (over the values that are not NaN)
//	}
//
// nan reports whether any of the values read is NaN; m[j] is −Inf if C = 0
// or position j holds only −Inf and NaN. With ExpSumCols32 and ScaleCols32
// it makes a three-pass alternative to MaxSumExpCols32 + ExpScaleCols32
// that computes each exponential once. stride ≥ len(m), and s holds at
// least (C−1)*stride+len(m) elements.
func MaxCols32(m, s []float32, C, stride int) (nan bool) { return maxCols32(m, s, C, stride) }

// MaxCols64 is MaxCols32 for float64.
func MaxCols64(m, s []float64, C, stride int) (nan bool) { return maxCols64(m, s, C, stride) }

// ExpSumCols32 is ExpSum32 for positions laid out in columns:
//
//	for j := range m { sum[j] = 0 }
//	for c := 0; c < C; c++ {
//		for j := range m {
//			dst[c*stride+j] = exp(s[c*stride+j] − m[j])
//			sum[j] += dst[c*stride+j]
//		}
//	}
//
// dst may be s itself; len(sum) == len(m). Every m[j] is finite, but it
// need not be the max: s − m may be positive, and the values written for
// such a position may overflow to +Inf.
func ExpSumCols32(dst, s []float32, C, stride int, m, sum []float32) {
	expSumCols32(dst, s, C, stride, m, sum)
}

// ExpSumCols64 is ExpSumCols32 for float64.
func ExpSumCols64(dst, s []float64, C, stride int, m, sum []float64) {
	expSumCols64(dst, s, C, stride, m, sum)
}

// ScaleCols32 is Scale32 for positions laid out in columns, L = len(a):
//
//	for c := 0; c < C; c++ {
//		for j := range a { dst[c*stride+j] *= a[j] }
//	}
func ScaleCols32(dst []float32, C, stride int, a []float32) { scaleCols32(dst, C, stride, a) }

// ScaleCols64 is ScaleCols32 for float64.
func ScaleCols64(dst []float64, C, stride int, a []float64) { scaleCols64(dst, C, stride, a) }

// ColsMaxL and ColsMaxC bound the positions and classes of one
// SoftmaxCols32 call.
const (
	ColsMaxL = 256
	ColsMaxC = 64
)

// ColsBlock32 holds the per-position inputs and outputs of SoftmaxCols32
// and its scratch, in one place (the assembly reads them at fixed offsets).
type ColsBlock32 struct {
	Y          [ColsMaxL]int32       // in: the target class, or −1 for none
	GW         [ColsMaxL]float64     // in: the target's weight times the upstream gradient
	M, Sum, SY [ColsMaxL]float32     // out: max, sum of exponentials, target logit
	aux        [528]float32          // the assembly's scales and target elements of a step, and a count
	tmp        [32 * 16 * 16]float32 // a step's rows: 16 vectors of positions for up to 32 classes, or 2 for 64
}

// SoftmaxCols32 writes the whole gradient of L ≤ ColsMaxL index-target
// positions of C ≤ ColsMaxC classes laid out in columns (as in
// MaxSumExpCols32), reading each logit once and writing each gradient
// element once. With b's inputs Y and GW set for the L positions:
//
//	for j := 0; j < L; j++ {
//		M[j] = max_c s[c*stride+j]
//		SY[j] = s[Y[j]*stride+j] if Y[j] ≥ 0
//		stop (return j) if a logit is NaN, M[j] is ±Inf or SY[j] is −Inf
//		Sum[j] = Σ_c exp(s[c*stride+j] − M[j])
//		a := float32(GW[j] / float64(Sum[j]))
//		for c := 0; c < C; c++ {
//			d[c*stride+j] = a * exp(s[c*stride+j] − M[j])
//		}
//		if Y[j] ≥ 0 { d[Y[j]*stride+j] = float32(float64(d[Y[j]*stride+j]) − GW[j]) }
//	}
//	return L
//
// It returns the number of leading positions done: it may stop up to 31
// positions before a position that stops it (it takes them 32 at a time),
// or on AVX-512 up to 255 where the rows are a multiple of 4 KiB apart and
// C ≤ 32 (there it takes 256 at a time while it can), and it leaves the columns
// from there on untouched, d included. d may be s itself. A position with
// Y[j] = −1 and GW[j] = 0 (an ignored one) gets a zero gradient.
//
// Only the assembly is worth calling: see HasSoftmaxCols.
func SoftmaxCols32(d, s []float32, C, stride, L int, b *ColsBlock32) (done int) {
	return softmaxCols32(d, s, C, stride, L, b)
}

// SoftmaxColsFwd32 is SoftmaxCols32 for the loss alone: it sets M, Sum and
// SY for the positions it does (b.GW is not read) and writes nothing else.
// It takes 32 positions at a time whatever the stride.
func SoftmaxColsFwd32(s []float32, C, stride, L int, b *ColsBlock32) (done int) {
	return softmaxColsFwd32(s, C, stride, L, b)
}

// SoftmaxColsIndex32 is SoftmaxCols32 for unweighted index targets, with
// b's inputs made from the targets and the positions' losses written out,
// the per-position work its caller would otherwise do:
//
//	Y[j], GW[j] = targets[j], gw   (−1 and 0 where targets[j] == ignore)
//	done = SoftmaxCols32(d, s, C, stride, L, b)
//	losses[j] = (M[j] − SY[j]) + log(Sum[j])   for j < done, 0 where ignored
//	counted = the number of j < done not ignored
//
// in float64 from the float32 M, SY and Sum, the log that of Log32, bit
// for bit. With d nil it is SoftmaxColsFwd32 with the same losses.
// len(targets) and len(losses) are at least L.
func SoftmaxColsIndex32(d, s []float32, C, stride, L int, targets []int64, ignore int64, gw float64, losses []float64, b *ColsBlock32) (done, counted int) {
	return softmaxColsIndex32(d, s, C, stride, L, targets, ignore, gw, losses, b)
}

// HasSoftmaxCols reports whether SoftmaxCols32, SoftmaxColsFwd32 and
// SoftmaxColsIndex32 run as assembly (AVX-512 or AVX2). Elsewhere they
// are the portable reference loops, and the three passes MaxCols32,
// ExpSumCols32 and ScaleCols32 (or MaxSumExpCols32) are faster.
func HasSoftmaxCols() bool { return hasSoftmaxCols() }

// ScanIndex64 checks int64 class indices for C classes with an ignore
// index outside [0, C): it returns the number of targets outside [0, C)
// (all of them ignore) and bad = −1, or the position of the first target
// that is neither a class nor ignore as bad (outside is then of no use).
func ScanIndex64(targets []int64, C int, ignore int64) (outside, bad int) {
	return scanIndex64(targets, uint64(C), ignore)
}
