//go:build js && wasm

package main

import (
	"encoding/json"
	"fmt"
	"runtime/debug"
	"syscall/js"

	"github.com/lookalike/lookalike/models/vecfile"
)

// The only file with syscall/js: it converts JS values, calls the session
// and turns every answer (or error, or panic) into a JSON string.

func main() {
	s := newSession()
	api := js.Global().Get("Object").New()
	// load(kind, bytes[, part, parts[, from]]): one asset, or part `part`
	// (0-based) of `parts`, copied straight into the asset's buffer in Go
	// memory; `from` is the byte offset in the asset's file where the first
	// part starts (the index may be loaded from its split nodes on).
	api.Set("load", js.FuncOf(func(_ js.Value, a []js.Value) any {
		return call(func() (any, error) {
			if len(a) < 2 {
				return nil, coded("internal", "engine: load(kind, bytes[, part, parts])")
			}
			i, parts := 0, 1
			if len(a) >= 4 {
				i, parts = a[2].Int(), a[3].Int()
			}
			kind, src := a[0].String(), a[1]
			n := 0
			if !src.IsUndefined() && !src.IsNull() {
				n = src.Get("byteLength").Int()
			}
			dst, err := s.part(kind, i, parts, n)
			if err != nil {
				return nil, err
			}
			if len(a) >= 5 && i == 0 {
				s.from[kind] = int64(a[4].Float())
			}
			if n > 0 {
				js.CopyBytesToGo(dst, src)
			}
			if err := s.partDone(kind, i, parts); err != nil {
				return nil, err
			}
			return map[string]bool{"ok": true}, nil
		})
	}))
	api.Set("ready", js.FuncOf(func(_ js.Value, _ []js.Value) any {
		return call(func() (any, error) { return s.ready() })
	}))
	api.Set("search", js.FuncOf(func(_ js.Value, a []js.Value) any {
		return call(func() (any, error) {
			if len(a) < 5 {
				return nil, coded("internal", "engine: search(bytes, crop, k, section, filters[, personal])")
			}
			crop, err := parseCrop(a[1].String())
			if err != nil {
				return nil, err
			}
			f, err := parseFilters(a[4].String())
			if err != nil {
				return nil, err
			}
			p, err := parsePersonal(optString(a, 5))
			if err != nil {
				return nil, err
			}
			return s.search(bytesOf(a[0]), crop, a[2].Int(), a[3].String(), f, p)
		})
	}))
	// prepare(bytes, crop): run a photo through the model before the
	// engine is ready (session.prepare); always answers {"ok": true}.
	api.Set("prepare", js.FuncOf(func(_ js.Value, a []js.Value) any {
		return call(func() (any, error) {
			if len(a) >= 2 {
				if crop, err := parseCrop(a[1].String()); err == nil {
					s.prepare(bytesOf(a[0]), crop)
				}
			}
			return map[string]bool{"ok": true}, nil
		})
	}))
	api.Set("similar", js.FuncOf(func(_ js.Value, a []js.Value) any {
		return call(func() (any, error) {
			if len(a) < 4 {
				return nil, coded("internal", "engine: similar(id, k, section, filters[, personal])")
			}
			f, err := parseFilters(a[3].String())
			if err != nil {
				return nil, err
			}
			p, err := parsePersonal(optString(a, 4))
			if err != nil {
				return nil, err
			}
			return s.similar(a[0].String(), a[1].Int(), a[2].String(), f, p)
		})
	}))
	// attachStored(header, read): the vector file kept in the browser's
	// private file system (too big for memory), header its first bytes;
	// read(items, size) returns the records of items (a Uint8Array of the
	// items' int32 bytes, little-endian) as one Uint8Array, or null.
	api.Set("attachStored", js.FuncOf(func(_ js.Value, a []js.Value) any {
		return call(func() (any, error) {
			if len(a) < 2 || a[1].Type() != js.TypeFunction {
				return nil, coded("internal", "engine: attachStored(header, read)")
			}
			if err := s.attachStored(bytesOf(a[0]), vecfile.JSRecords(a[1])); err != nil {
				return nil, err
			}
			return map[string]bool{"ok": true}, nil
		})
	}))
	api.Set("vector", js.FuncOf(func(_ js.Value, a []js.Value) any {
		return call(func() (any, error) {
			if len(a) < 1 {
				return nil, coded("internal", "engine: vector(id)")
			}
			return s.productVector(a[0].String())
		})
	}))
	js.Global().Set("lookalike", api)
	select {}
}

// optString is argument i as a string, "" when absent, undefined or null
// (the optional personal JSON).
func optString(a []js.Value, i int) string {
	if len(a) <= i || a[i].IsUndefined() || a[i].IsNull() {
		return ""
	}
	return a[i].String()
}

func bytesOf(v js.Value) []byte {
	if v.IsUndefined() || v.IsNull() {
		return nil
	}
	b := make([]byte, v.Get("byteLength").Int())
	js.CopyBytesToGo(b, v)
	return b
}

// call runs f and encodes its answer; a panic becomes an "internal" error
// (or "oom") instead of killing the engine.
func call(f func() (any, error)) (out any) {
	defer func() {
		if p := recover(); p != nil {
			code := "internal"
			if fmt.Sprint(p) == "runtime error: out of memory" {
				code = "oom"
			}
			out = encode(nil, &codedError{Code: code, Message: fmt.Sprintf("engine: %v", p)})
			debug.FreeOSMemory()
		}
	}()
	v, err := f()
	return encode(v, err)
}

func encode(v any, err error) string {
	if err != nil {
		b, _ := json.Marshal(map[string]any{"error": codeOf(err)})
		return string(b)
	}
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]any{"error": &codedError{"internal", "engine: " + err.Error()}})
	}
	return string(b)
}
