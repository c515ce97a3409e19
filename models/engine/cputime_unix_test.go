//go:build unix

package engine

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time (user+system) this process has used so far; the
// benchmarks report it per image because wall time on a shared machine
// includes other processes' turns.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
