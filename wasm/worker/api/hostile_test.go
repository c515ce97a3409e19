package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/models/edge/edgetest"
	"github.com/lookalike/lookalike/models/vecfile"
)

// A display file holding unsafe links (written by hand, or by a builder
// before issue #14): the staged cards (models/edge.Stage), and so every
// API answer, carry only http:, https: and relative links.
func TestStagedCardsCarryNoUnsafeURL(t *testing.T) {
	db := []byte(`{"format":"lookalike-catalog","version":1,"count":4,"id":["a","b","c","d"],` +
		`"url":["javascript:alert(3)","JaVaScRiPt:alert(3)","data:text/html,x","https://shop.example/d"]}` + "\n")
	nl := vecfile.NeighborLists{K: 3, Section: make([][]vecfile.Neighbor, 4)}
	for i := range nl.Section {
		for j := 1; j <= 3; j++ {
			nl.Section[i] = append(nl.Section[i], vecfile.Neighbor{Item: uint32((i + j) % 4), Score: 0.5})
		}
	}
	var nb strings.Builder
	if err := vecfile.WriteNeighbors(&nb, nl); err != nil {
		t.Fatal(err)
	}
	_, _, staged := edgetest.Stage(t, 4, db, []byte(nb.String()))
	for name, b := range staged {
		if s := strings.ToLower(string(b)); strings.Contains(s, "javascript:") || strings.Contains(s, "data:") {
			t.Errorf("staged %s carries an unsafe url: %s", name, b)
		}
	}
	h := Handler(&edgetest.Store{Files: staged})
	for _, id := range []string{"a", "b", "c", "d"} {
		for _, path := range []string{"/api/products/" + id, "/api/similar/" + id + "?k=3"} {
			w := do(t, h, "GET", path)
			if w.Code != 200 {
				t.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
			}
			if s := strings.ToLower(w.Body.String()); strings.Contains(s, "javascript:") || strings.Contains(s, "data:") {
				t.Errorf("GET %s: %s", path, w.Body)
			}
		}
	}
	if w := do(t, h, "GET", "/api/products/d"); !strings.Contains(w.Body.String(), `"url":"https://shop.example/d"`) {
		t.Errorf("a safe url was dropped: %s", w.Body)
	}
}

// FuzzRequest sends any method and path: never a 5xx, a 204 without a
// body for OPTIONS (workerd refuses a body there), JSON otherwise.
func FuzzRequest(f *testing.F) {
	fx := edgetest.New(f, 300, 8, true)
	h := Handler(fx.Store)
	for _, s := range [][2]string{{"OPTIONS", "/api/health"}, {"HEAD", "/api/similar/p1"}, {"GET", "/api/../../etc/passwd"},
		{"GET", "/api/similar/%2e%2e%2f%2e%2e"}, {"POST", "/api/health"}, {"GET", "/api/products/" + strings.Repeat("x", 300)}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, method, target string) {
		u, err := url.ParseRequestURI(target)
		if err != nil || !strings.HasPrefix(u.Path, "/") || method == "" || strings.ContainsAny(method, " \t\r\n") {
			return
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, (&http.Request{Method: method, URL: u, Header: http.Header{}}).WithContext(context.Background()))
		switch {
		case w.Code >= 500:
			t.Fatalf("%s %q: status %d: %s", method, target, w.Code, w.Body)
		case method == http.MethodOptions:
			if w.Code != http.StatusNoContent || w.Body.Len() != 0 {
				t.Fatalf("OPTIONS %q: %d with %d bytes", target, w.Code, w.Body.Len())
			}
		case method == http.MethodHead:
			if w.Body.Len() != 0 {
				t.Fatalf("HEAD %q: a body", target)
			}
		case !json.Valid(w.Body.Bytes()):
			t.Fatalf("%s %q: body not JSON: %q", method, target, w.Body)
		}
	})
}
