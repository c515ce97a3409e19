// lookalike/worker.js — the embed's entry to the page's engine worker
// (../engine-worker.js, protocol in static/README.md). <lookalike-search>
// starts it directly when lookalike.js is same-origin with the page, or
// through a one-line blob: module that imports it when it is not.
// The engine worker resolves build/ against its own module URL, and posts
// load failures to the page as {type:'error'} without leaving unhandled
// rejections, so importing it is all this entry does.
import '../engine-worker.js';
