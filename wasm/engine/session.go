package main

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/embed"
	"github.com/lookalike/lookalike/models/imageprep"
	"github.com/lookalike/lookalike/models/objectness"
	"github.com/lookalike/lookalike/models/project"
	"github.com/lookalike/lookalike/models/search"
	"github.com/lookalike/lookalike/models/vecfile"
)

// The engine's logic is models/search (shared with `builder query`); this
// file only adapts it to the page's protocol: error codes, result records,
// and a cache of the last photo's embedding.

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
	case errors.Is(err, vecfile.ErrFormat), errors.Is(err, catalog.ErrDisplay):
		return &codedError{"corrupt", err.Error()}
	}
	return &codedError{"internal", err.Error()}
}

// rect is a crop in upright image pixels.
type rect struct{ X, Y, W, H int }

// result is one product in an answer (the page's result record).
type result struct {
	ID     string  `json:"id"`
	Score  float32 `json:"score"`  // the ranking score: the blend when personal, else Visual
	Visual float32 `json:"visual"` // the cosine between the query and the product
	// Close is false for a photo search's result below the build's
	// relevance floor (the page ends its grid of close matches there).
	Close    *bool             `json:"close,omitempty"`
	Title    string            `json:"title,omitempty"`
	URL      string            `json:"url,omitempty"`
	Price    string            `json:"price,omitempty"`
	Currency string            `json:"currency,omitempty"`
	Section  string            `json:"section,omitempty"`
	Attrs    map[string]string `json:"attrs,omitempty"`
	Thumb    *thumbOut         `json:"thumb,omitempty"`
}

// thumbOut is a thumbnail: a whole file, or the tile x,y,w,h of a sprite
// sheet (the builder writes "sheet.jpg#xywh=x,y,w,h").
type thumbOut struct {
	URL string `json:"url"`
	X   *int   `json:"x,omitempty"`
	Y   *int   `json:"y,omitempty"`
	W   int    `json:"w,omitempty"`
	H   int    `json:"h,omitempty"`
}

type answer struct {
	Query   map[string]any     `json:"query"`
	Results []result           `json:"results"`
	MS      map[string]float64 `json:"ms"`
}

type readyInfo struct {
	Items      int                       `json:"items"`
	Sections   map[string]int            `json:"sections"`
	Attributes map[string]map[string]int `json:"attributes"`
	Dim        int                       `json:"dim"`
	MemoryMB   float64                   `json:"memoryMB"` // Go's memory after loading
}

// session holds one loaded catalogue. Not safe for concurrent use (the
// worker sends one request at a time).
type session struct {
	man       *catalog.Manifest
	files     map[string][]byte // kind -> verified bytes, until ready
	partsSeen map[string]int    // kind -> parts received so far
	from      map[string]int64  // kind -> file offset of the first part loaded
	pending   []byte            // manifest.json while it is copied in
	emb       *embed.Embedder   // built as soon as the model is complete
	eng       *search.Engine

	// The last photo's embedding, so that changing the section or a filter
	// does not run the model again.
	lastKey   [32]byte
	lastPhoto *embed.Photo
	lastHeads [][]float32

	// A photo run through the model by prepare, before the engine opened:
	// its vector is projected again when it is searched (the projection
	// may have arrived after it).
	prepKey   [32]byte
	prepPhoto *embed.Photo
	prepMs    map[string]float64
}

func newSession() *session {
	return &session{files: map[string][]byte{}, partsSeen: map[string]int{}, from: map[string]int64{}}
}

// load takes manifest.json, then each asset (already checked against the
// manifest's sha256 by the worker) by kind, whole.
func (s *session) load(kind string, data []byte) error {
	dst, err := s.part(kind, 0, 1, len(data))
	if err != nil {
		return err
	}
	copy(dst, data)
	return s.partDone(kind, 0, 1)
}

