#!/usr/bin/env bash
# Assembles the kernel module (sgemm.wat + qgemm.wat) into OUTDIR/sgemm.wasm,
# sgemm-fma.wasm and their -shared twins for the GEMM pool (see build.mjs)
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
