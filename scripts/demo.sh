#!/usr/bin/env bash
# `make demo`: runs samples/cleanup.yaml on the bundled digits CNN and shows what changed, with
# ONNX Runtime checking that the result still classifies the held-out digits the same way.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
mopt=$build/mopt
ort_dir=${MOPT_ORT_DIR:-$PWD/.cache/ort}
export MOPT_ORT_DIR=$ort_dir
mkdir -p out

echo "== the bundled model"
$mopt inspect samples/digits_cnn.op13.onnx | head -9
echo
echo "== the pipeline (canonical form: every option spelled out)"
$mopt run samples/cleanup.yaml --dry-run
echo
echo "== running it"
$mopt run samples/cleanup.yaml
echo
echo "== the result"
$mopt inspect out/digits_cnn.clean.onnx | head -11
echo
echo "== ONNX Runtime 1.30 on the 450 held-out digits, before and after"
node tests/ort/ort_run.js run samples/digits_cnn.op13.onnx --inputs samples/digits_test.npz \
  --map input=x_img -o out/before.npz
node tests/ort/ort_run.js run out/digits_cnn.clean.onnx --inputs samples/digits_test.npz \
  --map input=x_img -o out/after.npz
node tests/ort/compare.js out/before.npz out/after.npz --atol 1e-4 --rtol 1e-4 \
  --labels samples/digits_test.npz:y
