#!/usr/bin/env bash
# A model past protobuf's 2 GB limit (705 M parameters, 2.8 GB of external data): mopt converts
# it, keeps it external, refuses to write it inline with a clear error, and ONNX Runtime gives
# the same outputs for the original and mopt's copy. Prints the figures for docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
mopt=$PWD/$build/mopt
fixtures=${MOPT_FIXTURES:-$PWD/$build/fixtures}
export MOPT_ORT_DIR=${MOPT_ORT_DIR:-$PWD/.cache/ort}
work=$(mktemp -d /tmp/mopt_large.XXXXXX)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 scripts/make_fixtures.py --out "$fixtures" --only mlp700m
model=$fixtures/mlp700m.onnx

/usr/bin/time -f "mopt convert: %e s, peak RSS %M KB" "$mopt" convert "$model" -o "$work/copy.onnx"
ls -l "$work"/copy.onnx*
/usr/bin/time -f "mopt inspect: %e s, peak RSS %M KB" "$mopt" inspect "$model" | sed -n '8,9p'
if "$mopt" convert "$model" -o "$work/inline.onnx" --external-data never 2>"$work/err"; then
  echo "FAIL: wrote a > 2 GB model inline"; exit 1
fi
echo "inline refused: $(cat "$work/err")"
ls "$work" | grep -q inline && { echo "FAIL: left a file behind"; exit 1; }

/usr/bin/python3 -c "import numpy as np; np.savez('$work/x.npz', x=np.random.default_rng(0).standard_normal((4, 4096), dtype=np.float32))"
node tests/ort/ort_run.js run "$model" --inputs "$work/x.npz" -o "$work/ref.npz"
node tests/ort/ort_run.js run "$work/copy.onnx" --inputs "$work/x.npz" -o "$work/copy.npz"
node tests/ort/compare.js "$work/ref.npz" "$work/copy.npz" --exact
