// Command builder is Lookalike's native CLI: it turns a shop's catalogue into
// the static assets the browser engine and the edge worker read, serves and
// stages them, and measures their quality.
//
//	go run ./builder <command> [flags]
//	go run ./builder help <command>
//
// Where the commands live:
//
//	builder/                     the entry point and the hosting commands: serve (page + assets
//	                             with the right headers), stage (one folder for wrangler or any host)
//	builder/internal/build       the product commands that make and read assets: model, build, query
//	builder/internal/evaluate    the evaluation commands: eval, split, cf-eval, simulate-shoppers,
//	                             blend-eval (nothing they write is deployed)
//	builder/internal/cli         the command registry, help and flag parsing they all use
//	builder/internal/embedcache  the embedding cache build and eval share (<cache>/embed)
//	builder/internal/progress    progress lines for long jobs
//	builder/internal/atomicfile  write-then-rename, so no reader sees half a file
//	builder/internal/buildtest   tiny models, photos and catalogues for the tests
//
// Each command registers itself from init() in its own cmd_*.go file. The
// builder runs natively on Linux, macOS and Windows (`make cross` builds it
// for all three on amd64 and arm64); it is not built for js/wasm.
package main
