//go:build !amd64 || purego

package gemm

import "github.com/xent-go/xent/internal/arch"

// Without assembly the micro-kernel is the portable one.

var archImpls arch.List

func current() *impl { return &generic }
