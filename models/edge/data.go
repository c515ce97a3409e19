package edge

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"unicode/utf8"

	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/vecfile"
)

// Format and Version identify meta.json.
const (
	Format  = "lookalike-edge"
	Version = 1
)

// ShardSize is the number of items per nb shard (~18 KB with 24
// neighbours in two lists; a request reads one).
const ShardSize = 64

// CardShardSize is the number of items per cards shard (~7 KB for the
// fashion catalogue): a request reads up to k of them, and every byte read
// is copied into a fresh Go instance, so they stay small (measured in
// workerd: 256-item card shards made /api/similar ~7× slower than
// /api/health).
const CardShardSize = 32

// idsPerShard sets the number of id shards (about this many ids each).
const idsPerShard = 1024

// entrySize is one (uint32 item, uint16 score) neighbour entry, as in
// models/vecfile.
const entrySize = 6

// Meta is meta.json.
type Meta struct {
	Format         string `json:"format"`
	Version        int    `json:"version"`
	Build          string `json:"build"` // SHA-256 of manifest.json
	BuilderVersion string `json:"builder_version,omitempty"`
	BuildTime      string `json:"build_time,omitempty"`
	ItemCount      int    `json:"item_count"`
	K              int    `json:"k"`               // neighbours stored per list
	Lists          int    `json:"lists"`           // 1 = section, 2 = section then global
	ShardSize      int    `json:"shard_size"`      // items per nb shard
	CardShardSize  int    `json:"card_shard_size"` // items per cards shard
	IDShards       int    `json:"id_shards"`
	SectionColumn  string `json:"section_column,omitempty"`
	// Sections are the section names, most items first.
	Sections []string `json:"sections,omitempty"`
	// Assets maps asset kind -> content-hashed file name (the versions).
	// Thumbnail sheets are counted, not listed.
	Assets      map[string]string `json:"assets"`
	ThumbSheets int               `json:"thumb_sheets,omitempty"`
}

// Card is one product's display data, as the API returns it.
type Card struct {
	ID       string            `json:"id"`
	Title    string            `json:"title,omitempty"`
	URL      string            `json:"url,omitempty"`
	Price    string            `json:"price,omitempty"`
	Currency string            `json:"currency,omitempty"`
	Section  string            `json:"section,omitempty"`
	Thumb    string            `json:"thumb,omitempty"` // relative to /assets/, may carry #xywh=
	Attrs    map[string]string `json:"attrs,omitempty"`
}

// Store reads a staged file by its name relative to the staged folder.
// It returns an error wrapping ErrNotFound when the file does not exist.
type Store interface {
	Get(ctx context.Context, name string) ([]byte, error)
}

// ErrNotFound is wrapped by Store errors for missing files.
var ErrNotFound = errors.New("edge: file not found")

// ErrData is wrapped by every error about malformed staged files.
var ErrData = errors.New("edge: bad staged data")

// IDShard returns the ids shard holding id.
func IDShard(id string, shards int) int {
	if shards <= 1 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % uint32(shards))
}

// IDsName, NBName and CardsName are the names of the staged shards.
func IDsName(s int) string   { return "ids-" + strconv.Itoa(s) + ".txt" }
func NBName(j int) string    { return "nb-" + strconv.Itoa(j) + ".bin" }
func CardsName(j int) string { return "cards-" + strconv.Itoa(j) + ".jsonl" }

// MetaName is the staged folder's index file.
const MetaName = "meta.json"

