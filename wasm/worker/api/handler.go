package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/edge"
	"github.com/lookalike/lookalike/models/vecfile"
)

// DefaultK is the number of similar products returned without ?k=.
const DefaultK = 10

// MaxIDLen bounds a product id in a URL (bytes, after unescaping): the
// builder refuses longer ids, so none is ever staged.
const MaxIDLen = catalog.MaxIDBytes

// apiPrefix is where the handler answers; everything else is a 404.
const apiPrefix = "/api/"

// Handler answers the worker's API from the staged files in store:
//
//	GET /api/health                        build id, item count, asset versions
//	GET /api/similar/{id}?k=&section=      precomputed neighbours with display data
//	GET /api/products/{id}                 one product's display data
//
// Errors are JSON {"error": message, "status": code}: 400 for a malformed
// id, k or section, 404 for unknown ids and paths, 405 for methods other
// than GET, HEAD and OPTIONS, 503 when nothing is staged.
func Handler(store edge.Store) http.Handler {
	return &handler{store: store}
}

type handler struct {
	store edge.Store

	mu       sync.Mutex
	metaRaw  []byte // the meta.json bytes last parsed (a Cached store returns the same slice)
	metaLast *edge.Meta

	// bufs holds answer buffers (*[]byte) for reuse: an answer is built,
	// written (the ResponseWriter copies it) and its buffer kept, so a
	// request makes little garbage and the collector — whose every cycle
	// costs a request 15 ms or more in the worker — runs seldom.
	bufs sync.Pool
}

// maxKeptBuf bounds an answer buffer kept for reuse.
const maxKeptBuf = 1 << 20

// httpError is an error with a status code for the client.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) error {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		w.Header().Set("Allow", "GET, HEAD, OPTIONS")
		w.Header().Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
		w.Header().Set("Access-Control-Max-Age", "86400")
		w.Header().Del("Content-Type")
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		w.Header().Set("Allow", "GET, HEAD, OPTIONS")
		writeError(w, r, errorf(http.StatusMethodNotAllowed, "method %s not allowed; use GET", r.Method))
		return
	}
	bp, _ := h.bufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	defer h.bufs.Put(bp)
	v, cache, err := h.route(r, (*bp)[:0])
	if err != nil {
		writeError(w, r, err)
		return
	}
	b, ok := v.([]byte) // already JSON
	if !ok {
		if b, err = json.Marshal(v); err != nil {
			writeError(w, r, fmt.Errorf("edge: encoding the answer: %w", err))
			return
		}
	}
	b = append(b, '\n')
	w.Header().Set("Cache-Control", cache)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(b)
	}
	if ok && cap(b) <= maxKeptBuf {
		*bp = b[:0]
	}
}

func writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, err.Error()
	var he *httpError
	switch {
	case errors.As(err, &he):
		status = he.status
	case errors.Is(err, edge.ErrNotFound):
		// A staged file is missing: the worker and the site are out of step.
		status, msg = http.StatusServiceUnavailable, "catalogue data not staged: "+msg
	}
	b := edge.AppendJSONString([]byte(`{"error":`), msg)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, '}')
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(append(b, '\n'))
	}
}

// route dispatches on the escaped path, so that an escaped "/" inside an
// id stays part of the id. A JSON answer built by hand is appended to buf.
func (h *handler) route(r *http.Request, buf []byte) (v any, cache string, err error) {
	p := r.URL.EscapedPath()
	if !strings.HasPrefix(p, apiPrefix) {
		return nil, "", errorf(http.StatusNotFound, "no such endpoint %q", p)
	}
	parts := strings.Split(strings.TrimPrefix(p, apiPrefix), "/")
	switch {
	case len(parts) == 1 && parts[0] == "health":
		v, err = h.health(r.Context())
		return v, "no-store", err
	case len(parts) == 2 && parts[0] == "similar":
		id, err := parseID(parts[1])
		if err != nil {
			return nil, "", err
		}
		v, err = h.similar(r, id, buf)
		return v, "public, max-age=60", err
	case len(parts) == 2 && parts[0] == "products":
		id, err := parseID(parts[1])
		if err != nil {
			return nil, "", err
		}
		v, err = h.product(r, id, buf)
		return v, "public, max-age=60", err
	}
	return nil, "", errorf(http.StatusNotFound, "no such endpoint %q; try /api/health, /api/similar/{id}, /api/products/{id}", p)
}

