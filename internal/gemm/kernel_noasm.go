//go:build !amd64 || purego

package gemm

// Without assembly the micro-kernel is the portable one.

var archImpls []archImpl

func current() *impl { return &generic }