// Stage cuts a build into the edge worker's lookup files. manifest is
// manifest.json's bytes; read returns an asset's bytes (parts joined). It
// returns file name -> contents, all names relative to the staged folder.
func Stage(manifest []byte, read func(catalog.Asset) ([]byte, error)) (map[string][]byte, error) {
	m, err := catalog.ReadManifest(manifest)
	if err != nil {
		return nil, fmt.Errorf("edge: stage: %w", err)
	}
	get := func(kind string) ([]byte, error) {
		a, ok := m.Asset(kind)
		if !ok {
			return nil, fmt.Errorf("edge: stage: the manifest lists no %q asset; rebuild with a builder that writes it", kind)
		}
		b, err := read(a)
		if err != nil {
			return nil, fmt.Errorf("edge: stage: reading %s: %w", a.File, err)
		}
		return b, nil
	}
	db, err := get("catalog")
	if err != nil {
		return nil, err
	}
	disp, err := catalog.ParseDisplay(db)
	if err != nil {
		return nil, fmt.Errorf("edge: stage: %w", err)
	}
	nbb, err := get("neighbors")
	if err != nil {
		return nil, err
	}
	nb, err := vecfile.ParseNeighbors(nbb) // checks sizes and every item index
	if err != nil {
		return nil, fmt.Errorf("edge: stage: %w", err)
	}
	n := disp.Len()
	if nb.Len() != n {
		return nil, fmt.Errorf("edge: stage: %d neighbour records for %d catalogue items: assets from different builds", nb.Len(), n)
	}
	h := nb.Header()
	meta := Meta{
		Format: Format, Version: Version, Build: catalog.SHA256Hex(manifest),
		BuilderVersion: m.BuilderVersion, BuildTime: m.BuildTime,
		ItemCount: n, K: h.K, Lists: h.Lists, ShardSize: ShardSize, CardShardSize: CardShardSize,
		IDShards:      max(1, (n+idsPerShard-1)/idsPerShard),
		SectionColumn: disp.SectionColumn(), Sections: disp.Sections(),
		Assets: map[string]string{},
	}
	for _, a := range m.Assets {
		if a.Kind == "thumbs" {
			meta.ThumbSheets++
			continue
		}
		meta.Assets[a.Kind] = a.File
	}
	meta.Assets["model"] = m.Model.File
	files := map[string][]byte{}
	ids := make([][]byte, meta.IDShards)
	rec := h.RecordSize()
	for j := 0; j*ShardSize < n; j++ {
		lo, hi := j*ShardSize, min(n, (j+1)*ShardSize)
		var nbuf bytes.Buffer
		nbuf.Write(nbb[:vecfile.HeaderSize])
		nbuf.Write(nbb[vecfile.HeaderSize+lo*rec : vecfile.HeaderSize+hi*rec])
		files[NBName(j)] = nbuf.Bytes()
	}
	for j := 0; j*CardShardSize < n; j++ {
		lo, hi := j*CardShardSize, min(n, (j+1)*CardShardSize)
		var cbuf bytes.Buffer
		enc := json.NewEncoder(&cbuf) // one value per line; strings never hold a raw newline
		enc.SetEscapeHTML(false)
		for i := lo; i < hi; i++ {
			it := disp.Item(i)
			c := Card{ID: it.ID, Title: it.Title, URL: it.URL, Price: it.Price, Currency: it.Currency,
				Section: it.Section, Thumb: it.Thumb, Attrs: it.Attrs}
			if len(c.Attrs) == 0 {
				c.Attrs = nil
			}
			if err := enc.Encode(c); err != nil {
				return nil, fmt.Errorf("edge: stage: item %q: %w", it.ID, err)
			}
			s := IDShard(it.ID, meta.IDShards)
			ids[s] = appendIDLine(ids[s], it.ID, i)
		}
		files[CardsName(j)] = cbuf.Bytes()
	}
	for s, b := range ids {
		files[IDsName(s)] = b
	}
	mb, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("edge: stage: %w", err)
	}
	files[MetaName] = append(mb, '\n')
	return files, nil
}

// ParseMeta decodes and checks meta.json.
func ParseMeta(b []byte) (*Meta, error) {
	var m Meta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: meta.json: %v", ErrData, err)
	}
	if m.Format != Format {
		return nil, fmt.Errorf("%w: meta.json format %q, want %q", ErrData, m.Format, Format)
	}
	if m.Version != Version {
		return nil, fmt.Errorf("%w: meta.json version %d, this worker reads %d; stage the assets again with the matching builder", ErrData, m.Version, Version)
	}
	switch {
	case m.ItemCount < 0:
		return nil, fmt.Errorf("%w: meta.json item_count %d", ErrData, m.ItemCount)
	case m.K < 1 || m.K > 4096:
		return nil, fmt.Errorf("%w: meta.json k %d out of range 1..4096", ErrData, m.K)
	case m.Lists != 1 && m.Lists != 2:
		return nil, fmt.Errorf("%w: meta.json lists %d, want 1 or 2", ErrData, m.Lists)
	case m.ShardSize < 1 || m.CardShardSize < 1 || m.IDShards < 1:
		return nil, fmt.Errorf("%w: meta.json shard sizes %d/%d/%d", ErrData, m.ShardSize, m.CardShardSize, m.IDShards)
	}
	return &m, nil
}

// An ids shard has one line per product: the id as a JSON string (as
// AppendJSONString writes it, so the same id always gives the same bytes),
// a tab, the item index. Looking an id up is a substring search: no
// decoding of the other ids.
func appendIDLine(b []byte, id string, i int) []byte {
	b = AppendJSONString(b, id)
	b = append(b, '\t')
	b = strconv.AppendInt(b, int64(i), 10)
	return append(b, '\n')
}