// part returns where the worker copies part i (of parts) of an asset, n
// bytes long. The parts of a split asset are appended into one buffer
// sized from the manifest, so the worker never joins them in JS and no
// part is held twice.
func (s *session) part(kind string, i, parts, n int) ([]byte, error) {
	if kind == "manifest" {
		if i != 0 || parts != 1 {
			return nil, coded("internal", "engine: manifest.json comes in one piece")
		}
		s.pending = make([]byte, n)
		return s.pending, nil
	}
	if s.man == nil {
		return nil, coded("internal", "engine: load the manifest first")
	}
	a, ok := s.man.Asset(kind)
	if !ok {
		return nil, coded("corrupt", "engine: the manifest lists no %q asset", kind)
	}
	if i < 0 || i >= parts || n < 0 {
		return nil, coded("internal", "engine: %s: part %d of %d", kind, i, parts)
	}
	b := s.files[kind]
	if i == 0 {
		// A fresh buffer: the size from the manifest when it is sane, so
		// appending the parts never reallocates.
		c := n
		if a.Size > int64(n) && a.Size <= maxAssetBytes {
			c = int(a.Size)
		}
		b = make([]byte, 0, c)
		delete(s.files, kind)
	} else if s.partsSeen[kind] != i {
		return nil, coded("internal", "engine: %s: part %d arrived after part %d", kind, i, s.partsSeen[kind]-1)
	}
	if len(b)+n > maxAssetBytes {
		return nil, coded("corrupt", "engine: %s is larger than %d bytes", a.File, maxAssetBytes)
	}
	if cap(b)-len(b) < n {
		b = append(b, make([]byte, n)...)[:len(b)]
	}
	s.files[kind] = b[:len(b)+n]
	s.partsSeen[kind] = i + 1
	if !late(kind) {
		s.eng = nil
	}
	return s.files[kind][len(b):], nil
}

// late reports whether an asset may arrive after the engine opened (the
// vector file does when there are codes: asset-plan.js LATER).
func late(kind string) bool {
	return kind == search.KindNeighbors || kind == search.KindCF || kind == search.KindVectors
}

// gcPercentLoading is GOGC while the model is decoded (see partDone).
const gcPercentLoading = 25

// maxAssetBytes bounds one asset in memory (the sum of its parts).
const maxAssetBytes = 1 << 30

// partDone is called after part i has been copied. When the model is
// complete it is decoded at once and its garbage collected, before the
// index and vectors arrive: Go's wasm memory never shrinks, so the page's
// peak is the largest live+garbage heap at any moment.
func (s *session) partDone(kind string, i, parts int) error {
	if kind == "manifest" {
		m, err := catalog.ReadManifest(s.pending)
		s.pending = nil
		if err != nil {
			return coded("corrupt", "%v", err)
		}
		s.man, s.eng, s.emb = m, nil, nil
		s.files, s.partsSeen, s.from = map[string][]byte{}, map[string]int{}, map[string]int64{}
		return nil
	}
	if i == parts-1 && late(kind) && s.eng != nil {
		// Loaded after the engine opened (the page fetches them after its
		// first search): attach without reopening.
		b := s.files[kind]
		delete(s.files, kind)
		if err := s.eng.Attach(kind, b); err != nil {
			return openError(err)
		}
		return nil
	}
	if i != parts-1 {
		return nil
	}
	switch kind {
	case search.KindModel:
		// Decoding allocates about twice what it keeps (the int8 weights
		// become float32): collect more often meanwhile, so the garbage
		// does not grow the heap. The projection, when it is not in yet, is
		// installed when it arrives: a photo can be run through the model
		// meanwhile (prepare).
		defer debug.SetGCPercent(debug.SetGCPercent(gcPercentLoading))
		emb, err := search.OpenModel(s.man, s.loader, search.Options{})
		if err != nil {
			return openError(err)
		}
		s.emb = emb
		delete(s.files, search.KindModel)
		delete(s.files, search.KindObjectness) // installed by OpenModel when it was in
		if emb.Projection() != nil {
			delete(s.files, search.KindProjection)
		}
		runtime.GC()
	case search.KindObjectness:
		// It comes before the model (asset-plan.js STAGES); should it come
		// after, a photo prepared meanwhile was localised without it.
		if s.emb != nil && s.emb.Objectness() == nil {
			o, err := objectness.Parse(s.files[search.KindObjectness])
			if err != nil {
				return openError(err)
			}
			s.emb.SetObjectness(o)
			delete(s.files, search.KindObjectness)
			s.prepPhoto, s.prepMs = nil, nil
		}
	case search.KindProjection:
		if s.emb != nil && s.emb.Projection() == nil {
			p, err := project.Decode(s.files[search.KindProjection])
			if err != nil {
				return openError(err)
			}
			s.emb.SetProjection(p)
			delete(s.files, search.KindProjection)
		}
	}
	return nil
}

