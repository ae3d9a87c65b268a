//go:build !amd64 || purego

package kernel

import "github.com/xent-go/xent/internal/arch"

// Without assembly every kernel is the portable code.

var archImpls arch.List

func maxSumExp32(s []float32) (float32, float32, bool) { return maxSumExp32Generic(s) }
func maxSumExp64(s []float64) (float64, float64, bool) { return maxSumExp64Generic(s) }
func expScale32(dst, s []float32, m, scale float32)    { expScale32Generic(dst, s, m, scale) }
func expScale64(dst, s []float64, m, scale float64)    { expScale64Generic(dst, s, m, scale) }
func maxSumExpCols32(m, sum, s []float32, C, stride int) bool {
	return maxSumExpCols32Generic(m, sum, s, C, stride)
}
func maxSumExpCols64(m, sum, s []float64, C, stride int) bool {
	return maxSumExpCols64Generic(m, sum, s, C, stride)
}
func expScaleCols32(dst, s []float32, C, stride int, m, scale []float32) {
	expScaleCols32Generic(dst, s, C, stride, m, scale)
}
func expScaleCols64(dst, s []float64, C, stride int, m, scale []float64) {
	expScaleCols64Generic(dst, s, C, stride, m, scale)
}
func exp32(dst, x []float32)                       { exp32Generic(dst, x) }
func exp64(dst, x []float64)                       { exp64Generic(dst, x) }
func log32(dst, x []float32)                       { log32Generic(dst, x) }
func log64(dst, x []float64)                       { log64Generic(dst, x) }
func max32(s []float32) (float32, bool)            { return max32Generic(s) }
func max64(s []float64) (float64, bool)            { return max64Generic(s) }
func expSum32(dst, s []float32, m float32) float32 { return expSum32Generic(dst, s, m) }
func expSum64(dst, s []float64, m float64) float64 { return expSum64Generic(dst, s, m) }
func expSumMax32(dst, s []float32, m float32, next []float32) (float32, float32, bool) {
	return expSumMax32Generic(dst, s, m, next[:len(s)])
}
func expSumMax64(dst, s []float64, m float64, next []float64) (float64, float64, bool) {
	return expSumMax64Generic(dst, s, m, next[:len(s)])
}
func scaleExpSumMax32(prev []float32, a float32, dst, s []float32, m float32, next []float32) (float32, float32, bool) {
	return scaleExpSumMax32Generic(prev[:len(s)], a, dst, s, m, next[:len(s)])
}
func scaleExpSumMax64(prev []float64, a float64, dst, s []float64, m float64, next []float64) (float64, float64, bool) {
	return scaleExpSumMax64Generic(prev[:len(s)], a, dst, s, m, next[:len(s)])
}
func scale32(dst []float32, a float32)             { scale32Generic(dst, a) }
func scale64(dst []float64, a float64)             { scale64Generic(dst, a) }
func sum32(s []float32) float32                    { return sum32Generic(s) }
func sum64(s []float64) float64                    { return sum64Generic(s) }
func maxCols32(m, s []float32, C, stride int) bool { return maxCols32Generic(m, s, C, stride) }
func maxCols64(m, s []float64, C, stride int) bool { return maxCols64Generic(m, s, C, stride) }
func expSumCols32(dst, s []float32, C, stride int, m, sum []float32) {
	expSumCols32Generic(dst, s, C, stride, m, sum)
}
func expSumCols64(dst, s []float64, C, stride int, m, sum []float64) {
	expSumCols64Generic(dst, s, C, stride, m, sum)
}
func scaleCols32(dst []float32, C, stride int, a []float32) { scaleCols32Generic(dst, C, stride, a) }
func scaleCols64(dst []float64, C, stride int, a []float64) { scaleCols64Generic(dst, C, stride, a) }

func softmaxCols32(d, s []float32, C, stride, L int, b *ColsBlock32) int {
	return softmaxCols32Generic(d, s, C, stride, L, b)
}

func softmaxColsFwd32(s []float32, C, stride, L int, b *ColsBlock32) int {
	return softmaxColsFwd32Generic(s, C, stride, L, b)
}

func softmaxColsIndex32(d, s []float32, C, stride, L int, targets []int64, ignore int64, gw float64, losses []float64, b *ColsBlock32) (done, counted int) {
	return softmaxColsIndex32Generic(d, s, C, stride, L, targets, ignore, gw, losses, b)
}

func hasSoftmaxCols() bool { return false }

func scanIndex64(targets []int64, C uint64, ignore int64) (outside, bad int) {
	return scanIndex64Generic(targets, C, ignore)
}
