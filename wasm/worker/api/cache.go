package api

import (
	"container/list"
	"context"
	"sync"

	"github.com/lookalike/lookalike/models/edge"
)

// Cached returns a Store that keeps the files it has read from s, up to
// maxBytes in all, dropping the least recently used first. The staged
// files of a deployment never change under it (a new deployment is a new
// worker instance), so nothing expires; errors are not kept. The worker
// keeps one Go instance across requests, so a shop's hot products are
// answered from memory instead of copying the same shards in again.
// Returned slices are shared: callers must not modify them (the handler
// only reads). Safe for concurrent use.
func Cached(s edge.Store, maxBytes int64) edge.Store {
	return &cachedStore{inner: s, max: maxBytes, files: map[string]*list.Element{}, lru: list.New()}
}

type cachedStore struct {
	inner edge.Store
	max   int64

	mu    sync.Mutex
	size  int64
	files map[string]*list.Element // of *cachedFile
	lru   *list.List               // front: most recently used
}

type cachedFile struct {
	name string
	b    []byte
}

func (c *cachedStore) Get(ctx context.Context, name string) ([]byte, error) {
	c.mu.Lock()
	if e, ok := c.files[name]; ok {
		c.lru.MoveToFront(e)
		b := e.Value.(*cachedFile).b
		c.mu.Unlock()
		return b, nil
	}
	c.mu.Unlock()
	b, err := c.inner.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	n := int64(len(b))
	if n > c.max {
		return b, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.files[name]; ok { // read twice concurrently
		return e.Value.(*cachedFile).b, nil
	}
	for c.size+n > c.max {
		e := c.lru.Back()
		f := e.Value.(*cachedFile)
		c.lru.Remove(e)
		delete(c.files, f.name)
		c.size -= int64(len(f.b))
	}
	c.files[name] = c.lru.PushFront(&cachedFile{name: name, b: b})
	c.size += n
	return b, nil
}
