//go:build !js

package build

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// One build at a time per output folder. Two builds into one --out used
// to both exit 0 and leave a manifest naming files the other's stale-file
// removal had deleted. A build holds an exclusive flock(2) on
// DIR/.lookalike-build.lock (flock(2); LockFileEx on Windows) from before it writes anything until its
// manifest is published and its stale files are gone; the kernel drops
// the lock when the process dies (SIGKILL included), so a killed build
// never blocks the next one. The file itself stays (removing it would let
// a third build lock a fresh file while a second still holds the old).

// buildLockName is the lock file in the output folder (hidden: serve and
// stage never publish it).
const buildLockName = ".lookalike-build.lock"

// lockedError is the error of a build that found another one writing
// its output folder.
type lockedError struct {
	dir string
	pid int // 0 = unknown
}

func (e *lockedError) Error() string {
	pid := "pid unknown"
	if e.pid > 0 {
		pid = "pid " + strconv.Itoa(e.pid)
	}
	return fmt.Sprintf("another build is writing %s (%s); wait for it to finish, or build into another --out", e.dir, pid)
}

// outLock is a held build lock.
type outLock struct{ f *os.File }

// lockOut takes dir's build lock without waiting: if another build holds
// it, the error names the folder and that build's process id.
func lockOut(dir string) (*outLock, error) {
	path := filepath.Join(dir, buildLockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("locking --out: %w", err)
	}
	if busy, err := tryLock(f); busy || err != nil {
		b := make([]byte, 32)
		n, _ := f.ReadAt(b, 0)
		f.Close()
		if busy {
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b[:n])))
			return nil, &lockedError{dir: dir, pid: pid}
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	// Who holds it, for the message another build prints.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &outLock{f: f}, nil
}

// unlock releases the lock (closing the file drops the flock).
func (l *outLock) unlock() {
	if l != nil && l.f != nil {
		l.f.Close()
		l.f = nil
	}
}
