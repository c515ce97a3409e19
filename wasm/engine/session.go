package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"sort"
	"time"

	"github.com/lookalike/lookalike/models/annoy"
	"github.com/lookalike/lookalike/models/embed"
	"github.com/lookalike/lookalike/models/imageprep"
	"github.com/lookalike/lookalike/models/project"
	"github.com/lookalike/lookalike/models/vecfile"
)

// codedError carries one of the protocol's error codes to the page.
type codedError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *codedError) Error() string { return e.Message }

func coded(code, format string, args ...any) error {
	return &codedError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// codeOf maps an error to the page's error codes.
func codeOf(err error) *codedError {
	var ce *codedError
	switch {
	case errors.As(err, &ce):
		return ce
	case errors.Is(err, imageprep.ErrEmpty):
		return &codedError{"empty", err.Error()}
	case errors.Is(err, imageprep.ErrUnsupportedFormat):
		return &codedError{"unsupported", err.Error()}
	case errors.Is(err, imageprep.ErrTooLarge):
		return &codedError{"too-large", err.Error()}
	case errors.Is(err, imageprep.ErrCorrupt):
		return &codedError{"corrupt", err.Error()}
	case errors.Is(err, imageprep.ErrBadCrop):
		return &codedError{"bad-crop", err.Error()}
	case errors.Is(err, vecfile.ErrFormat):
		return &codedError{"corrupt", err.Error()}
	}
	return &codedError{"internal", err.Error()}
}

// rect is a crop in upright image pixels.
type rect struct{ X, Y, W, H int }

// result is one product in an answer (the page's result record).
type result struct {
	ID       string            `json:"id"`
	Score    float32           `json:"score"`
	Title    string            `json:"title,omitempty"`
	URL      string            `json:"url,omitempty"`
	Price    json.RawMessage   `json:"price,omitempty"`
	Currency string            `json:"currency,omitempty"`
	Section  string            `json:"section,omitempty"`
	Attrs    map[string]string `json:"attrs,omitempty"`
	Thumb    *thumbOut         `json:"thumb,omitempty"`
}

type thumbOut struct {
	URL    string `json:"url"`
	X      int    `json:"x"`
	Y      int    `json:"y"`
	W      int    `json:"w"`
	H      int    `json:"h"`
	SheetW int    `json:"sheetW,omitempty"`
	SheetH int    `json:"sheetH,omitempty"`
}

type answer struct {
	Query   any                `json:"query"`
	Results []result           `json:"results"`
	MS      map[string]float64 `json:"ms"`
}

type readyInfo struct {
	Items      int                       `json:"items"`
	Sections   map[string]int            `json:"sections"`
	Attributes map[string]map[string]int `json:"attributes"`
	Dim        int                       `json:"dim"`
	Search     string                    `json:"search"` // "exact" or "annoy"
}

// session holds one loaded catalogue. Not safe for concurrent use.
type session struct {
	man       *manifest
	emb       *embed.Embedder
	proj      *project.Projection
	indexData []byte
	index     *annoy.Index
	vecs      *vecfile.Vectors
	nbrs      *vecfile.Neighbors
	cat       *catalogue
	byID      map[string]int
	section   []int32 // item -> section number
	sections  []string
	finished  bool

	// The last query's embedding, so that changing the section or a filter
	// does not run the model again.
	lastKey [32]byte
	lastVec []float32
}

func newSession() *session { return &session{} }

// load takes one verified asset. The worker calls it in the order
// manifest, model, [projection], index, vectors, [neighbors], catalog.
func (s *session) load(kind string, data []byte) error {
	switch kind {
	case "manifest":
		m, err := parseManifest(data)
		if err != nil {
			return coded("corrupt", "%v", err)
		}
		s.man = m
	case "model":
		opt := embed.Options{}
		if s.man != nil {
			if p := firstNonEmpty(s.man.Embedding.Pooling, s.man.Model.Pooling); p != "" {
				opt.Pooling = embed.Pooling(p)
			}
		}
		e, err := embed.New(data, opt)
		if err != nil {
			return coded("corrupt", "%v", err)
		}
		s.emb = e
		if s.proj != nil {
			e.SetProjection(s.proj)
		}
	case "projection":
		p, err := project.Decode(data)
		if err != nil {
			return coded("corrupt", "%v", err)
		}
		s.proj = p
		if s.emb != nil {
			s.emb.SetProjection(p)
		}
	case "index":
		s.indexData = data // parsed once the dimension is known
	case "vectors":
		v, err := vecfile.ParseVectors(data)
		if err != nil {
			return coded("corrupt", "engine: vectors: %v", err)
		}
		s.vecs = v
	case "neighbors", "neighbours":
		nb, err := vecfile.ParseNeighbors(data)
		if err != nil {
			return coded("corrupt", "engine: neighbours: %v", err)
		}
		s.nbrs = nb
	case "catalog", "catalogue":
		c, err := parseCatalogue(data)
		if err != nil {
			return coded("corrupt", "%v", err)
		}
		s.cat = c
	default:
		return coded("internal", "engine: unknown asset kind %q", kind)
	}
	s.finished = false
	return nil
}

// finish checks that the assets agree with each other and builds lookups.
func (s *session) finish() error {
	if s.finished {
		return nil
	}
	if s.vecs == nil || s.cat == nil {
		return coded("corrupt", "engine: the catalogue needs its vectors and catalog files")
	}
	n := s.vecs.Len()
	if len(s.cat.Items) != n {
		return coded("corrupt", "engine: the catalog lists %d items, the vectors file %d", len(s.cat.Items), n)
	}
	if s.nbrs != nil && s.nbrs.Len() != n {
		return coded("corrupt", "engine: the neighbours file covers %d items, the catalogue %d", s.nbrs.Len(), n)
	}
	if s.indexData != nil && s.index == nil {
		ix, err := annoy.Load(s.indexData, s.vecs.Dim())
		if err != nil {
			return coded("corrupt", "engine: index: %v", err)
		}
		if ix.NumItems() != n {
			return coded("corrupt", "engine: the index holds %d items, the catalogue %d", ix.NumItems(), n)
		}
		s.index = ix
	}
	if s.emb != nil && s.emb.Projection() != nil {
		if d := s.emb.Projection().Out; d != s.vecs.Dim() {
			return coded("corrupt", "engine: the projection gives %d-d vectors, the catalogue has %d-d", d, s.vecs.Dim())
		}
	}
	s.byID = make(map[string]int, n)
	s.section = make([]int32, n)
	secNum := map[string]int32{}
	s.sections = s.sections[:0]
	for i, it := range s.cat.Items {
		if _, dup := s.byID[it.ID]; dup {
			return coded("corrupt", "engine: the catalog lists id %q twice", it.ID)
		}
		s.byID[it.ID] = i
		num, ok := secNum[it.Section]
		if !ok {
			num = int32(len(s.sections))
			secNum[it.Section] = num
			s.sections = append(s.sections, it.Section)
		}
		s.section[i] = num
	}
	s.finished = true
	return nil
}

func (s *session) ready() (*readyInfo, error) {
	if err := s.finish(); err != nil {
		return nil, err
	}
	info := &readyInfo{Items: len(s.cat.Items), Sections: map[string]int{}, Attributes: map[string]map[string]int{}, Dim: s.vecs.Dim(), Search: "exact"}
	if s.index != nil && !annoy.PreferExact(info.Items) {
		info.Search = "annoy"
	}
	// Counts come from the catalogue itself so they always match what the
	// filters can find; the manifest says which columns are filters.
	for _, it := range s.cat.Items {
		if it.Section != "" {
			info.Sections[it.Section]++
		}
	}
	var cols []string
	if s.man != nil {
		for c := range s.man.Attributes {
			cols = append(cols, c)
		}
	}
	if len(cols) == 0 {
		seen := map[string]bool{}
		for _, it := range s.cat.Items {
			for c := range it.Attrs {
				if !seen[c] {
					seen[c] = true
					cols = append(cols, c)
				}
			}
		}
	}
	sort.Strings(cols)
	for _, c := range cols {
		vals := map[string]int{}
		for _, it := range s.cat.Items {
			if v := it.Attrs[c]; v != "" {
				vals[v]++
			}
		}
		if len(vals) > 0 {
			info.Attributes[c] = vals
		}
	}
	return info, nil
}

// filter builds the item filter for a section and attribute values; nil
// when nothing is filtered.
func (s *session) filter(section string, filters map[string]string) (annoy.Filter, error) {
	sec := int32(-1)
	if section != "" {
		sec = -2
		for i, name := range s.sections {
			if name == section {
				sec = int32(i)
			}
		}
		if sec == -2 {
			return nil, coded("not-found", "engine: no section %q", section)
		}
	}
	type kv struct{ k, v string }
	var want []kv
	for k, v := range filters {
		if v != "" {
			want = append(want, kv{k, v})
		}
	}
	if sec < 0 && len(want) == 0 {
		return nil, nil
	}
	return func(i int) bool {
		if sec >= 0 && s.section[i] != sec {
			return false
		}
		for _, w := range want {
			if s.cat.Items[i].Attrs[w.k] != w.v {
				return false
			}
		}
		return true
	}, nil
}

// nearest searches the catalogue for q (unit length): an exact scan for
// small catalogues, otherwise the Annoy index with exact re-rank.
func (s *session) nearest(q []float32, k int, f annoy.Filter) ([]annoy.Result, error) {
	n := s.vecs.Len()
	if s.index == nil || annoy.PreferExact(n) {
		return annoy.BruteForce(s.vecs, n, q, k, f)
	}
	return s.index.Search(q, annoy.Options{K: k, Filter: f, Rerank: s.vecs})
}

func (s *session) search(img []byte, crop *rect, k int, section string, filters map[string]string) (*answer, error) {
	if err := s.finish(); err != nil {
		return nil, err
	}
	if s.emb == nil {
		return nil, coded("corrupt", "engine: no model loaded")
	}
	f, err := s.filter(section, filters)
	if err != nil {
		return nil, err
	}
	ms := map[string]float64{}
	key := queryKey(img, crop)
	q := s.lastVec
	if q == nil || key != s.lastKey {
		t0 := time.Now()
		var r *image.Rectangle
		if crop != nil {
			rr := image.Rect(crop.X, crop.Y, crop.X+crop.W, crop.Y+crop.H)
			r = &rr
		}
		pic, err := s.emb.Decode(img, r)
		if err != nil {
			return nil, err
		}
		t1 := time.Now()
		v, err := s.emb.Embed(pic)
		if err != nil {
			return nil, coded("internal", "engine: embedding: %v", err)
		}
		if len(v) != s.vecs.Dim() {
			return nil, coded("corrupt", "engine: the model gives %d-d vectors, the catalogue has %d-d", len(v), s.vecs.Dim())
		}
		ms["decode"] = millis(t1.Sub(t0))
		ms["embed"] = millis(time.Since(t1))
		s.lastKey, s.lastVec, q = key, v, v
	}
	t2 := time.Now()
	hits, err := s.nearest(q, k, f)
	if err != nil {
		return nil, coded("internal", "engine: search: %v", err)
	}
	ms["search"] = millis(time.Since(t2))
	query := map[string]any{"kind": "image"}
	if crop != nil {
		query["crop"] = map[string]int{"x": crop.X, "y": crop.Y, "w": crop.W, "h": crop.H}
	}
	return &answer{Query: query, Results: s.results(hits), MS: ms}, nil
}

// similar answers "more like this" without running the model: from the
// precomputed neighbour lists when they fit the request, otherwise by
// searching with the product's stored vector.
func (s *session) similar(id string, k int, section string, filters map[string]string) (*answer, error) {
	if err := s.finish(); err != nil {
		return nil, err
	}
	i, ok := s.byID[id]
	if !ok {
		return nil, coded("not-found", "engine: no product with id %q", id)
	}
	f, err := s.filter(section, filters)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	var hits []annoy.Result
	source := "vectors"
	if s.nbrs != nil {
		var list []vecfile.Neighbor
		switch {
		case section == "" && s.nbrs.HasGlobal():
			list = s.nbrs.Global(i)
		case section == "" || section == s.cat.Items[i].Section:
			// Section lists only hold the product's own section, which is
			// what "All" shows too when there are no global lists.
			list = s.nbrs.Section(i)
		}
		for _, nb := range list {
			it := int(nb.Item)
			if nb.Item == vecfile.NoItem || it == i || (f != nil && !f(it)) {
				continue
			}
			hits = append(hits, annoy.Result{Item: it, Score: nb.Score})
		}
		if len(hits) >= k {
			hits, source = hits[:k], "neighbors"
		} else {
			hits = nil
		}
	}
	if hits == nil {
		q := s.vecs.Vector(i, nil)
		project.Normalize(q)
		excludeSelf := func(it int) bool { return it != i && (f == nil || f(it)) }
		hits, err = s.nearest(q, k, excludeSelf)
		if err != nil {
			return nil, coded("internal", "engine: search: %v", err)
		}
	}
	self := s.results([]annoy.Result{{Item: i, Score: 1}})[0]
	q := map[string]any{"kind": "similar", "productId": id, "title": self.Title, "source": source}
	if self.Thumb != nil {
		q["thumb"] = self.Thumb
	}
	return &answer{Query: q, Results: s.results(hits), MS: map[string]float64{"search": millis(time.Since(t0))}}, nil
}

func (s *session) results(hits []annoy.Result) []result {
	out := make([]result, 0, len(hits))
	for _, h := range hits {
		it := &s.cat.Items[h.Item]
		r := result{ID: it.ID, Score: h.Score, Title: it.Title, URL: it.URL, Price: it.Price, Currency: it.Currency, Section: it.Section, Attrs: it.Attrs}
		if t := it.Thumb; t != nil {
			sh := s.cat.Thumbs.Sheets[t.Sheet]
			w, h := t.W, t.H
			if w == 0 {
				w = s.cat.Thumbs.CellW
			}
			if h == 0 {
				h = s.cat.Thumbs.CellH
			}
			r.Thumb = &thumbOut{URL: sh.File, X: t.X, Y: t.Y, W: w, H: h, SheetW: sh.W, SheetH: sh.H}
		}
		out = append(out, r)
	}
	return out
}

func queryKey(img []byte, crop *rect) [32]byte {
	h := sha256.New()
	h.Write(img)
	if crop != nil {
		fmt.Fprintf(h, "|%d,%d,%d,%d", crop.X, crop.Y, crop.W, crop.H)
	}
	var k [32]byte
	copy(k[:], h.Sum(nil))
	return k
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// parseCrop reads the page's crop JSON ({"x","y","w","h"}); "" = no crop.
func parseCrop(s string) (*rect, error) {
	if s == "" || s == "null" {
		return nil, nil
	}
	var c struct{ X, Y, W, H int }
	if err := json.NewDecoder(bytes.NewReader([]byte(s))).Decode(&c); err != nil {
		return nil, coded("bad-crop", "engine: crop: %v", err)
	}
	if c.W <= 0 || c.H <= 0 || c.X < 0 || c.Y < 0 {
		return nil, coded("bad-crop", "engine: crop %+v is empty or negative", c)
	}
	return &rect{c.X, c.Y, c.W, c.H}, nil
}

// parseFilters reads the page's filter JSON ({"column":"value"}).
func parseFilters(s string) (map[string]string, error) {
	if s == "" || s == "null" {
		return nil, nil
	}
	var f map[string]string
	if err := json.Unmarshal([]byte(s), &f); err != nil {
		return nil, coded("internal", "engine: filters: %v", err)
	}
	return f, nil
}
