//go:build !purego

package gemm

import "github.com/xent-go/xent/internal/arch"

// useAVX2 and useAVX512 are what the dispatch reads; tests flip them
// through Select.
var useAVX2, useAVX512 bool

var archImpls = arch.X86(&useAVX2, &useAVX512)

// The blocking: kc·nr·4 bytes of B micro-panel stay in L1 (48 KiB), the
// mc·kc·4 bytes of packed A in L2 (1 MiB), and the packed B panel is at
// most kc·nc·4 = 4 MiB.
var (
	avx2 = impl{
		name: "avx2",
		mr:   6, nr: 16,
		kc: 256, mc: 6 * 40, nc: 16 * 256,
		kernel:    kernel6x16AVX2,
		half:      kernel6x8AVX2,
		transpose: transpose8AVX,
		copyRows:  copyRows16AVX,
	}
	avx512 = impl{
		name: "avx512",
		mr:   14, nr: 32,
		kc: 256, mc: 14 * 24, nc: 32 * 128,
		kernel:    kernel14x32AVX512,
		half:      kernel14x16AVX512,
		transpose: transpose8AVX,
		copyRows:  copyRows32AVX,
		short:     &avx512x8,
	}
	avx512x8 = impl{
		name: "avx512",
		mr:   8, nr: 32,
		kc: 256, mc: 8 * 40, nc: 32 * 128,
		kernel:    kernel8x32AVX512,
		half:      kernel8x16AVX512,
		transpose: transpose8AVX,
		copyRows:  copyRows32AVX,
	}
)

func current() *impl {
	if useAVX512 {
		return &avx512
	} else if useAVX2 {
		return &avx2
	}
	return &generic
}
