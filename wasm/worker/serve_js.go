//go:build js && wasm

package main

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall/js"
	"time"

	"github.com/syumai/workers"
)

// serve registers h as binding.serve(method, url, done) on syumai/workers'
// runtime context and keeps this Go program alive for request after
// request; instance.mjs calls it, once per request, with that request's
// env and ctx already set on the context (cloudflare.GetBinding reads
// them there).
//
// Why not syumai/workers' handleRequest, which takes and returns
// Request/Response objects: it ends the program after one answer (the
// body reader closes a done channel; a second close panics), and it
// carries every request across as ~30 JavaScript values (the URL, each
// header three times, the Headers of the answer and each header appended
// to it, the Response …). Go's syscall/js frees each value it has held
// with a finalizer, only when its collector runs: a collection every
// ~700 requests then ran ~25,000 finalizers, 15–45 ms of CPU inside one
// request (docs/deploy.md). Here a request crosses as two strings and a
// callback, its answer as a status, one string of header lines and one
// Uint8Array: five values.
func serve(h http.Handler) {
	binding := js.Global().Get("context").Get("binding")
	binding.Set("serve", js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) != 3 || args[2].Type() != js.TypeFunction {
			panic("worker: binding.serve(method, url, done)")
		}
		method, target, done := args[0].String(), args[1].String(), args[2]
		// The handler may wait on I/O (an ASSETS read), which a JavaScript
		// callback must not do: answer from a goroutine.
		go func() {
			status, header, body := answer(h, method, target)
			done.Invoke(status, header, body)
		}()
		return nil
	}))
	workers.Ready()
	select {} // JavaScript calls binding.serve; the program never ends by itself
}

var (
	started  = strconv.FormatInt(time.Now().UnixMilli(), 36)
	requests atomic.Int64
	uint8Arr = js.Global().Get("Uint8Array")

	// bodies keeps answer buffers (*[]byte) for reuse: an answer is copied
	// into JavaScript at once, and garbage is what makes Go's collector run.
	bodies sync.Pool
)

// maxKeptBody bounds an answer buffer kept for reuse.
const maxKeptBody = 1 << 20

// answer runs h on one request. It turns a panic into a 500 (the
// instance lives on) and names the instance in /api/health answers
// ("Lookalike-Instance: <start> <n>": the e2e test checks that requests
// share one). header is "Name: value\n" lines; body is a Uint8Array, or
// null for statuses that have none.
func answer(h http.Handler, method, target string) (status int, header string, body js.Value) {
	n := requests.Add(1)
	b := &bufferedResponse{header: http.Header{}, status: http.StatusOK}
	if bp, _ := bodies.Get().(*[]byte); bp != nil {
		b.body = (*bp)[:0]
	}
	defer func() {
		if cap(b.body) <= maxKeptBody {
			bodies.Put(&b.body)
		}
	}()
	r, err := http.NewRequest(method, target, nil)
	if err != nil {
		b.reset(http.StatusBadRequest, `{"error":"malformed request URL","status":400}`+"\n")
	} else {
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
			b.header.Set("Lookalike-Instance", started+" "+strconv.FormatInt(n, 10))
		}
	}
	var sb strings.Builder
	for k, vs := range b.header {
		for _, v := range vs {
			if strings.ContainsAny(k, ":\r\n") || strings.ContainsAny(v, "\r\n") {
				continue // not a header line; net/http would refuse it too
			}
			sb.WriteString(k)
			sb.WriteString(": ")
			sb.WriteString(v)
			sb.WriteByte('\n')
		}
	}
	switch b.status {
	case http.StatusSwitchingProtocols, http.StatusNoContent, http.StatusResetContent, http.StatusNotModified:
		return b.status, sb.String(), js.Null()
	}
	u8 := uint8Arr.New(len(b.body))
	js.CopyBytesToJS(u8, b.body)
	return b.status, sb.String(), u8
}

// bufferedResponse collects an answer.
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
