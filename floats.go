package xent

import (
	"math"
	"unsafe"

	"github.com/xent-go/xent/internal/kernel"
)

// The kernels come in float32 and float64 twins; these helpers pick one for
// a type parameter without allocating, by reinterpreting the slice (T is
// float32 or float64 underneath, so the memory layout is the same).

func is32[T Float]() bool { var z T; return unsafe.Sizeof(z) == 4 }

func as32[T Float](s []T) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}

func as64[T Float](s []T) []float64 {
	return unsafe.Slice((*float64)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}

// asInt64 reinterprets targets of a 64-bit integer type (int64, or int on
// a 64-bit platform) as []int64; ok is false for the other types.
func asInt64[I Integer](t []I) (s []int64, ok bool) {
	var z I
	if unsafe.Sizeof(z) != 8 {
		return nil, false
	}
	return unsafe.Slice((*int64)(unsafe.Pointer(unsafe.SliceData(t))), len(t)), true
}

// maxFloat is the largest finite value of T.
func maxFloat[T Float]() float64 {
	if is32[T]() {
		return math.MaxFloat32
	}
	return math.MaxFloat64
}

func maxSumExp[T Float](s []T) (m, sum float64, nan bool) {
	if is32[T]() {
		m32, s32, nan := kernel.MaxSumExp32(as32(s))
		return float64(m32), float64(s32), nan
	}
	return kernel.MaxSumExp64(as64(s))
}

func expScale[T Float](dst, s []T, m, scale float64) {
	if is32[T]() {
		kernel.ExpScale32(as32(dst), as32(s), float32(m), float32(scale))
		return
	}
	kernel.ExpScale64(as64(dst), as64(s), m, scale)
}

func maxSumExpCols[T Float](m, sum, s []T, C, stride int) bool {
	if is32[T]() {
		return kernel.MaxSumExpCols32(as32(m), as32(sum), as32(s), C, stride)
	}
	return kernel.MaxSumExpCols64(as64(m), as64(sum), as64(s), C, stride)
}

func expScaleCols[T Float](dst, s []T, C, stride int, m, scale []T) {
	if is32[T]() {
		kernel.ExpScaleCols32(as32(dst), as32(s), C, stride, as32(m), as32(scale))
		return
	}
	kernel.ExpScaleCols64(as64(dst), as64(s), C, stride, as64(m), as64(scale))
}

// isFinite reports whether v is neither NaN nor infinite.
func isFinite(v float64) bool { return v-v == 0 }

// clear zeroes s.
func zero[T Float](s []T) {
	for i := range s {
		s[i] = 0
	}
}

func maxOf[T Float](s []T) (m float64, nan bool) {
	if is32[T]() {
		m32, nan := kernel.Max32(as32(s))
		return float64(m32), nan
	}
	return kernel.Max64(as64(s))
}

func expSum[T Float](dst, s []T, m float64) float64 {
	if is32[T]() {
		return float64(kernel.ExpSum32(as32(dst), as32(s), float32(m)))
	}
	return kernel.ExpSum64(as64(dst), as64(s), m)
}

// expSumMax is expSum of the row s with the max of the row next taken in
// the same loop (kernel.ExpSumMax32).
func expSumMax[T Float](dst, s []T, m float64, next []T) (sum, mNext float64, nan bool) {
	if is32[T]() {
		sum32, m32, nan := kernel.ExpSumMax32(as32(dst), as32(s), float32(m), as32(next))
		return float64(sum32), float64(m32), nan
	}
	return kernel.ExpSumMax64(as64(dst), as64(s), m, as64(next))
}

// scaleExpSumMax is scale of the row prev by a with expSumMax, in one loop
// (kernel.ScaleExpSumMax32).
func scaleExpSumMax[T Float](prev []T, a float64, dst, s []T, m float64, next []T) (sum, mNext float64, nan bool) {
	if is32[T]() {
		sum32, m32, nan := kernel.ScaleExpSumMax32(as32(prev), float32(a), as32(dst), as32(s), float32(m), as32(next))
		return float64(sum32), float64(m32), nan
	}
	return kernel.ScaleExpSumMax64(as64(prev), a, as64(dst), as64(s), m, as64(next))
}

func scale[T Float](dst []T, a float64) {
	if is32[T]() {
		kernel.Scale32(as32(dst), float32(a))
		return
	}
	kernel.Scale64(as64(dst), a)
}

func logOf[T Float](dst, x []T) {
	if is32[T]() {
		kernel.Log32(as32(dst), as32(x))
		return
	}
	kernel.Log64(as64(dst), as64(x))
}

func maxCols[T Float](m, s []T, C, stride int) bool {
	if is32[T]() {
		return kernel.MaxCols32(as32(m), as32(s), C, stride)
	}
	return kernel.MaxCols64(as64(m), as64(s), C, stride)
}

func expSumCols[T Float](dst, s []T, C, stride int, m, sum []T) {
	if is32[T]() {
		kernel.ExpSumCols32(as32(dst), as32(s), C, stride, as32(m), as32(sum))
		return
	}
	kernel.ExpSumCols64(as64(dst), as64(s), C, stride, as64(m), as64(sum))
}

func scaleCols[T Float](dst []T, C, stride int, a []T) {
	if is32[T]() {
		kernel.ScaleCols32(as32(dst), C, stride, as32(a))
		return
	}
	kernel.ScaleCols64(as64(dst), C, stride, as64(a))
}