// attachStored attaches the vector file the page keeps on disk (too big
// for memory; engine-worker.js stores it in the origin-private file
// system): header is its first bytes, r reads its records. From then on
// every search re-scores the codes' shortlist from it.
func (s *session) attachStored(header []byte, r vecfile.RecordReader) error {
	if s.eng == nil {
		return coded("internal", "engine: the stored vector file is attached after ready")
	}
	if err := s.eng.AttachStored(header, r); err != nil {
		return openError(err)
	}
	return nil
}

// loader hands search.Open the loaded bytes of an asset.
func (s *session) loader(a catalog.Asset) ([]byte, error) {
	b, ok := s.files[a.Kind]
	if !ok {
		return nil, fmt.Errorf("engine: %s: %w", a.File, search.ErrNotLoaded)
	}
	return b, nil
}

// openError maps an error from opening the assets to the protocol: what is
// not a decoding error of a photo means a damaged catalogue file.
func openError(err error) error {
	c := codeOf(err)
	if c.Code == "internal" {
		c.Code = "corrupt"
	}
	return c
}

// ready opens the engine over the loaded assets.
func (s *session) ready() (*readyInfo, error) {
	if s.eng == nil {
		if s.man == nil {
			return nil, coded("internal", "engine: no manifest loaded")
		}
		_, hasModel := s.files[search.KindModel]
		if _, proj := s.man.Asset(search.KindProjection); proj && s.emb != nil && s.emb.Projection() == nil {
			return nil, coded("internal", "engine: the projection was not loaded")
		}
		if _, obj := s.man.Asset(search.KindObjectness); obj && s.emb != nil && s.emb.Objectness() == nil {
			return nil, coded("internal", "engine: the objectness was not loaded")
		}
		e, err := search.Open(s.man, s.loader, search.Options{SkipModel: !hasModel, Embedder: s.emb, IndexFrom: s.from[search.KindIndex]})
		if err != nil {
			return nil, openError(err)
		}
		s.eng = e
		s.files = map[string][]byte{} // the engine keeps what it uses
		runtime.GC()
	}
	return &readyInfo{
		Items:      s.eng.Display.Len(),
		Sections:   s.man.Sections,
		Attributes: s.man.Attributes,
		Dim:        s.man.Model.Embedding.Dim,
		MemoryMB:   memoryMB(),
	}, nil
}

// memoryMB is the memory the Go runtime has mapped, in MB: in js/wasm the
// size its linear memory has grown to (which never shrinks).
func memoryMB() float64 {
	m := []metrics.Sample{{Name: "/memory/classes/total:bytes"}}
	metrics.Read(m)
	return math.Round(float64(m[0].Value.Uint64())/(1<<20)*10) / 10
}

func (s *session) query(k int, section string, filters map[string]string, p *search.Personal) (search.Query, error) {
	if section != "" {
		if _, ok := s.man.Sections[section]; !ok {
			return search.Query{}, coded("not-found", "engine: no section %q", section)
		}
	}
	for col := range filters {
		if _, ok := s.man.Attributes[col]; !ok {
			return search.Query{}, coded("not-found", "engine: no filter column %q", col)
		}
	}
	return search.Query{K: max(1, min(k, search.MaxK)), Section: section, Filters: filters, Personal: p}, nil
}

// prepare runs a photo through the model as soon as the model is in,
// while the rest of the catalogue is still arriving, so that the search
// that follows (search with the same bytes and crop) only projects and
// scans. Before the model, or on any failure, it does nothing: the search
// then embeds (and reports a bad photo) as usual.
func (s *session) prepare(img []byte, crop *rect) {
	if s.emb == nil || s.eng != nil {
		return
	}
	key := queryKey(img, crop)
	if s.prepPhoto != nil && key == s.prepKey {
		return
	}
	ph, ms, err := embedPhoto(s.emb, img, crop)
	if err != nil {
		return
	}
	s.prepKey, s.prepPhoto, s.prepMs = key, ph, ms
}

