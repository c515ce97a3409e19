package catalog

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ManifestVersion is the manifest format version this package writes and
// reads.
const ManifestVersion = 1

// MaxAssetSize is the largest file a static host accepts (Cloudflare
// Workers static assets refuse files over 25 MiB); bigger assets are split
// into parts of at most this size.
const MaxAssetSize = 25 << 20

// Manifest is manifest.json: what the page loads first, naming every other
// asset by content hash.
type Manifest struct {
	FormatVersion  int            `json:"format_version"`
	BuilderVersion string         `json:"builder_version"`
	BuildTime      string         `json:"build_time"` // RFC 3339, UTC
	Model          ModelInfo      `json:"model"`
	ItemCount      int            `json:"item_count"`
	SectionColumn  string         `json:"section_column,omitempty"`
	Sections       map[string]int `json:"sections,omitempty"` // name -> item count
	// Attributes maps filter column -> value -> item count.
	Attributes map[string]map[string]int `json:"attributes,omitempty"`
	Assets     []Asset                   `json:"assets"`
	// Blend sets the defaults of the ranking blend; nil (older manifests)
	// means the engine's compiled-in defaults.
	Blend *Blend `json:"blend,omitempty"`
	// Floor is the relevance floor (builds with heads): a result scoring
	// below it is not called a lookalike (the page ends the grid of close
	// matches there). Calibrated by the builder on shopper-like photos:
	// below it fewer than half the results share the photo's product type.
	Floor *float32 `json:"floor,omitempty"`
}

// Blend is the manifest's "blend" section: the defaults of the scoring rule
// score = visual + w_cf·cf + w_personal·personal (docs/personal.md). A
// missing field means the engine's compiled-in default; the builder writes
// all three.
type Blend struct {
	WCF       *float64 `json:"w_cf,omitempty"`       // weight of the collaborative term (0..1 affinity)
	WPersonal *float64 `json:"w_personal,omitempty"` // weight of the taste term (a cosine)
	// HalfLifeHours is the age at which a shopper's signal counts half;
	// 0 = no decay.
	HalfLifeHours *float64 `json:"half_life_hours,omitempty"`
}

// check refuses negative weights and half-lives.
func (b *Blend) check() error {
	for _, f := range []struct {
		name string
		v    *float64
	}{{"w_cf", b.WCF}, {"w_personal", b.WPersonal}, {"half_life_hours", b.HalfLifeHours}} {
		if f.v != nil && !(*f.v >= 0 && *f.v <= maxBlendValue) {
			return fmt.Errorf("blend.%s = %v, want 0..%g", f.name, *f.v, float64(maxBlendValue))
		}
	}
	return nil
}

// maxBlendValue bounds every blend field (a weight of a million is a typo).
const maxBlendValue = 1e6

// ModelInfo describes the embedding model file and how to use it.
type ModelInfo struct {
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// Preprocessing is the model's input recipe (mean/std, channel order,
	// size …) as the model package defines it; kept verbatim.
	Preprocessing json.RawMessage `json:"preprocessing,omitempty"`
	Embedding     EmbeddingInfo   `json:"embedding"`
	Metric        string          `json:"metric"` // "angular"
	// Activations is the arithmetic the catalogue was embedded with
	// ("int8" or "fp32"; absent in manifests from before int8 activations:
	// "fp32"). The page embeds queries the same way.
	Activations string `json:"activations,omitempty"`
}

// EmbeddingInfo says how the network output becomes the indexed vector.
type EmbeddingInfo struct {
	Dim        int    `json:"dim"`
	Pooling    string `json:"pooling"`              // e.g. "max", "avg"
	Projection string `json:"projection,omitempty"` // asset file of the projection matrix, or "" for none
}

// Asset is one built file (or one logical file split into parts).
type Asset struct {
	Kind   string `json:"kind"`   // "index", "vectors", "neighbors", "catalog", "model", "thumbs", …
	File   string `json:"file"`   // content-hashed name, e.g. index-0123456789ab.ann
	SHA256 string `json:"sha256"` // of the whole (joined) file
	Size   int64  `json:"size"`
	// Parts, when set, are the files to fetch and concatenate in order to
	// get File's bytes (each at most MaxAssetSize).
	Parts []Part `json:"parts,omitempty"`
}

