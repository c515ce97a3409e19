package search

import (
	"errors"
	"fmt"
	"image"
	"sort"
	"time"

	"github.com/lookalike/lookalike/models/annoy"
	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/cf"
	"github.com/lookalike/lookalike/models/embed"
	"github.com/lookalike/lookalike/models/engine"
	"github.com/lookalike/lookalike/models/heads"
	"github.com/lookalike/lookalike/models/imageprep"
	"github.com/lookalike/lookalike/models/objectness"
	"github.com/lookalike/lookalike/models/pq"
	"github.com/lookalike/lookalike/models/project"
	"github.com/lookalike/lookalike/models/vecfile"
)

// Asset kinds the builder writes and Open reads.
const (
	KindModel      = "model"
	KindProjection = "projection"
	KindIndex      = "index"
	KindVectors    = "vectors"
	KindNeighbors  = "neighbors"
	KindCatalog    = "catalog"
	KindThumbs     = "thumbs"
	KindCF         = "cf"
	KindCodes      = "codes" // product-quantisation codes (models/pq): the page's index
	KindHeads      = "heads" // learned type/colour heads (models/heads)
	// KindObjectness is the learned product finder (models/objectness):
	// tiny, and needed before a photo runs through the model, so the page
	// fetches it with the model.
	KindObjectness = "objectness"
)

// Options control Open.
type Options struct {
	// SkipModel opens without the model: Similar works, SearchImage does not
	// (the embed widget's carousel needs no model download).
	SkipModel bool
	// IndexFrom > 0 says the loader returns the index file from this byte
	// offset on, skipping (some of) its item nodes, at most up to
	// annoy.ItemsSize: the browser does not download the 12 + 4·dim bytes
	// per item that duplicate the vector file. Needs a vector file.
	IndexFrom int64
	// Embedder, when set, is used instead of loading the model (see
	// OpenModel).
	Embedder *embed.Embedder
	// Decode limits for shopper photos (pixel budget).
	Decode imageprep.Options
	// FirstSearch opens as the page is at its first search: with codes,
	// the vector file is left out (the page fetches it after its first
	// results), so searches rank by the codes alone.
	FirstSearch bool
}

// Engine holds the loaded assets.
type Engine struct {
	Manifest  *catalog.Manifest
	Display   *catalog.Display
	Index     *annoy.Index
	Vectors   *vecfile.Vectors
	Neighbors *vecfile.Neighbors
	Embedder  *embed.Embedder
	// CF is the site-wide collaborative neighbours asset (nil without one:
	// the blend's CF term is then 0).
	CF *cf.Table
	// Codes, when loaded, are scanned for every search (the page loads
	// them instead of the index and the vectors).
	Codes *pq.Codes
	// Stored, when attached (AttachStored) and Vectors is not, is the
	// vector file read from disk: the codes' best StoredPool are re-scored
	// from it (the page's copy in the browser's private file system at a
	// million products, where the file is too big for memory).
	Stored *vecfile.Stored
	// Heads, when loaded, add type and colour agreement to the score.
	Heads *heads.Set
	// Signals weigh likes, views and searches in the blend (zero value =
	// DefaultSignals).
	Signals   SignalWeights
	sectionOf []int
}

// ErrNotLoaded is what a Loader returns for an optional asset it chose not
// to fetch (the page skips the index and the vectors when it has codes,
// and loads the neighbours later): Open goes on without it.
var ErrNotLoaded = errors.New("search: asset not loaded")

// Loader returns an asset's bytes (joined parts, integrity already checked
// or to be checked by the caller).
type Loader func(a catalog.Asset) ([]byte, error)

