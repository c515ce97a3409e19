//go:build !js

package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// Meter reports done/total, items/s and ETA for one job.
type Meter struct {
	mu      sync.Mutex
	w       io.Writer
	tty     bool
	label   string
	total   int
	done    int
	skipped int // already cached: excluded from the rate
	start   time.Time
	last    time.Time
	every   time.Duration
}

// New reports to w: a bar when w is a terminal, plain lines otherwise.
func New(w io.Writer, label string, total int) *Meter {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	return &Meter{
		w:     w,
		tty:   tty,
		label: label,
		total: total,
		start: time.Now(),
		every: 5 * time.Second,
	}
}

// Cached records n items that needed no work (they don't count towards the rate).
func (p *Meter) Cached(n int) {
	p.mu.Lock()
	p.done += n
	p.skipped += n
	p.mu.Unlock()
}

// Add records n finished items.
func (p *Meter) Add(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	now := time.Now()
	interval := p.every
	if p.tty {
		interval = 200 * time.Millisecond
	}
	if now.Sub(p.last) >= interval || p.done == p.total {
		p.last = now
		p.draw(now, false)
	}
}

// Finish prints the final line.
func (p *Meter) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.draw(time.Now(), true)
}

func (p *Meter) rate(now time.Time) float64 {
	el := now.Sub(p.start).Seconds()
	if el <= 0 {
		return 0
	}
	return float64(p.done-p.skipped) / el
}

func (p *Meter) draw(now time.Time, final bool) {
	r := p.rate(now)
	eta := "—"
	if r > 0 && p.done < p.total {
		eta = (time.Duration(float64(p.total-p.done)/r) * time.Second).Round(time.Second).String()
	}
	pct := 100.0
	if p.total > 0 {
		pct = 100 * float64(p.done) / float64(p.total)
	}
	stats := fmt.Sprintf("%d/%d (%.1f%%)  %.1f items/s  ETA %s", p.done, p.total, pct, r, eta)
	if p.skipped > 0 {
		stats += fmt.Sprintf("  (%d cached)", p.skipped)
	}
	if final {
		stats = fmt.Sprintf("%d/%d in %s, %.1f items/s", p.done, p.total, now.Sub(p.start).Round(100*time.Millisecond), r)
		if p.skipped > 0 {
			stats += fmt.Sprintf(" (%d from cache)", p.skipped)
		}
		if p.skipped == p.done {
			stats = fmt.Sprintf("%d/%d, all from cache", p.done, p.total)
		}
	}
	if !p.tty {
		fmt.Fprintf(p.w, "%s: %s\n", p.label, stats)
		return
	}
	const width = 28
	fill := 0
	if p.total > 0 {
		fill = width * p.done / p.total
	}
	bar := strings.Repeat("█", fill) + strings.Repeat("░", width-fill)
	end := ""
	if final {
		end = "\n"
	}
	fmt.Fprintf(p.w, "\r\033[K%s %s %s%s", p.label, bar, stats, end)
}
