// Package progress shows how far a long builder job is (done/total,
// items/s, ETA): a redrawn bar on a terminal, plain lines every few
// seconds otherwise (CI logs, pipes). Safe for concurrent use: the embedding
// workers report into one Meter.
package progress
