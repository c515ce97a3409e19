//go:build !amd64

package engine

// cpuKernels: no assembly kernels on this architecture; the Go kernel runs
// (and, under js/wasm, the platformGemm hook when gemm_wasm.go sets it).
func cpuKernels() []*microKernel { return nil }

// cpuQKernels: no assembly int8 kernels on this architecture.
func cpuQKernels() []*qKernel { return nil }