// FindID returns the index of id in an ids shard, or -1 if the shard
// does not hold it; n is the item count, for checking the index.
func FindID(shard []byte, id string, n int) (int, error) {
	needle := appendIDLine(nil, id, 0)
	needle = needle[:len(needle)-2] // up to and including the tab
	at := -1
	if bytes.HasPrefix(shard, needle) {
		at = 0
	} else if k := bytes.Index(shard, append([]byte{'\n'}, needle...)); k >= 0 {
		at = k + 1
	}
	if at < 0 {
		return -1, nil
	}
	rest := shard[at+len(needle):]
	if nl := bytes.IndexByte(rest, '\n'); nl >= 0 {
		rest = rest[:nl]
	}
	i, err := strconv.Atoi(string(rest))
	if err != nil || i < 0 || i >= n {
		return -1, fmt.Errorf("%w: ids shard gives %q item %q of %d", ErrData, id, rest, n)
	}
	return i, nil
}

// NeighborsAt returns list `which` (0 = section, 1 = global) of item i
// from the nb shard holding it, best first. The shard must hold records
// for items lo… of the meta's shape.
func NeighborsAt(shard []byte, meta *Meta, i, lo int, which int) ([]vecfile.Neighbor, error) {
	h, err := vecfile.ReadNeighborsHeader(bytes.NewReader(shard))
	if err != nil {
		return nil, fmt.Errorf("%w: nb shard: %v", ErrData, err)
	}
	if h.K != meta.K || h.Lists != meta.Lists || h.Count != meta.ItemCount {
		return nil, fmt.Errorf("%w: nb shard header (count %d, K %d, lists %d) does not match meta.json", ErrData, h.Count, h.K, h.Lists)
	}
	if which >= h.Lists {
		return nil, nil
	}
	rec := h.RecordSize()
	off := vecfile.HeaderSize + (i-lo)*rec + which*h.K*entrySize
	if i < lo || off+h.K*entrySize > len(shard) {
		return nil, fmt.Errorf("%w: nb shard too short for item %d", ErrData, i)
	}
	out := make([]vecfile.Neighbor, 0, h.K)
	for j := 0; j < h.K; j++ {
		e := shard[off+j*entrySize:]
		it := binary.LittleEndian.Uint32(e)
		if it == vecfile.NoItem {
			break
		}
		if int64(it) >= int64(h.Count) {
			return nil, fmt.Errorf("%w: nb shard names item %d of %d", ErrData, it, h.Count)
		}
		out = append(out, vecfile.Neighbor{Item: it, Score: vecfile.DequantizeScore(binary.LittleEndian.Uint16(e[4:]))})
	}
	return out, nil
}

// CardAt returns line k (0-based) of a cards shard: one Card as a JSON
// object, checked to be valid JSON so that it can be spliced into an
// answer as is (decoding and re-encoding it per request costs more CPU than
// a fresh instance can spare).
func CardAt(shard []byte, k int) ([]byte, error) {
	if k < 0 {
		return nil, fmt.Errorf("%w: card %d", ErrData, k)
	}
	rest := shard
	for ; k > 0; k-- {
		nl := bytes.IndexByte(rest, '\n')
		if nl < 0 {
			return nil, fmt.Errorf("%w: cards shard too short", ErrData)
		}
		rest = rest[nl+1:]
	}
	if nl := bytes.IndexByte(rest, '\n'); nl >= 0 {
		rest = rest[:nl]
	}
	if len(rest) < 2 || rest[0] != '{' || rest[len(rest)-1] != '}' || !json.Valid(rest) {
		return nil, fmt.Errorf("%w: cards shard line is not a JSON object", ErrData)
	}
	return rest, nil
}

// CardField decodes one string field of a card line ("" if absent).
func CardField(card []byte, field string) (string, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(card, &m); err != nil {
		return "", fmt.Errorf("%w: card: %v", ErrData, err)
	}
	var v string
	if raw, ok := m[field]; ok {
		if err := json.Unmarshal(raw, &v); err != nil {
			return "", fmt.Errorf("%w: card %s: %v", ErrData, field, err)
		}
	}
	return v, nil
}

// AppendJSONString appends s as a JSON string, as the staged files and
// the API answers write it (the same id always gives the same bytes).
func AppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	b = AppendJSONStringBody(b, s)
	return append(b, '"')
}

// AppendJSONStringBody appends s escaped for the inside of a JSON string
// (quotes, backslashes, control characters; invalid UTF-8 becomes U+FFFD).
func AppendJSONStringBody(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r < 0x20 || r == 0x2028 || r == 0x2029:
			b = append(b, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return b
}
