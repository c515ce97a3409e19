#!/usr/bin/env bash
# Assembles sgemm.wat into OUTDIR/sgemm.wasm and OUTDIR/sgemm-fma.wasm
# (build output, not committed):
#
#   wasm/kernels/build.sh static/build
#
# Needs node and either the npm package wabt (devDependency) or Debian's
# wabt package (wat2wasm on PATH); see build.mjs.
set -euo pipefail
if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec node "$DIR/build.mjs" "$1"
