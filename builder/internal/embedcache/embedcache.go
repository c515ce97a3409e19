//go:build !js

package embedcache

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Cache remembers the model's pooled features per image content, so a
// re-run re-embeds only new or changed images and a killed run resumes
// without redoing finished ones.
//
// On disk: DIR/meta.json (what the key means) and DIR/features.log, an
// append-only log of fixed-size records
//
//	[32]byte sha256(image bytes) | dim × float32 LE | uint32 crc32(previous bytes)
//
// A record torn by a crash is cut off on the next open; a record that fails
// its checksum is skipped; every other record is kept. Several builds may
// share a cache at once: the log is opened O_APPEND, every flush writes
// whole records in one write, and an exclusive lock on the log (flock(2) on
// Unix, LockFileEx on Windows: embedcache_unix.go, embedcache_windows.go)
// covers each flush and the load-and-trim at open, so records never
// interleave.
//
// Safe for concurrent use by the goroutines of one build.
type Cache struct {
	dir  string
	dim  int
	mu   sync.Mutex
	have map[[32]byte][]float32
	f    *os.File
	buf  []byte // whole records not yet written
	n    int    // records in buf
	// readOff is how far the log has been read: Refresh picks up records
	// other builds appended since.
	readOff int64
	// A timer flushes what waits in buf flushInterval after the first
	// record went in, so a kill loses at most the last ~2 s of work, not
	// up to 63 images (which on a small shop's first build or a slow
	// machine was all of them).
	interval  time.Duration
	afterFunc func(time.Duration, func()) stopper // time.AfterFunc; tests replace it
	timer     stopper
	timerErr  error // a failed timed flush, returned by the next Put or Close
	closed    bool
}

// flushInterval is how long a computed embedding may wait in memory
// before it is written (and synced) to the log.
const flushInterval = 1500 * time.Millisecond

// flushRecords is how many records fill a write on their own.
const flushRecords = 64

// stopper is what the cache needs of a timer.
type stopper interface{ Stop() bool }

func realAfterFunc(d time.Duration, f func()) stopper { return time.AfterFunc(d, f) }

// Refresh reads records other builds sharing this cache have appended
// since the last read, so a long build skips images they embedded
// meanwhile. Cheap when nothing is new (one stat).
func (c *Cache) Refresh() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, err := c.f.Stat()
	if err != nil || st.Size() <= c.readOff {
		return err
	}
	if err := lockFile(c.f); err != nil {
		return err
	}
	defer unlockFile(c.f)
	off, err := c.loadFrom(c.f, c.readOff)
	if err != nil {
		return fmt.Errorf("embedding cache: %w", err)
	}
	c.readOff = off
	return nil
}

// Meta is DIR/meta.json: what a cache folder's key stands for.
type Meta struct {
	Model    string `json:"model_sha256"`
	Pipeline string `json:"pipeline"`
	Dim      int    `json:"dim"`
}

// Open opens (or creates) the cache for one model + pipeline under root
// (the builder uses <cache>/embed).
func Open(root, modelSHA, pipeline string, dim int) (*Cache, error) {
	key := sha256.Sum256([]byte(modelSHA + "\x00" + pipeline))
	dir := filepath.Join(root, fmt.Sprintf("%x", key[:8]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("embedding cache: %w", err)
	}
	meta, _ := json.MarshalIndent(Meta{modelSHA, pipeline, dim}, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "meta.json"), meta, 0o644); err != nil {
		return nil, fmt.Errorf("embedding cache: %w", err)
	}
	c := &Cache{dir: dir, dim: dim, have: map[[32]byte][]float32{}, interval: flushInterval, afterFunc: realAfterFunc}
	path := filepath.Join(dir, "features.log")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("embedding cache: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("embedding cache: %w", err)
	}
	good, err := c.load(f)
	if err == nil {
		// Cut a torn tail so new records line up.
		err = truncateTail(f, path, good)
	}
	unlockFile(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("embedding cache %s: %w", path, err)
	}
	c.f = f
	c.readOff = good
	return c, nil
}

