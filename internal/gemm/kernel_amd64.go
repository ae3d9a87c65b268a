//go:build !purego

package gemm

import (
	"golang.org/x/sys/cpu"

	"github.com/xent-go/xent/internal/arch"
)

var (
	hasAVX2   = cpu.X86.HasAVX && cpu.X86.HasAVX2 && cpu.X86.HasFMA
	hasAVX512 = hasAVX2 && cpu.X86.HasAVX512F

	useAVX2   = hasAVX2
	useAVX512 = hasAVX512
)

var archImpls = arch.List{
	{Name: "avx2", Available: hasAVX2, Enabled: &useAVX2},
	{Name: "avx512", Available: hasAVX512, Enabled: &useAVX512},
}

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
