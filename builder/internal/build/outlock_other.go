//go:build !unix && !windows && !js

package build

import "os"

// tryLock does nothing where we use no file lock (Plan 9, WASI): one build
// at a time is then the developer's care.
func tryLock(*os.File) (bool, error) { return false, nil }

// openNonBlock: no FIFOs to wait on.
const openNonBlock = 0
