// Package vecfile reads and writes the two binary formats Lookalike owns
// for per-item data: item vectors (vectors-<hash>.bin) and precomputed
// nearest neighbours (neighbors-<hash>.bin).
//
// Both are little-endian, start with a 32-byte header (4 magic bytes, a
// uint16 format version, then sizes) that ReadVectorsHeader /
// ReadNeighborsHeader decode without reading the records, and continue with
// fixed-size records, so record i is at HeaderSize + i·RecordSize and a
// reader can check the file size before touching the records.
//
// Vectors are stored as float32 or as int8 with one float32 scale per
// vector (symmetric: x ≈ scale·q, q in [-127, 127]), a quarter of the size.
// *Vectors implements annoy.Scorer, so either encoding can re-rank index
// candidates or be scanned by annoy.BruteForce.
//
// Neighbours are, per item, a section-restricted list of K (item, score)
// pairs and optionally a global list, with cosine scores quantised to
// uint16 over [-1, 1] (resolution 3e-5). ChooseSimilar and
// SimilarChoice.Take are the one rule for answering "more like this" from
// them (similar.go): the engine, the edge API and the embed follow it, and
// testdata/similar-rule.json holds its cases for the JavaScript side.
//
// Readers work on []byte and run natively and in js/wasm; writers take an
// io.Writer. Parsed values are immutable and safe for concurrent use.
// ComputeNeighbors is an exact all-pairs search meant for the native
// builder (it uses every core).
package vecfile
