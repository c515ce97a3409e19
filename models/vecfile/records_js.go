//go:build js && wasm

package vecfile

import (
	"encoding/binary"
	"errors"
	"syscall/js"
)

// JSRecords is a RecordReader calling a JavaScript function read(items,
// size): items is a Uint8Array of the items' int32s (little-endian), and
// read returns their records as one Uint8Array of len(items)·size bytes,
// or null when it cannot. One call a shortlist, so the loop over records
// runs in JavaScript (the page: synchronous reads of its private file,
// static/engine-worker.js storeOnDisk). args are passed before items.
func JSRecords(read js.Value, args ...any) RecordReader {
	return jsRecords{read: read, args: args}
}

type jsRecords struct {
	read js.Value
	args []any
}

func (r jsRecords) ReadRecords(items []int, size int, dst []byte) error {
	ib := make([]byte, 4*len(items))
	for j, i := range items {
		binary.LittleEndian.PutUint32(ib[4*j:], uint32(i))
	}
	arg := js.Global().Get("Uint8Array").New(len(ib))
	js.CopyBytesToJS(arg, ib)
	res := r.read.Invoke(append(append([]any(nil), r.args...), arg, size)...)
	if res.IsNull() || res.IsUndefined() || res.Get("byteLength").Int() != len(dst) {
		return errors.New("the stored vector file could not be read")
	}
	js.CopyBytesToGo(dst, res)
	return nil
}