// Open loads the assets the manifest lists. Order: catalogue metadata,
// index, vectors, neighbours, then the model (largest) unless skipped.
func Open(m *catalog.Manifest, load Loader, opt Options) (*Engine, error) {
	e := &Engine{Manifest: m}
	get := func(kind string, required bool) ([]byte, error) { return getAsset(m, load, kind, required) }
	b, err := get(KindCatalog, true)
	if err != nil {
		return nil, err
	}
	if e.Display, err = catalog.ParseDisplay(b); err != nil {
		return nil, err
	}
	n := e.Display.Len()
	e.sectionOf = make([]int, n)
	for i := range e.sectionOf {
		e.sectionOf[i] = e.Display.SectionIndex(i)
	}
	dim := m.Model.Embedding.Dim
	_, hasCodes := m.Asset(KindCodes)
	if !opt.FirstSearch || !hasCodes {
		if b, err = get(KindVectors, false); err != nil {
			return nil, err
		} else if b != nil {
			if e.Vectors, err = parseVectors(b, n, dim); err != nil {
				return nil, err
			}
		}
	}
	if b, err = get(KindCodes, false); err != nil {
		return nil, err
	} else if b != nil {
		if e.Codes, err = openCodes(b, n, dim); err != nil {
			return nil, err
		}
	}
	if b, err = get(KindHeads, false); err != nil {
		return nil, err
	} else if b != nil {
		if e.Heads, err = heads.Parse(b, n); err != nil {
			return nil, err
		}
		if e.Heads.In < dim {
			return nil, fmt.Errorf("search: heads take %d inputs, fewer than the %d-d embedding", e.Heads.In, dim)
		}
	}
	if b, err = get(KindIndex, e.Codes == nil); err != nil {
		return nil, err
	} else if b != nil {
		if e.Index, err = loadIndex(b, n, dim, e.Vectors, opt.IndexFrom); err != nil {
			return nil, err
		}
	}
	if b, err = get(KindNeighbors, false); err != nil {
		return nil, err
	} else if b != nil {
		if e.Neighbors, err = vecfile.ParseNeighbors(b); err != nil {
			return nil, err
		}
	}
	if b, err = get(KindCF, false); err != nil {
		return nil, err
	} else if b != nil {
		if e.CF, err = cf.ParseTable(b); err != nil {
			return nil, err
		}
		if e.CF.Len() != n {
			return nil, fmt.Errorf("search: CF neighbours have %d items, catalogue %d: assets from different builds", e.CF.Len(), n)
		}
	}
	if e.Index != nil && e.Index.NumItems() != n {
		return nil, fmt.Errorf("search: index has %d items, catalogue %d: assets from different builds", e.Index.NumItems(), n)
	}
	switch {
	case opt.Embedder != nil:
		e.Embedder = opt.Embedder
	case !opt.SkipModel:
		if e.Embedder, err = OpenModel(m, load, opt); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// getAsset loads the manifest's asset of a kind; nil when an optional one
// is absent.
func getAsset(m *catalog.Manifest, load Loader, kind string, required bool) ([]byte, error) {
	a, ok := m.Asset(kind)
	if !ok {
		if required {
			return nil, fmt.Errorf("search: the manifest lists no %q asset", kind)
		}
		return nil, nil
	}
	b, err := load(a)
	if errors.Is(err, ErrNotLoaded) && !required {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("search: loading %s: %w", a.File, err)
	}
	return b, nil
}

// loadIndex reads the Annoy index: the whole file, or (from > 0) the bytes
// from offset `from` on, of which only the split nodes are used and the
// item vectors come from the vector file.
func loadIndex(b []byte, n, dim int, vecs *vecfile.Vectors, from int64) (*annoy.Index, error) {
	if from <= 0 {
		return annoy.Load(b, dim)
	}
	if vecs == nil {
		return nil, errors.New("search: the index was loaded without its item nodes, but there is no vector file to score with")
	}
	// vecs fits the catalogue: Open read it with parseVectors.
	items := annoy.ItemsSize(n, dim)
	if from > items || items-from > int64(len(b)) {
		return nil, fmt.Errorf("search: index bytes from offset %d do not reach the split nodes at %d", from, items)
	}
	return annoy.LoadSplits(b[items-from:], n, dim)
}

// OpenModel builds the embedder from the manifest's model and projection
// assets. The browser engine calls it as soon as the model has arrived, so
// the model's decoding garbage is collected before the index and the
// vectors take their memory (Go's wasm memory never shrinks: the peak is
// what counts), then hands the result to Open with Options.Embedder.
func OpenModel(m *catalog.Manifest, load Loader, opt Options) (*embed.Embedder, error) {
	get := func(kind string, required bool) ([]byte, error) { return getAsset(m, load, kind, required) }
	b, err := get(KindModel, true)
	if err != nil {
		return nil, err
	}
	pooling := embed.Pooling(m.Model.Embedding.Pooling)
	eo := embed.Options{Pooling: pooling, Decode: opt.Decode, Activations: engine.FP32}
	if m.Model.Activations != "" {
		p, err := engine.ParsePrecision(m.Model.Activations)
		if err != nil {
			return nil, fmt.Errorf("search: manifest: %w", err)
		}
		eo.Activations = p
	}
	if len(m.Model.Preprocessing) > 0 {
		spec, err := imageprep.ParseSpec(string(m.Model.Preprocessing))
		if err != nil {
			return nil, fmt.Errorf("search: manifest preprocessing: %w", err)
		}
		eo.Spec = &spec
	}
	emb, err := embed.New(b, eo)
	if err != nil {
		return nil, err
	}
	if ob, err := get(KindObjectness, false); err != nil {
		return nil, err
	} else if ob != nil {
		o, err := objectness.Parse(ob)
		if err != nil {
			return nil, err
		}
		emb.SetObjectness(o)
	}
	if pb, err := get(KindProjection, false); err != nil {
		return nil, err
	} else if pb != nil {
		p, err := project.Decode(pb)
		if err != nil {
			return nil, err
		}
		emb.SetProjection(p)
	}
	return emb, nil
}

// Query says what to return.
type Query struct {
	K       int
	Section string            // "" = all sections
	Filters map[string]string // attribute column → value
	// SearchK is the tree search's candidate budget (0 = default).
	SearchK int
	// Exact forces the exhaustive scan.
	Exact bool
	// Personal re-ranks towards the shopper's own history (blend.go);
	// nil or empty = visual order.
	Personal *Personal
	// Heads are the query photo's class probabilities (Engine.Predict):
	// with codes or an exact scan each product gains
	// weight·p(its label) per head. nil: visual only.
	Heads [][]float32
}

// MaxK bounds Query.K.
const MaxK = 1000

// Hit is one result.
type Hit struct {
	Index int
	ID    string
	Score float32 // the blended score when a blend applied, else Visual
	// Visual is the cosine between the query and the item.
	Visual float32
	// Base is the score before the personal blend: Visual plus the heads'
	// agreement. Compare it with Engine.Floor.
	Base float32
}

// Floor is the manifest's relevance floor, if the build has one: a photo
// search's result whose Base is below it is not a close match.
func (e *Engine) Floor() (float32, bool) {
	if e.Manifest.Floor == nil {
		return 0, false
	}
	return *e.Manifest.Floor, true
}

// Timings of one image search, in milliseconds.
type Timings struct {
	Decode, Embed, Search float64
}

// ErrNoModel is returned by SearchImage when the engine was opened without
// the model.
var ErrNoModel = errors.New("search: no model loaded")

// filter combines the query's section and attribute filters.
// exclude (≥ 0) drops one item: the product itself for "more like this".
func (e *Engine) filter(q Query, exclude int) (annoy.Filter, int, error) {
	var fs []func(int) bool
	allowed := e.Display.Len()
	if q.Section != "" {
		if _, ok := e.Manifest.Sections[q.Section]; !ok {
			return nil, 0, fmt.Errorf("search: unknown section %q", q.Section)
		}
		fs = append(fs, e.Display.SectionFilter(q.Section))
		allowed = e.Manifest.Sections[q.Section]
	}
	keys := make([]string, 0, len(q.Filters))
	for k := range q.Filters {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, col := range keys {
		v := q.Filters[col]
		if v == "" {
			continue
		}
		counts, ok := e.Manifest.Attributes[col]
		if !ok {
			return nil, 0, fmt.Errorf("search: unknown filter column %q", col)
		}
		fs = append(fs, e.Display.AttributeFilter(col, v))
		allowed = min(allowed, counts[v])
	}
	if exclude >= 0 {
		fs = append(fs, func(i int) bool { return i != exclude })
	}
	switch len(fs) {
	case 0:
		return nil, allowed, nil
	case 1:
		return fs[0], allowed, nil
	}
	return func(i int) bool {
		for _, f := range fs {
			if !f(i) {
				return false
			}
		}
		return true
	}, allowed, nil
}

// SearchVector finds the items most similar to a unit-length embedding.
func (e *Engine) SearchVector(v []float32, q Query) ([]Hit, error) {
	return e.searchVector(v, q, -1)
}

func (e *Engine) searchVector(v []float32, q Query, exclude int) ([]Hit, error) {
	if q.K <= 0 || q.K > MaxK {
		return nil, fmt.Errorf("search: k %d out of range 1..%d", q.K, MaxK)
	}
	bc, err := e.personalize(q.Personal, exclude)
	if err != nil {
		return nil, err
	}
	return e.searchBlended(v, q, exclude, bc)
}

// searchBlended searches; with a blend, a larger visual pool (same
// filters) is re-ranked.
func (e *Engine) searchBlended(v []float32, q Query, exclude int, bc *blendCtx) ([]Hit, error) {
	f, allowed, err := e.filter(q, exclude)
	if err != nil {
		return nil, err
	}
	if allowed == 0 {
		return []Hit{}, nil
	}
	if e.Codes != nil || e.Index == nil || (len(q.Heads) > 0 && e.Heads != nil) {
		k := q.K
		if bc != nil {
			k = poolSize(q.K)
		}
		hits := e.scan(v, q.Heads, k, f)
		if bc != nil {
			return bc.rerank(e, hits, q.K), nil
		}
		return hits, nil
	}
	opt := annoy.Options{K: q.K, SearchK: q.SearchK, Filter: f}
	if e.Index.SplitsOnly() {
		opt.Rerank = e.Vectors
	}
	if bc != nil {
		// The pool comes from the budget the visual query would have had
		// (≥ 100·K candidates), so a blend costs no extra tree search.
		if opt.SearchK <= 0 {
			opt.SearchK = annoy.DefaultSearchK(q.K, e.Index.NumTrees(), e.Index.NumItems())
		}
		opt.K = poolSize(q.K)
	}
	var res []annoy.Result
	if q.Exact || annoy.PreferExact(allowed) {
		res, err = e.Index.Exact(v, opt)
	} else {
		res, err = e.Index.Search(v, opt)
	}
	if err != nil {
		return nil, err
	}
	if bc != nil {
		return bc.rerank(e, e.hits(res), q.K), nil
	}
	return e.hits(res), nil
}

func (e *Engine) hits(res []annoy.Result) []Hit {
	out := make([]Hit, len(res))
	for i, r := range res {
		out[i] = Hit{Index: r.Item, ID: e.Display.Item(r.Item).ID, Score: r.Score, Visual: r.Score, Base: r.Score}
	}
	return out
}

// SearchImage embeds a photo (optionally cropped, in upright pixels) and
// searches: the browser's pipeline (SearchPhoto).
func (e *Engine) SearchImage(data []byte, crop *image.Rectangle, q Query) ([]Hit, Timings, error) {
	hits, _, t, err := e.SearchPhotoBytes(data, crop, q)
	return hits, t, err
}

// SearchPhotoBytes is SearchImage that also returns the embedded photo
// (its vector, colour, and the box localisation found).
func (e *Engine) SearchPhotoBytes(data []byte, crop *image.Rectangle, q Query) ([]Hit, *embed.Photo, Timings, error) {
	var t Timings
	if e.Embedder == nil {
		return nil, nil, t, ErrNoModel
	}
	t0 := time.Now()
	img, err := e.Embedder.Decode(data, crop)
	if err != nil {
		return nil, nil, t, err
	}
	t1 := time.Now()
	p, err := e.EmbedPhoto(img, crop == nil)
	if err != nil {
		return nil, nil, t, err
	}
	t2 := time.Now()
	if q.Heads == nil {
		q.Heads = e.Predict(p)
	}
	hits, err := e.SearchVector(p.Vector, q)
	t3 := time.Now()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	t = Timings{Decode: ms(t1.Sub(t0)), Embed: ms(t2.Sub(t1)), Search: ms(t3.Sub(t2))}
	return hits, p, t, err
}

// EmbedPhoto embeds a decoded photo for search; with localise the
// product is found in it first (embed.Embedder.EmbedPhoto). A photo the
// shopper cropped is searched as given.
func (e *Engine) EmbedPhoto(img image.Image, localise bool) (*embed.Photo, error) {
	if e.Embedder == nil {
		return nil, ErrNoModel
	}
	return e.Embedder.EmbedPhoto(img, localise)
}

// Similar returns the items most like catalogue item id ("more like this"),
// without inference. Without attribute filters or a personal blend, and
// with k within the stored K, it follows the precomputed lists' rule
// (vecfile.ChooseSimilar, the same for the edge API and the embed): the
// answer starts with the listed neighbours, and a cross-section answer
// short of k continues with the section's best by exact cosine. Otherwise
// it is an exact search with the item's stored vector.
func (e *Engine) Similar(id string, q Query) ([]Hit, error) {
	i, ok := e.Display.IndexOf(id)
	if !ok {
		return nil, fmt.Errorf("search: unknown product id %q", id)
	}
	return e.SimilarIndex(i, q)
}

// SimilarIndex is Similar by item index.
func (e *Engine) SimilarIndex(i int, q Query) ([]Hit, error) {
	if i < 0 || i >= e.Display.Len() {
		return nil, fmt.Errorf("search: item %d out of range", i)
	}
	if q.K <= 0 || q.K > MaxK {
		return nil, fmt.Errorf("search: k %d out of range 1..%d", q.K, MaxK)
	}
	bc, err := e.personalize(q.Personal, i)
	if err != nil {
		return nil, err
	}
	own := e.Display.Item(i).Section
	noFilters := true
	for _, v := range q.Filters {
		if v != "" {
			noFilters = false
		}
	}
	q.Exact = true
	if bc != nil || e.Neighbors == nil || !noFilters || q.K > e.Neighbors.Header().K {
		return e.searchBlended(e.ItemVector(i, nil), q, i, bc)
	}
	c := vecfile.ChooseSimilar(e.Neighbors.Header().Lists, own, q.Section)
	listed, err := c.Take(e.Neighbors.List(c, i), i, q.K, func(j int) (string, error) { return e.Display.Item(j).Section, nil })
	if err != nil {
		return nil, err
	}
	out := make([]Hit, 0, q.K)
	in := make(map[int]bool, len(listed))
	for _, nb := range listed {
		out = append(out, Hit{Index: int(nb.Item), ID: e.Display.Item(int(nb.Item)).ID, Score: nb.Score, Visual: nb.Score, Base: nb.Score})
		in[int(nb.Item)] = true
	}
	if len(out) == q.K || !c.CanBeShort() {
		return out, nil
	}
	// Short of k in another section: the rest by exact cosine. The best k
	// of the section hold at least k − len(listed) unlisted ones.
	rest, err := e.searchBlended(e.ItemVector(i, nil), q, i, nil)
	if err != nil {
		return nil, err
	}
	for _, h := range rest {
		if len(out) == q.K {
			break
		}
		if !in[h.Index] {
			out = append(out, h)
		}
	}
	return out, nil
}

// parseVectors reads the vector file and checks it fits the catalogue.
func parseVectors(b []byte, n, dim int) (*vecfile.Vectors, error) {
	v, err := vecfile.ParseVectors(b)
	if err != nil {
		return nil, err
	}
	if err := vectorsFit(v.Header(), n, dim); err != nil {
		return nil, err
	}
	return v, nil
}

// vectorsFit checks a vector file's header against the catalogue: n items
// of dimension dim.
func vectorsFit(h vecfile.VectorsHeader, n, dim int) error {
	if h.Count != n || h.Dim != dim {
		return fmt.Errorf("search: vector file has %d×%d, catalogue %d×%d: assets from different builds", h.Count, h.Dim, n, dim)
	}
	return nil
}

// AttachStored attaches the vector file kept out of memory: header is its
// first vecfile.HeaderSize bytes (or more), r reads its records. From then
// on the codes' best StoredPool are re-scored exactly from it, unless the
// vector file itself is in memory. Not safe for concurrent use with
// searches.
func (e *Engine) AttachStored(header []byte, r vecfile.RecordReader) error {
	if e.Codes == nil {
		return errors.New("search: a stored vector file is attached only to an engine with codes")
	}
	st, err := vecfile.OpenStored(header, r)
	if err != nil {
		return err
	}
	if err := vectorsFit(st.Header(), e.Display.Len(), e.Manifest.Model.Embedding.Dim); err != nil {
		return err
	}
	e.Stored = st
	return nil
}

// Attach adds an optional asset that the engine can do without at first
// (the neighbours, the CF table, and with codes the vector file) to an
// open engine: the page loads them after its first search. Not safe for
// concurrent use with searches.
func (e *Engine) Attach(kind string, b []byte) error {
	n := e.Display.Len()
	switch kind {
	case KindNeighbors:
		nb, err := vecfile.ParseNeighbors(b)
		if err != nil {
			return err
		}
		if nb.Header().Count != n {
			return fmt.Errorf("search: neighbours for %d items, catalogue %d: assets from different builds", nb.Header().Count, n)
		}
		e.Neighbors = nb
	case KindVectors:
		// The page's vector file, fetched after its first results: from
		// then on the codes' shortlist is re-scored exactly (scan).
		if e.Codes == nil {
			return errors.New("search: the vector file is attached later only to an engine with codes")
		}
		v, err := parseVectors(b, n, e.Manifest.Model.Embedding.Dim)
		if err != nil {
			return err
		}
		e.Vectors = v
	case KindCF:
		t, err := cf.ParseTable(b)
		if err != nil {
			return err
		}
		if t.Len() != n {
			return fmt.Errorf("search: CF neighbours have %d items, catalogue %d: assets from different builds", t.Len(), n)
		}
		e.CF = t
	default:
		return fmt.Errorf("search: %q cannot be attached later", kind)
	}
	return nil
}
