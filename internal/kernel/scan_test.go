package kernel

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestScanIndex64: the count of targets outside [0, C) and the first bad
// one, against a plain loop, for lengths around the vector widths and
// unrolled groups, C = 0 (every target outside), bad targets of every kind at every place, and several
// of them (the first must be named).
func TestScanIndex64(t *testing.T) {
	want := func(ts []int64, C int, ignore int64) (outside, bad int) {
		for pos, y := range ts {
			switch {
			case y >= 0 && y < int64(C):
			case y == ignore:
				outside++
			default:
				return 0, pos
			}
		}
		return outside, -1
	}
	forEachImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		for _, C := range []int{0, 1, 5, 21, 1000} {
			for _, ignore := range []int64{-100, -1, int64(C), 1 << 40, math.MinInt64} {
				strays := []int64{-2, int64(C) + 1, math.MaxInt64, math.MinInt64 + 1, -1, int64(C)}
				for n := 0; n < 100; n++ {
					for trial := range 6 {
						ts := make([]int64, n+7)[:n] // slack past the end, never read
						for i := range ts {
							ts[i] = ignore
							if C > 0 && r.IntN(4) > 0 {
								ts[i] = int64(r.IntN(C))
							}
						}
						for i := n; i < n+7; i++ {
							ts[:cap(ts)][i] = int64(C) + 5 // a bad target past the end
						}
						if trial > 0 && n > 0 {
							for range trial {
								v := strays[r.IntN(len(strays))]
								if v != ignore {
									ts[r.IntN(n)] = v
								}
							}
						}
						wo, wb := want(ts, C, ignore)
						o, b := ScanIndex64(ts, C, ignore)
						if b != wb || wb < 0 && o != wo {
							t.Fatalf("C=%d ignore=%d n=%d %v: outside, bad = %d, %d; want %d, %d", C, ignore, n, ts, o, b, wo, wb)
						}
					}
				}
			}
		}
	})
}
