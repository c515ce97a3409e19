//go:build windows

package embedcache

import (
	"os"

	"golang.org/x/sys/windows"
)

// lockOffset is where the lock's one byte lies: far past any log's end.
// Windows byte-range locks are mandatory, so locking the records
// themselves would block the other handles' reads and truncation; a byte
// nobody reads or writes makes it an advisory lock like flock(2). Locking
// past the end of a file is allowed.
const lockOffset = 1 << 62

func lockOverlapped() *windows.Overlapped {
	return &windows.Overlapped{Offset: uint32(lockOffset & 0xffffffff), OffsetHigh: uint32(lockOffset >> 32)}
}

// lockFile takes an exclusive LockFileEx lock, waiting for other builds
// that hold it.
func lockFile(f *os.File) error {
	return windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, lockOverlapped())
}

func unlockFile(f *os.File) {
	windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, lockOverlapped())
}