// Part is one piece of a split asset.
type Part struct {
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// Files returns the files to fetch, in order, to get a's bytes: its parts,
// or the file itself (as one Part with a's name, hash and size). The
// browser's readers follow the same rule (static/lookalike/manifest.js,
// checked against models/jsformat's golden assets).
func (a Asset) Files() []Part {
	if len(a.Parts) > 0 {
		return a.Parts
	}
	return []Part{{File: a.File, SHA256: a.SHA256, Size: a.Size}}
}

// FilesFrom returns the files to fetch for a's bytes from offset on, whole
// files only, and the offset of the first one: the leading files that end
// at or before offset are skipped, never the last one. The page reads the
// index this way from annoy.ItemsSize on (the builder cuts a part there),
// so it downloads only the split nodes.
func (a Asset) FilesFrom(offset int64) ([]Part, int64) {
	files := a.Files()
	var at int64
	first := 0
	for first < len(files)-1 && files[first].Size > 0 && at+files[first].Size <= offset {
		at += files[first].Size
		first++
	}
	return files[first:], at
}

// Asset returns the first asset of the given kind.
func (m *Manifest) Asset(kind string) (Asset, bool) {
	for _, a := range m.Assets {
		if a.Kind == kind {
			return a, true
		}
	}
	return Asset{}, false
}

// SHA256Hex returns the hex SHA-256 of data.
func SHA256Hex(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// ContentName returns "<kind>-<first 12 hex digits of SHA-256(data)>.<ext>",
// e.g. ContentName("index", "ann", b) = "index-1a2b3c4d5e6f.ann". ext may
// be given with or without its dot.
func ContentName(kind, ext string, data []byte) string {
	ext = strings.TrimPrefix(ext, ".")
	name := kind + "-" + SHA256Hex(data)[:12]
	if ext != "" {
		name += "." + ext
	}
	return name
}

// SplitParts cuts data into consecutive pieces of at most max bytes (one
// piece if it fits; none for empty data), and also at each offset in cuts
// that falls inside data. The pieces share data's memory.
func SplitParts(data []byte, max int, cuts ...int) [][]byte {
	if max <= 0 {
		max = MaxAssetSize
	}
	var parts [][]byte
	at := 0
	for _, c := range append(sortedInts(cuts), len(data)) {
		if c <= at || c > len(data) {
			continue
		}
		seg := data[at:c]
		for len(seg) > 0 {
			n := min(max, len(seg))
			parts = append(parts, seg[:n:n])
			seg = seg[n:]
		}
		at = c
	}
	return parts
}

func sortedInts(v []int) []int {
	out := append([]int(nil), v...)
	sort.Ints(out)
	return out
}

// NewAsset describes data as an asset of the given kind, content-named,
// split into parts named "<file>.partN" when it exceeds max bytes
// (MaxAssetSize if max <= 0) or when cuts fall inside it: no part spans a
// cut offset, so a reader can skip the bytes before a cut (the index's
// item nodes, which the browser does not need). It returns the asset and
// the file name -> bytes to write.
func NewAsset(kind, ext string, data []byte, max int, cuts ...int) (Asset, map[string][]byte) {
	if max <= 0 {
		max = MaxAssetSize
	}
	a := Asset{Kind: kind, File: ContentName(kind, ext, data), SHA256: SHA256Hex(data), Size: int64(len(data))}
	files := map[string][]byte{}
	parts := SplitParts(data, max, cuts...)
	if len(parts) <= 1 {
		files[a.File] = data
		return a, files
	}
	for i, p := range parts {
		name := fmt.Sprintf("%s.part%d", a.File, i)
		a.Parts = append(a.Parts, Part{File: name, SHA256: SHA256Hex(p), Size: int64(len(p))})
		files[name] = p
	}
	return a, files
}

// ErrManifest is wrapped by every ReadManifest error.
var ErrManifest = errors.New("catalog: bad manifest")

// ReadManifest decodes manifest.json. It reads format_version first and
// refuses other versions with an error saying what to do, before
// decoding the rest; then checks the assets are self-consistent.
func ReadManifest(data []byte) (*Manifest, error) {
	var head struct {
		FormatVersion *int `json:"format_version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("%w: not JSON: %v", ErrManifest, err)
	}
	if head.FormatVersion == nil {
		return nil, fmt.Errorf("%w: no format_version field; is this a Lookalike manifest.json?", ErrManifest)
	}
	if *head.FormatVersion != ManifestVersion {
		return nil, fmt.Errorf("%w: format_version %d, this engine reads %d; rebuild the assets with the builder that matches this page (or deploy the page that matches the assets)",
			ErrManifest, *head.FormatVersion, ManifestVersion)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrManifest, err)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrManifest, err)
	}
	return &m, nil
}

// Bounds of a sane manifest. The readers allocate from these numbers
// (the page sizes its buffers from "size"), so a manifest may not name
// more than a browser could hold.
const (
	// MaxAssetTotal bounds one asset, its parts joined (the engine's own
	// limit on what it copies into memory).
	MaxAssetTotal = 1 << 30
	// MaxItems bounds item_count.
	MaxItems = 1 << 26
	// MaxDim bounds the embedding dimension.
	MaxDim = 1 << 16
)

// check refuses what no builder writes: a missing or malformed sha256 or
// size on any file (an empty hash must never switch the integrity check
// off), names leaving the asset folder, absurd counts.
func (m *Manifest) check() error {
	if m.ItemCount < 0 || m.ItemCount > MaxItems {
		return fmt.Errorf("item_count %d, want 0..%d", m.ItemCount, MaxItems)
	}
	if d := m.Model.Embedding.Dim; d < 0 || d > MaxDim {
		return fmt.Errorf("model.embedding.dim %d, want 1..%d", d, MaxDim)
	}
	if m.Blend != nil {
		if err := m.Blend.check(); err != nil {
			return err
		}
	}
	if m.Model.File != "" {
		if err := checkFile("model", m.Model.File, m.Model.SHA256, m.Model.Size, MaxAssetTotal); err != nil {
			return err
		}
	}
	if m.Floor != nil && !(*m.Floor >= -10 && *m.Floor <= 10) {
		return fmt.Errorf("floor %v, want a score in -10..10", *m.Floor)
	}
	for i, a := range m.Assets {
		if a.Kind == "" || a.File == "" {
			return fmt.Errorf("asset %d has no kind or file", i)
		}
		if len(a.Parts) == 0 {
			if err := checkFile("asset", a.File, a.SHA256, a.Size, MaxAssetSize); err != nil {
				return err
			}
			continue
		}
		if err := safeName(a.File); err != nil {
			return fmt.Errorf("asset %q: %v", a.File, err)
		}
		var total int64
		for _, p := range a.Parts {
			if err := checkFile("part", p.File, p.SHA256, p.Size, MaxAssetSize); err != nil {
				return err
			}
			total += p.Size
		}
		if total != a.Size {
			return fmt.Errorf("parts of %q add up to %d bytes, asset says %d", a.File, total, a.Size)
		}
		if err := checkFile("asset", a.File, a.SHA256, a.Size, MaxAssetTotal); err != nil {
			return err
		}
	}
	return nil
}

// checkFile checks one file entry: a safe name, 0 <= size <= max, and a
// SHA-256 of 64 lower-case hex digits.
func checkFile(what, name, sha string, size, max int64) error {
	if err := safeName(name); err != nil {
		return fmt.Errorf("%s %q: %v", what, name, err)
	}
	if size < 0 || size > max {
		return fmt.Errorf("%s %q has size %d, want 0..%d", what, name, size, max)
	}
	if !IsSHA256Hex(sha) {
		if sha == "" {
			return fmt.Errorf("%s %q has no sha256: every file must carry its hash", what, name)
		}
		return fmt.Errorf("%s %q has sha256 %q, want 64 lower-case hex digits", what, name, quoteShort(sha))
	}
	return nil
}

// IsSHA256Hex reports whether s is a SHA-256 as the manifest writes it:
// 64 lower-case hex digits.
func IsSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func quoteShort(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// safeName accepts relative slash paths without "..", so a manifest cannot
// point the page outside its asset folder.
func safeName(name string) error {
	if strings.HasPrefix(name, "/") || strings.Contains(name, "\\") || strings.Contains(name, "://") {
		return errors.New("file names must be relative paths inside the asset folder")
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == ".." || seg == "" {
			return errors.New("file names must not contain empty or '..' segments")
		}
	}
	return nil
}

// jsonMarshal encodes m as indented JSON without HTML escaping (the form
// the builder writes).
func jsonMarshal(v any) ([]byte, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}

// Marshal encodes the manifest as the builder writes it (indented JSON).
func (m *Manifest) Marshal() ([]byte, error) {
	if m.FormatVersion == 0 {
		m.FormatVersion = ManifestVersion
	}
	b, err := jsonMarshal(m)
	if err != nil {
		return nil, fmt.Errorf("catalog: manifest: %w", err)
	}
	return b, nil
}
