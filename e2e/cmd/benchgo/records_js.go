//go:build js && wasm

package main

import (
	"errors"
	"syscall/js"

	"github.com/lookalike/lookalike/models/vecfile"
)

// openRecords reads records of the vector file at path as the page reads
// its copy in the private file system (static/engine-worker.js
// storeOnDisk): one call into JavaScript per search, whose loop makes a
// synchronous positioned read per record (node's fs.readSync here, a
// FileSystemSyncAccessHandle there).
func openRecords(path string) (vecfile.RecordReader, func(), error) {
	fs := js.Global().Get("fs")
	if fs.IsUndefined() {
		return nil, nil, errors.New("no fs module")
	}
	fd := fs.Call("openSync", path, "r")
	read := js.Global().Get("Function").New("fs", "fd", "itemBytes", "size", `
		const items = new Int32Array(itemBytes.buffer, itemBytes.byteOffset, itemBytes.byteLength >> 2);
		const out = new Uint8Array(items.length * size);
		for (let j = 0; j < items.length; j++) {
			if (fs.readSync(fd, out, j * size, size, 32 + items[j] * size) !== size) return null;
		}
		return out;`)
	return vecfile.JSRecords(read, fs, fd), func() { fs.Call("closeSync", fd) }, nil
}
