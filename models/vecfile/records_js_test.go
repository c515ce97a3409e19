//go:build js && wasm

package vecfile

import (
	"syscall/js"
	"testing"
)

// JSRecords through a JavaScript read(file, items, size) over the file's
// bytes (as the page's over its private file) scores as the file in
// memory; a read answering null is an error.
func TestJSRecords(t *testing.T) {
	const n, dim = 50, 21
	vecs := unitVectors(n, dim, 9)
	file := encode(t, Int8, dim, vecs)
	mem, err := ParseVectors(file)
	if err != nil {
		t.Fatal(err)
	}
	jsFile := js.Global().Get("Uint8Array").New(len(file))
	js.CopyBytesToJS(jsFile, file)
	read := js.Global().Get("Function").New("file", "itemBytes", "size", `
		const items = new Int32Array(itemBytes.buffer, itemBytes.byteOffset, itemBytes.byteLength >> 2);
		const out = new Uint8Array(items.length * size);
		items.forEach((it, j) => out.set(file.subarray(32 + it * size, 32 + (it + 1) * size), j * size));
		return out;`)
	st, err := OpenStored(file, JSRecords(read, jsFile))
	if err != nil {
		t.Fatal(err)
	}
	items := []int{49, 0, 7, 7, 30}
	got, _, err := st.Scores(vecs[:dim], items, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for j, i := range items {
		if want := mem.Score(vecs[:dim], i); got[j] != want {
			t.Fatalf("item %d: %v through JavaScript, %v in memory", i, got[j], want)
		}
	}
	null := js.Global().Get("Function").New("return null;")
	bad, _ := OpenStored(file, JSRecords(null))
	if _, _, err := bad.Scores(vecs[:dim], items, nil, nil); err == nil {
		t.Fatal("a read answering null was not an error")
	}
}