// parseID unescapes one path segment and checks it is a plausible id:
// 1..MaxIDLen bytes of valid UTF-8 without control characters.
func parseID(seg string) (string, error) {
	id, err := url.PathUnescape(seg)
	if err != nil {
		return "", errorf(http.StatusBadRequest, "malformed product id: bad escape")
	}
	switch {
	case id == "":
		return "", errorf(http.StatusBadRequest, "malformed product id: empty")
	case len(id) > MaxIDLen:
		return "", errorf(http.StatusBadRequest, "malformed product id: longer than %d bytes", MaxIDLen)
	case !utf8.ValidString(id):
		return "", errorf(http.StatusBadRequest, "malformed product id: not UTF-8")
	case strings.IndexFunc(id, unicode.IsControl) >= 0:
		return "", errorf(http.StatusBadRequest, "malformed product id: control character")
	}
	return id, nil
}

// meta reads and parses meta.json; the parse is reused while the store
// hands back the very same bytes (Cached does), saving a JSON decode per
// request.
func (h *handler) meta(ctx context.Context) (*edge.Meta, error) {
	b, err := h.store.Get(ctx, edge.MetaName)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(b) > 0 && len(b) == len(h.metaRaw) && &b[0] == &h.metaRaw[0] {
		return h.metaLast, nil
	}
	m, err := edge.ParseMeta(b)
	if err != nil {
		return nil, err
	}
	h.metaRaw, h.metaLast = b, m
	return m, nil
}

func (h *handler) health(ctx context.Context) (any, error) {
	m, err := h.meta(ctx)
	if err != nil {
		return nil, err
	}
	return struct {
		Status         string            `json:"status"`
		Build          string            `json:"build"`
		BuilderVersion string            `json:"builder_version,omitempty"`
		BuildTime      string            `json:"build_time,omitempty"`
		ItemCount      int               `json:"item_count"`
		MaxK           int               `json:"max_k"`
		GlobalLists    bool              `json:"global_lists"`
		SectionColumn  string            `json:"section_column,omitempty"`
		Sections       []string          `json:"sections,omitempty"`
		Assets         map[string]string `json:"assets"`
		ThumbSheets    int               `json:"thumb_sheets,omitempty"`
	}{"ok", m.Build, m.BuilderVersion, m.BuildTime, m.ItemCount, m.K, m.Lists == 2,
		m.SectionColumn, m.Sections, m.Assets, m.ThumbSheets}, nil
}

// lookup returns the index of id (404 if unknown).
func (h *handler) lookup(ctx context.Context, m *edge.Meta, id string) (int, error) {
	b, err := h.store.Get(ctx, edge.IDsName(edge.IDShard(id, m.IDShards)))
	if err != nil {
		return 0, err
	}
	i, err := edge.FindID(b, id, m.ItemCount)
	if err != nil {
		return 0, err
	}
	if i < 0 {
		return 0, errorf(http.StatusNotFound, "unknown product id %q", id)
	}
	return i, nil
}

// cards fetches the cards of items as JSON lines (shards in parallel).
func (h *handler) cards(ctx context.Context, m *edge.Meta, items []int) (map[int][]byte, error) {
	byShard := map[int][]int{}
	for _, i := range items {
		byShard[i/m.CardShardSize] = append(byShard[i/m.CardShardSize], i)
	}
	out := make(map[int][]byte, len(items))
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		first error
	)
	for j, list := range byShard {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := h.store.Get(ctx, edge.CardsName(j))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				first = cmpErr(first, err)
				return
			}
			for _, i := range list {
				c, err := edge.CardAt(b, i-j*m.CardShardSize)
				if err != nil {
					first = cmpErr(first, err)
					return
				}
				out[i] = c
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return out, nil
}

func cmpErr(first, err error) error {
	if first == nil {
		return err
	}
	return first
}

func (h *handler) product(r *http.Request, id string, buf []byte) (any, error) {
	ctx := r.Context()
	m, err := h.meta(ctx)
	if err != nil {
		return nil, err
	}
	i, err := h.lookup(ctx, m, id)
	if err != nil {
		return nil, err
	}
	cs, err := h.cards(ctx, m, []int{i})
	if err != nil {
		return nil, err
	}
	if got, err := edge.CardField(cs[i], "id"); err != nil || got != id {
		return nil, fmt.Errorf("%w: item %d is %q in the cards, %q in the ids (%v)", edge.ErrData, i, got, id, err)
	}
	b := edge.AppendJSONString(append(buf, `{"build":`...), m.Build)
	b = append(b, ',')
	b = appendCard(b, cs[i], thumbBase(r))
	return b, nil
}

// Similar is the /api/similar answer; each result is a Card plus "score".
type Similar struct {
	Build   string            `json:"build"`
	ID      string            `json:"id"`
	K       int               `json:"k"`
	Section string            `json:"section,omitempty"`
	List    string            `json:"list"` // "section", "global" or "global, filtered by section"
	Results []json.RawMessage `json:"results"`
}

