// Package evaluate holds the builder's evaluation commands: they measure
// quality and choose defaults, and nothing they write is deployed.
//
//	eval               precision@k on held-out photos (clean and distorted, shopper-like), per method
//	split              split held-out query rows off a catalogue for eval
//	cf-eval            collaborative filtering against popularity on an interaction log
//	simulate-shoppers  write a simulated interaction log (labelled simulated; a test fixture)
//	blend-eval         visual against blended ranking for simulated shoppers (docs/personal.md)
//
// They read the assets `builder build` writes (through builder/internal/build)
// and share its embedding cache, so eval re-embeds nothing a build already
// embedded. Figures they produced are in docs/quality.md, docs/cf.md and
// docs/personal.md. The commands register themselves with
// builder/internal/cli from init(). Native only.
package evaluate
