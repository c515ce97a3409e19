//go:build !unix && !windows && !js

package embedcache

import "os"

// lockFile does nothing on platforms without a file lock we use (Plan 9,
// WASI): one build at a time may use a cache folder there.
func lockFile(*os.File) error { return nil }

func unlockFile(*os.File) {}
