//go:build unix

package embedcache

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive flock(2) on the log, waiting for other
// builds that hold it.
func lockFile(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }

func unlockFile(f *os.File) { syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
