package engine

// cpuQKernels lists the int8 kernels this CPU and OS can run, fastest first.
func cpuQKernels() []*qKernel { return nil }
