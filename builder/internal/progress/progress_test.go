//go:build !js

package progress

import (
	"bytes"
	"strings"
	"testing"
)

// TestPlainLines: on a non-terminal writer a Meter prints plain lines with
// done/total, percentage, ETA, the cached count and a final line.
func TestPlainLines(t *testing.T) {
	var b bytes.Buffer
	p := New(&b, "embed", 10)
	p.every = 0 // a line per update
	p.Cached(4)
	p.Add(2)
	p.Add(2)
	p.Finish()
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(lines), b.String())
	}
	for i, want := range []string{"embed: 6/10 (60.0%)", "embed: 8/10 (80.0%)", "embed: 8/10 in "} {
		if !strings.HasPrefix(lines[i], want) {
			t.Errorf("line %d %q, want prefix %q", i, lines[i], want)
		}
	}
	if !strings.Contains(lines[0], "ETA") || !strings.Contains(lines[0], "(4 cached)") || !strings.Contains(lines[2], "(4 from cache)") {
		t.Errorf("lines lack ETA or cached counts:\n%s", b.String())
	}

	// Nothing to do: no rate to speak of.
	b.Reset()
	p = New(&b, "embed", 5)
	p.Cached(5)
	p.Finish()
	if got := b.String(); got != "embed: 5/5, all from cache\n" {
		t.Errorf("all cached: %q", got)
	}
}