func (c *Cache) recordSize() int { return 32 + 4*c.dim + 4 }

// load reads every valid record and returns the offset after the last one.
func (c *Cache) load(f *os.File) (int64, error) {
	return c.loadFrom(f, 0)
}

// loadFrom reads whole records from offset off on (without moving f's
// append position) and returns the offset after the last whole one.
func (c *Cache) loadFrom(f *os.File, off int64) (int64, error) {
	r := bufio.NewReaderSize(io.NewSectionReader(f, off, 1<<62), 1<<20)
	rec := make([]byte, c.recordSize())
	for {
		if _, err := io.ReadFull(r, rec); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return off, nil
			}
			return off, err
		}
		body := rec[:len(rec)-4]
		off += int64(len(rec))
		if crc32.ChecksumIEEE(body) != binary.LittleEndian.Uint32(rec[len(rec)-4:]) {
			continue // a damaged record: skip it, keep the rest
		}
		var k [32]byte
		copy(k[:], body[:32])
		v := make([]float32, c.dim)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(body[32+4*i:]))
		}
		c.have[k] = v
	}
}

// Dir is where the cache lives (printed for the user).
func (c *Cache) Dir() string { return c.dir }

// Len is the number of cached images.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.have)
}

// Get returns the cached features for an image hash.
func (c *Cache) Get(k [32]byte) ([]float32, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.have[k]
	return v, ok
}

// Put appends features. The log is flushed and synced (one write of whole
// records) every flushRecords records, and flushInterval after the first
// record of a flush arrived, so a kill loses only what was computed in
// the last ~2 seconds.
func (c *Cache) Put(k [32]byte, v []float32) error {
	if len(v) != c.dim {
		return fmt.Errorf("embedding cache: %d values, want %d", len(v), c.dim)
	}
	rec := make([]byte, 0, c.recordSize())
	rec = append(rec, k[:]...)
	for _, x := range v {
		rec = binary.LittleEndian.AppendUint32(rec, math.Float32bits(x))
	}
	rec = binary.LittleEndian.AppendUint32(rec, crc32.ChecksumIEEE(rec))
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.have[k]; dup {
		return nil
	}
	if err := c.timerErr; err != nil {
		c.timerErr = nil
		return err
	}
	c.have[k] = v
	c.buf = append(c.buf, rec...)
	c.n++
	if c.n >= flushRecords {
		return c.syncLocked()
	}
	if c.n == 1 {
		c.timer = c.afterFunc(c.interval, c.timedFlush)
	}
	return nil
}

// timedFlush writes what waits when the interval is up.
func (c *Cache) timedFlush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	if err := c.syncLocked(); err != nil && c.timerErr == nil {
		c.timerErr = err
	}
}

// syncLocked appends the buffered records in one locked write and syncs.
func (c *Cache) syncLocked() error {
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	if len(c.buf) == 0 {
		return nil
	}
	if err := lockFile(c.f); err != nil {
		return fmt.Errorf("embedding cache: %w", err)
	}
	_, err := c.f.Write(c.buf)
	if err == nil {
		err = c.f.Sync()
	}
	unlockFile(c.f)
	if err != nil {
		return fmt.Errorf("embedding cache: %w", err)
	}
	c.buf, c.n = c.buf[:0], 0
	return nil
}

// truncateTail cuts the log at size when a torn record lies past it. It
// goes by path: on Windows the O_APPEND handle may not set the file's end.
func truncateTail(f *os.File, path string, size int64) error {
	st, err := f.Stat()
	if err != nil || st.Size() <= size {
		return err
	}
	return os.Truncate(path, size)
}

// Close flushes and closes the log.
func (c *Cache) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	err := c.syncLocked()
	if err == nil {
		err = c.timerErr
	}
	c.closed = true
	if cerr := c.f.Close(); err == nil {
		err = cerr
	}
	return err
}
