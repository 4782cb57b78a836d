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
echo
echo "== quantizing it: static int8 in ONNX Runtime's QDQ form, calibrated on 128 digits"
$mopt quantize samples/digits_cnn.op13.onnx -o out/digits_cnn.int8.onnx --mode static \
  --calib-data samples/digits_test.npz --calib-map input=x_img --calib-samples 128
ls -l samples/digits_cnn.op13.onnx out/digits_cnn.int8.onnx | awk '{print $5, $9}'
echo
echo "== ONNX Runtime on the int8 model (its optimized graph runs QLinearConv / QGemm)"
node tests/ort/ort_run.js run out/digits_cnn.int8.onnx --inputs samples/digits_test.npz \
  --map input=x_img -o out/int8.npz --opt-dump out/digits_cnn.int8.ort.onnx
/usr/bin/python3 tests/e2e/quant_check.py ops out/digits_cnn.int8.ort.onnx
/usr/bin/python3 tests/e2e/quant_check.py accuracy out/before.npz out/int8.npz \
  samples/digits_test.npz:y --max-drop 0.5
