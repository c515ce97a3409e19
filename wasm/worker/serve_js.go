//go:build js && wasm

package main

import (
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"syscall/js"
	"time"

	"github.com/syumai/workers"
)

// serve hands h to syumai/workers and keeps this Go program alive for
// request after request.
//
// syumai/workers v0.32.0 ends the program after one response: the
// response body's reader closes its done channel when the body has been
// read, Serve returns, and a second close would panic; its generated
// worker.mjs therefore starts a fresh instance per request (~25 ms of CPU
// each). Here the program never waits on that channel, and every answer's
// body goes to JavaScript as one Uint8Array (the ResponseWriter's raw-body
// path), so the body reader — and with it the done channel — is never
// touched. instance.mjs keeps the instance and sets each request's env
// and ctx on the runtime context before handing it the request.
func serve(h http.Handler) {
	workers.ServeNonBlock(keepAlive(h))
	workers.Ready()
	select {} // JavaScript calls handleRequest; the program never ends by itself
}

// rawBodyWriter is what syumai/workers' ResponseWriter offers for a body
// that is already a JavaScript value.
type rawBodyWriter interface{ WriteRawJSBody(body js.Value) }

var (
	started  = strconv.FormatInt(time.Now().UnixMilli(), 36)
	requests atomic.Int64
	uint8Arr = js.Global().Get("Uint8Array")
)

// keepAlive buffers h's answer and passes its body as a Uint8Array. It
// also turns a panic into a 500 (the instance lives on) and names the
// instance in /api/health answers ("Lookalike-Instance: <start> <n>":
// the e2e test checks that requests share one).
func keepAlive(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := w.(rawBodyWriter)
		if !ok {
			h.ServeHTTP(w, r)
			return
		}
		n := requests.Add(1)
		b := &bufferedResponse{header: w.Header(), status: http.StatusOK}
		func() {
			defer func() {
				if p := recover(); p != nil {
					fmt.Printf("worker: panic serving %s: %v\n", r.URL.Path, p)
					b.reset(http.StatusInternalServerError, `{"error":"internal error","status":500}`+"\n")
				}
			}()
			h.ServeHTTP(b, r)
		}()
		if r.URL.Path == "/api/health" {
			w.Header().Set("Lookalike-Instance", started+" "+strconv.FormatInt(n, 10))
		}
		w.WriteHeader(b.status)
		switch b.status {
		case http.StatusSwitchingProtocols, http.StatusNoContent, http.StatusResetContent, http.StatusNotModified:
			return // syumai/workers sends these without a body, never reading one
		}
		u8 := uint8Arr.New(len(b.body))
		js.CopyBytesToJS(u8, b.body)
		raw.WriteRawJSBody(u8)
	})
}

// bufferedResponse collects an answer; its header map is the real one.
type bufferedResponse struct {
	header http.Header
	status int
	wrote  bool
	body   []byte
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(status int) {
	if !b.wrote {
		b.status, b.wrote = status, true
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	b.wrote = true
	b.body = append(b.body, p...)
	return len(p), nil
}

func (b *bufferedResponse) reset(status int, body string) {
	for k := range b.header {
		delete(b.header, k)
	}
	b.header.Set("Content-Type", "application/json; charset=utf-8")
	b.header.Set("Cache-Control", "no-store")
	b.header.Set("Content-Length", strconv.Itoa(len(body)))
	b.status, b.body = status, []byte(body)
}
