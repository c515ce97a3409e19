//go:build !js

package main

import "syscall"

// cpuMS is the process's user+system CPU time in ms (all threads).
func cpuMS() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e6
}
