// lookalike/worker.js — the embed's entry to ../engine-worker.js (protocol:
// static/README.md), started by <lookalike-search> directly or through a
// blob: module when cross-origin; the engine worker resolves build/ against
// its own URL and reports load failures itself, so importing it is all.
import '../engine-worker.js';