// embedPhoto decodes a photo and embeds it, timing both ("decode",
// "embed"): a photo the shopper cropped is searched as cropped; otherwise
// the engine finds the product in it first.
func embedPhoto(emb *embed.Embedder, img []byte, crop *rect) (*embed.Photo, map[string]float64, error) {
	t0 := time.Now()
	var r *image.Rectangle
	if crop != nil {
		rr := image.Rect(crop.X, crop.Y, crop.X+crop.W, crop.Y+crop.H)
		r = &rr
	}
	pic, err := emb.Decode(img, r)
	if err != nil {
		return nil, nil, err
	}
	t1 := time.Now()
	ph, err := emb.EmbedPhoto(pic, crop == nil)
	if err != nil {
		return nil, nil, coded("internal", "engine: embedding: %v", err)
	}
	return ph, map[string]float64{"decode": millis(t1.Sub(t0)), "embed": millis(time.Since(t1))}, nil
}

// search embeds a photo (or reuses the last photo's embedding) and
// searches; p (nil = none) re-ranks towards the shopper's history. The
// answer's query carries the embedding as "vector" so the page can keep
// it, on the device, as a photo search of the shopper's history.
func (s *session) search(img []byte, crop *rect, k int, section string, filters map[string]string, p *search.Personal) (*answer, error) {
	if _, err := s.ready(); err != nil {
		return nil, err
	}
	q, err := s.query(k, section, filters, p)
	if err != nil {
		return nil, err
	}
	ms := map[string]float64{}
	key := queryKey(img, crop)
	ph := s.lastPhoto
	if pp := s.prepPhoto; pp != nil && key == s.prepKey && (ph == nil || key != s.lastKey) {
		// Run through the model while the rest was loading (prepare).
		pp.Vector = s.eng.Embedder.Project(pp.Features)
		ph, ms = pp, s.prepMs
		s.lastKey, s.lastPhoto, s.lastHeads = key, ph, s.eng.Predict(ph)
	}
	s.prepPhoto, s.prepMs = nil, nil
	if ph == nil || key != s.lastKey {
		emb := s.eng.Embedder
		if emb == nil {
			return nil, coded("corrupt", "engine: no model loaded")
		}
		if ph, ms, err = embedPhoto(emb, img, crop); err != nil {
			return nil, err
		}
		s.lastKey, s.lastPhoto, s.lastHeads = key, ph, s.eng.Predict(ph)
	}
	q.Heads = s.lastHeads
	t2 := time.Now()
	hits, err := s.eng.SearchVector(ph.Vector, q)
	if err != nil {
		return nil, coded("internal", "%v", err)
	}
	ms["search"] = millis(time.Since(t2))
	query := map[string]any{"kind": "image", "vector": ph.Vector}
	if crop != nil {
		query["crop"] = map[string]int{"x": crop.X, "y": crop.Y, "w": crop.W, "h": crop.H}
	}
	// The box the engine searched (auto: found in the photo) or would
	// propose, for the page's crop box; and what the heads saw.
	if b := ph.Proposed; !b.Empty() && crop == nil {
		query["box"] = map[string]any{"x": b.Min.X, "y": b.Min.Y, "w": b.Dx(), "h": b.Dy(), "auto": ph.Auto}
	}
	if pr := s.predicted(s.lastHeads); pr != nil {
		query["predicted"] = pr
	}
	res := s.results(hits)
	if floor, ok := s.eng.Floor(); ok {
		for i, h := range hits {
			c := h.Base >= floor
			res[i].Close = &c
		}
		query["floor"] = floor
	}
	return &answer{Query: query, Results: res, MS: ms}, nil
}

// predicted is each head's likeliest label and its probability.
func (s *session) predicted(hp [][]float32) map[string]any {
	if hp == nil || s.eng.Heads == nil {
		return nil
	}
	out := map[string]any{}
	for h, probs := range hp {
		best := 0
		for c := range probs {
			if probs[c] > probs[best] {
				best = c
			}
		}
		hd := s.eng.Heads.Heads[h]
		out[hd.Column] = map[string]any{"label": hd.Classes[best], "p": math.Round(float64(probs[best])*1000) / 1000}
	}
	return out
}

