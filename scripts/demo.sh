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
echo
echo "== the CI loop: prune -> distill -> int8, with gates (samples/prune-distill-quantize.yaml)"
/usr/bin/python3 scripts/make_digits_train.py out/digits_train.npz
$mopt run samples/prune-distill-quantize.yaml
echo
echo "== before / after (accuracy on the 450 held-out digits in mopt's executor; batch-1 latency)"
/usr/bin/python3 -c "import numpy as np; d=np.load('samples/digits_test.npz'); np.savez('out/one_digit.npz', x_img=d['x_img'][:1])"
for f in samples/digits_cnn.op13.onnx out/digits_cnn.pdq.onnx; do
  $mopt inspect "$f" --json >"out/$(basename "$f").inspect.json"
  $mopt eval "$f" --data samples/digits_test.npz --labels y --map input=x_img --runs 30 --json \
    >"out/$(basename "$f").eval.json"
  node tests/ort/ort_run.js bench "$f" --inputs out/one_digit.npz --map input=x_img --iters 200 \
    >"out/$(basename "$f").ort.json"
done
/usr/bin/python3 - <<'PYEOF'
import json
rows = [("original", "digits_cnn.op13.onnx"), ("pruned + distilled + int8", "digits_cnn.pdq.onnx")]
print(f"{'model':<28}{'file bytes':>12}{'parameters':>12}{'accuracy':>10}{'mopt p50 ms':>13}{'ORT p50 ms':>12}")
for label, name in rows:
    i = json.load(open(f"out/{name}.inspect.json"))
    e = json.load(open(f"out/{name}.eval.json"))
    o = json.load(open(f"out/{name}.ort.json"))
    print(f"{label:<28}{i['file_bytes']:>12}{i['parameters']:>12}{100 * e['accuracy']:>9.2f}%"
          f"{e['p50_ms']:>13.3f}{o['p50_ms']:>12.3f}")
PYEOF
echo "(mopt's reference executor simulates QuantizeLinear/DequantizeLinear in float; ONNX Runtime"
echo " runs the int8 model as QLinearConv/QGemm)"
