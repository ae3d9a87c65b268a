package gemm

// The amd64 micro-kernels and their Go declarations are generated with avo
// by the module in _asm (which the go tool otherwise ignores).

//go:generate go run -C _asm . -out ../kernel_amd64.s -stubs ../kernel_amd64_stubs.go -pkg gemm