func (h *handler) similar(r *http.Request, id string, buf []byte) (any, error) {
	ctx := r.Context()
	q := r.URL.Query()
	// Check the query before any lookup so bad input is a 400 even for
	// unknown ids; K and the sections come from meta.json.
	m, err := h.meta(ctx)
	if err != nil {
		return nil, err
	}
	k := min(DefaultK, m.K)
	if ks, ok := q["k"]; ok {
		if len(ks) != 1 {
			return nil, errorf(http.StatusBadRequest, "k given %d times", len(ks))
		}
		n, err := strconv.Atoi(ks[0])
		if err != nil || n < 1 || n > m.K {
			return nil, errorf(http.StatusBadRequest, "k must be an integer in 1..%d, got %q", m.K, ks[0])
		}
		k = n
	}
	section := q.Get("section")
	if section != "" && !contains(m.Sections, section) {
		return nil, errorf(http.StatusBadRequest, "unknown section %q", section)
	}
	i, err := h.lookup(ctx, m, id)
	if err != nil {
		return nil, err
	}
	j := i / m.ShardSize
	nbb, err := h.store.Get(ctx, edge.NBName(j))
	if err != nil {
		return nil, err
	}
	own := ""
	if section != "" {
		self, err := h.cards(ctx, m, []int{i})
		if err != nil {
			return nil, err
		}
		if own, err = edge.CardField(self[i], "section"); err != nil {
			return nil, err
		}
	}
	// The rule every "more like this" from the stored lists follows.
	choice := vecfile.ChooseSimilar(m.Lists, own, section)
	b := edge.AppendJSONString(append(buf, `{"build":`...), m.Build)
	b = edge.AppendJSONString(append(b, `,"id":`...), id)
	b = strconv.AppendInt(append(b, `,"k":`...), int64(k), 10)
	if section != "" {
		b = edge.AppendJSONString(append(b, `,"section":`...), section)
	}
	b = edge.AppendJSONString(append(b, `,"list":`...), choice.Name)
	b = append(b, `,"results":[`...)
	if choice.List != vecfile.NoList {
		nbs, err := edge.NeighborsAt(nbb, m, i, j*m.ShardSize, choice.List)
		if err != nil {
			return nil, err
		}
		if !choice.CanBeShort() { // the first k are the answer: read only their cards
			nbs, _ = choice.Take(nbs, i, k, nil)
		}
		items := make([]int, len(nbs))
		for x, nb := range nbs {
			items[x] = int(nb.Item)
		}
		cs, err := h.cards(ctx, m, items)
		if err != nil {
			return nil, err
		}
		if nbs, err = choice.Take(nbs, i, k, func(j int) (string, error) { return edge.CardField(cs[j], "section") }); err != nil {
			return nil, err
		}
		base := thumbBase(r)
		for n, nb := range nbs {
			if n > 0 {
				b = append(b, ',')
			}
			b = appendCard(append(b, '{'), cs[int(nb.Item)], base)
			b = b[:len(b)-1] // reopen the object for the score
			b = strconv.AppendFloat(append(b, `,"score":`...), math.Round(float64(nb.Score)*1e4)/1e4, 'f', -1, 64)
			b = append(b, '}')
		}
	}
	return append(b, "]}"...), nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// thumbBase is where staged thumbnail names (relative to the asset
// folder) resolve: an absolute URL when the request has one (always in
// the worker), so that other sites can use the answer as is.
func thumbBase(r *http.Request) string {
	if r.URL.Scheme != "" && r.URL.Host != "" {
		return r.URL.Scheme + "://" + r.URL.Host + "/assets/"
	}
	return "/assets/"
}

var thumbKey = []byte(`"thumb":"`)

// appendCard appends a card line without its opening brace (the caller
// writes it, maybe with fields of its own), its thumbnail rewritten
// against base. The first `"thumb":"` in a line the
// builder wrote is the key: inside a JSON string every quote is escaped.
func appendCard(b, card []byte, base string) []byte {
	card = card[1:] // drop '{'
	k := bytes.Index(card, thumbKey)
	if k < 0 {
		return append(b, card...)
	}
	v := card[k+len(thumbKey):]
	b = append(b, card[:k+len(thumbKey)]...)
	if !bytes.HasPrefix(v, []byte("http://")) && !bytes.HasPrefix(v, []byte("https://")) {
		b = edge.AppendJSONStringBody(b, base)
	}
	return append(b, v...)
}
