// Package atomicfile writes a file so that readers see the old content or
// the new, never half of it: a temporary file in the same folder, synced,
// then renamed into place. The builder writes its assets, manifest,
// build report, converted models and split outputs this way, so a killed
// run never leaves a torn file where a reader looks.
package atomicfile
