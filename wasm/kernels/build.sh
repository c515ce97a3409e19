#!/usr/bin/env bash
# Assembles sgemm.wat into OUTDIR/sgemm.wasm (build output, not committed).
#
#   wasm/kernels/build.sh static/build
#
# Needs wat2wasm: the npm package wabt (devDependency, node_modules/.bin) or
# Debian's wabt package on PATH. Both produce identical bytes.
set -euo pipefail
if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$DIR/../.." && pwd)"
WAT2WASM="$ROOT/node_modules/.bin/wat2wasm"
if [ ! -x "$WAT2WASM" ]; then
	WAT2WASM="$(command -v wat2wasm || true)"
fi
if [ -z "$WAT2WASM" ]; then
	echo "$0: wat2wasm not found: run 'npm ci' (package wabt) or install Debian's wabt" >&2
	exit 1
fi
mkdir -p "$1"
"$WAT2WASM" "$DIR/sgemm.wat" -o "$1/sgemm.wasm.tmp"
mv "$1/sgemm.wasm.tmp" "$1/sgemm.wasm"
echo "$1/sgemm.wasm"
