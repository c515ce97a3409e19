//go:build js && wasm

package main

import (
	"context"
	"fmt"
	"syscall/js"

	"github.com/lookalike/lookalike/models/edge"
	"github.com/syumai/workers/cloudflare"
)

// assetStore reads staged files through the ASSETS binding (a fetch that
// never leaves the worker's machine; the host name is ignored). It calls
// the binding through syscall/js rather than syumai's fetch package: that
// one goes through net/http's Client, whose default transport links TLS
// and X.509 and adds ~1.2 MB to the compressed bundle.
//
// The binding is looked up in the current request's env at each read
// (instance.mjs sets it before every request; there is none while the
// program starts).
type assetStore struct{}

func newStore() edge.Store { return assetStore{} }

func (assetStore) Get(ctx context.Context, name string) ([]byte, error) {
	assets := cloudflare.GetBinding("ASSETS")
	if assets.IsUndefined() {
		return nil, fmt.Errorf("worker: no ASSETS binding; check wrangler.toml [assets] binding")
	}
	res, err := await(ctx, assets.Call("fetch", "https://assets.invalid"+dataPrefix+name))
	if err != nil {
		return nil, fmt.Errorf("worker: fetching %s: %w", name, err)
	}
	switch st := res.Get("status").Int(); {
	case st == 404:
		return nil, fmt.Errorf("%w: %s", edge.ErrNotFound, name)
	case st != 200:
		return nil, fmt.Errorf("worker: fetching %s: status %d", name, st)
	}
	buf, err := await(ctx, res.Call("arrayBuffer"))
	if err != nil {
		return nil, fmt.Errorf("worker: reading %s: %w", name, err)
	}
	u8 := js.Global().Get("Uint8Array").New(buf)
	b := make([]byte, u8.Get("length").Int())
	js.CopyBytesToGo(b, u8)
	return b, nil
}

// await blocks the calling goroutine until p settles.
func await(ctx context.Context, p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	var then, catch js.Func
	then = js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{v: args[0]}
		return nil
	})
	catch = js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{err: fmt.Errorf("%s", args[0].Call("toString").String())}
		return nil
	})
	p.Call("then", then, catch)
	select {
	case r := <-ch:
		then.Release()
		catch.Release()
		return r.v, r.err
	case <-ctx.Done():
		// The callbacks stay alive: the promise may still settle (and
		// then sends into the buffered channel, which nobody reads).
		return js.Value{}, ctx.Err()
	}
}
