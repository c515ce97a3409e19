// Package embedcache is the builder's embedding cache: what the model
// computes for an image, keyed by the image's sha256 and by the model and
// pipeline, in an append-only log under <cache>/embed that several builds
// (and evals) may share at once. Editing ten catalogue rows re-embeds ten
// images; a killed build resumes where it stopped.
//
// Features says what is cached for a model (both pooled outputs when the
// model has them, so a change of --pooling or projection re-embeds
// nothing); Cache stores it.
//
// Native only (the builder); the file lock is per platform:
// embedcache_unix.go (flock), embedcache_windows.go (LockFileEx),
// embedcache_other.go (none).
package embedcache