// productVector is a product's stored vector at unit length (the page
// keeps it with a heart, so the embed's carousel can use the like without
// downloading the vector file); Go ranks with its own copy.
func (s *session) productVector(id string) (map[string]any, error) {
	if _, err := s.ready(); err != nil {
		return nil, err
	}
	i, ok := s.eng.Display.IndexOf(id)
	if !ok {
		return nil, coded("not-found", "engine: no product with id %q", id)
	}
	v := s.eng.ItemVector(i, nil)
	project.Normalize(v)
	return map[string]any{"id": id, "vector": v}, nil
}

// similar answers "more like this" without running the model; p as for
// search.
func (s *session) similar(id string, k int, section string, filters map[string]string, p *search.Personal) (*answer, error) {
	if _, err := s.ready(); err != nil {
		return nil, err
	}
	i, ok := s.eng.Display.IndexOf(id)
	if !ok {
		return nil, coded("not-found", "engine: no product with id %q", id)
	}
	q, err := s.query(k, section, filters, p)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	hits, err := s.eng.SimilarIndex(i, q)
	if err != nil {
		return nil, coded("internal", "%v", err)
	}
	self := s.results([]search.Hit{{Index: i, ID: id, Score: 1, Visual: 1}})[0]
	query := map[string]any{"kind": "similar", "productId": id, "title": self.Title}
	if self.Thumb != nil {
		query["thumb"] = self.Thumb
	}
	return &answer{Query: query, Results: s.results(hits), MS: map[string]float64{"search": millis(time.Since(t0))}}, nil
}

func (s *session) results(hits []search.Hit) []result {
	out := make([]result, 0, len(hits))
	for _, h := range hits {
		it := s.eng.Display.Item(h.Index)
		out = append(out, result{ID: it.ID, Score: h.Score, Visual: h.Visual, Title: it.Title, URL: it.URL, Price: it.Price,
			Currency: it.Currency, Section: it.Section, Attrs: it.Attrs, Thumb: parseThumb(it.Thumb)})
	}
	return out
}

// parseThumb reads a thumbnail reference (catalog.ParseThumb); nil when
// empty.
func parseThumb(s string) *thumbOut {
	if s == "" {
		return nil
	}
	t := catalog.ParseThumb(s)
	if !t.Tile {
		return &thumbOut{URL: t.File}
	}
	return &thumbOut{URL: t.File, X: &t.X, Y: &t.Y, W: t.W, H: t.H}
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

// parseCrop reads the page's crop JSON ({"x","y","w","h"}); "" = no crop.
func parseCrop(s string) (*rect, error) {
	if s == "" || s == "null" {
		return nil, nil
	}
	var c struct{ X, Y, W, H int }
	if err := json.Unmarshal([]byte(s), &c); err != nil {
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

// Bounds on the shopper's history in one request (the page keeps the
// newest search.MaxSignals of each kind; a longer list is cut, newest
// first).
const (
	maxPersonalSignals = search.MaxSignals
	maxPersonalBytes   = 8 << 20
)

// parsePersonal reads the page's personal JSON (search.Personal: likes,
// views, searches, w_cf, w_personal); "" or "null" = none. Lists longer
// than maxPersonalSignals keep their first (newest) entries. Malformed
// JSON (JSON has no NaN or Inf; a number out of float32 range is refused
// by the decoder) or a negative weight is a "bad-personal" error. Unknown
// products and vectors of another dimension are skipped by the search.
func parsePersonal(s string) (*search.Personal, error) {
	if s == "" || s == "null" {
		return nil, nil
	}
	if len(s) > maxPersonalBytes {
		return nil, coded("bad-personal", "engine: personal history is %d bytes, more than %d", len(s), maxPersonalBytes)
	}
	var p search.Personal
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return nil, coded("bad-personal", "engine: personal history: %v", err)
	}
	p.Likes = p.Likes[:min(len(p.Likes), maxPersonalSignals)]
	p.Views = p.Views[:min(len(p.Views), maxPersonalSignals)]
	p.Searches = p.Searches[:min(len(p.Searches), maxPersonalSignals)]
	for _, w := range []struct {
		name string
		v    *float32
	}{{"w_cf", p.WCF}, {"w_personal", p.WPersonal}} {
		if w.v != nil && !(*w.v >= 0) {
			return nil, coded("bad-personal", "engine: personal %s = %v, want a weight ≥ 0", w.name, *w.v)
		}
	}
	return &p, nil
}
