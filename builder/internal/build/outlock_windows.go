//go:build windows

package build

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// tryLock takes an exclusive LockFileEx lock on one byte far past the
// end (an advisory lock, as in internal/embedcache) without waiting.
func tryLock(f *os.File) (busy bool, err error) {
	const off = 1 << 62
	ol := &windows.Overlapped{Offset: uint32(off & 0xffffffff), OffsetHigh: uint32(off >> 32)}
	err = windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
		return true, nil
	}
	return false, err
}

// openNonBlock: Windows has no FIFOs to wait on.
const openNonBlock = 0
