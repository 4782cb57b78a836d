#!/usr/bin/env bash
# Quantization figures for docs/BENCHMARKS.md, side by side with the float model and with
# PyTorch's own quantizer, in one run (single thread everywhere):
#   - resnet18 static int8 (QDQ, calibrated on real photos): ONNX Runtime latency, size, cosine
#   - BERT-like encoder dynamic int8: ONNX Runtime latency, size, cosine
#   - 352 M-parameter MLP: mopt quantize --mode dynamic (the whole command: load, quantize, save)
#     vs PyTorch quantize_dynamic + torch.save on the same weights already in memory (default
#     threads for both), best of two runs from a warm page cache; peak RSS of each process;
#     and int4 weight-only (MatMulNBits, block 128) size
#   bash bench/quantize.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
mopt=$PWD/$build/mopt
fixtures=${MOPT_FIXTURES:-$PWD/$build/fixtures}
runs=${RUNS:-30}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
export MOPT_ORT_DIR=${MOPT_ORT_DIR:-$PWD/.cache/ort}
PY=/usr/bin/python3
work=$(mktemp -d /tmp/mopt_qbench.XXXXXX)
trap 'rm -rf "$work"' EXIT
$PY scripts/make_fixtures.py --out "$fixtures" --only resnet18,bert,mlp350m >/dev/null
$PY scripts/make_photos.py "$work/photos.npz" --count 96 >/dev/null
$PY - "$work" <<'PYEOF'
import sys, numpy as np
w = sys.argv[1]
d = np.load(f"{w}/photos.npz")["input"]
np.savez(f"{w}/calib.npz", input=d[0::2])
np.savez(f"{w}/eval.npz", input=d[1::2])
np.savez(f"{w}/img1.npz", input=d[1:2])
rng = np.random.default_rng(0)
for n, name in ((1, "txt1"), (8, "txt8")):
    ids = rng.integers(0, 30522, size=(n, 128), dtype=np.int64)
    np.savez(f"{w}/{name}.npz", input_ids=ids, attention_mask=np.ones((n, 128), dtype=np.int64))
PYEOF

ORT="node tests/ort/ort_run.js"
p50() { node -e "process.stdout.write(String(JSON.parse(require('fs').readFileSync(0)).p50_ms.toFixed(1)))"; }
bytes() { local t; t=$(stat -c %s "$1"); [ -f "$1.data" ] && t=$((t + $(stat -c %s "$1.data"))); echo "$t"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", a/b}'; }
cosine() {
  $PY -c "import numpy as np,sys; a,b=[np.load(f) for f in sys.argv[1:]]; x=a[list(a)[0]].ravel().astype(float); y=b[list(b)[0]].ravel().astype(float); print(f'{x@y/np.linalg.norm(x)/np.linalg.norm(y):.5f}')" "$1" "$2"
}

echo "| model | mode | fp32 ORT p50 ms | quantized ORT p50 ms | latency ratio | size ratio | output cosine |"
echo "|---|---|---|---|---|---|---|"
# resnet18, static int8 QDQ, calibrated on 48 photo crops, evaluated on 48 others.
$mopt quantize "$fixtures/resnet18.onnx" -o "$work/r18.onnx" --mode static --calib-data "$work/calib.npz" 2>/dev/null
f=$($ORT bench "$fixtures/resnet18.onnx" --inputs "$work/img1.npz" --iters "$runs" | p50)
q=$($ORT bench "$work/r18.onnx" --inputs "$work/img1.npz" --iters "$runs" | p50)
$ORT run "$fixtures/resnet18.onnx" --inputs "$work/eval.npz" -o "$work/r18f.npz"
$ORT run "$work/r18.onnx" --inputs "$work/eval.npz" -o "$work/r18q.npz"
echo "| resnet18 | static int8 (QDQ, minmax, 48 photos) | $f | $q | $(ratio "$q" "$f") | $(ratio "$(bytes "$work/r18.onnx")" "$(bytes "$fixtures/resnet18.onnx")") | $(cosine "$work/r18f.npz" "$work/r18q.npz") |"
# BERT-like encoder (12 layers, d=768), dynamic int8, sequence 128.
$mopt quantize "$fixtures/bert.onnx" -o "$work/bert.onnx" --mode dynamic 2>/dev/null
f=$($ORT bench "$fixtures/bert.onnx" --inputs "$work/txt1.npz" --iters "$runs" | p50)
q=$($ORT bench "$work/bert.onnx" --inputs "$work/txt1.npz" --iters "$runs" | p50)
$ORT run "$fixtures/bert.onnx" --inputs "$work/txt8.npz" -o "$work/bf.npz"
$ORT run "$work/bert.onnx" --inputs "$work/txt8.npz" -o "$work/bq.npz"
echo "| bert (seq 128) | dynamic int8 | $f | $q | $(ratio "$q" "$f") | $(ratio "$(bytes "$work/bert.onnx")" "$(bytes "$fixtures/bert.onnx")") | $(cosine "$work/bf.npz" "$work/bq.npz") |"

echo
echo "| 352 M-parameter MLP (1.41 GB fp32) | wall s | peak RSS MB | RSS / model size | output size ratio |"
echo "|---|---|---|---|---|"
model_bytes=$(bytes "$fixtures/mlp350m.onnx")
warm() { cat "$fixtures/mlp350m.onnx.data" >/dev/null; }  # both tools start from a warm page cache
measure() {  # LABEL OUT COMMAND...: wall time (best of 2) and peak RSS via GNU time
  local label=$1 out=$2 secs kb s2 k2
  shift 2
  warm
  /usr/bin/time -f "%e %M" -o "$work/time.txt" "$@" >/dev/null 2>&1
  read -r secs kb <"$work/time.txt"
  /usr/bin/time -f "%e %M" -o "$work/time.txt" "$@" >/dev/null 2>&1
  read -r s2 k2 <"$work/time.txt"
  secs=$(awk -v a="$secs" -v b="$s2" 'BEGIN{print (a<b)?a:b}')
  echo "| $label | $secs | $((kb / 1024)) | $(ratio $((kb * 1024)) "$model_bytes") | $(ratio "$(bytes "$out")" "$model_bytes") |"
}
measure "mopt quantize --mode dynamic (load + quantize + save)" "$work/mlp_dyn.onnx" \
  "$mopt" quantize "$fixtures/mlp350m.onnx" -o "$work/mlp_dyn.onnx" --mode dynamic
warm
$PY bench/torch_quantize_dynamic.py "$fixtures/mlp350m.onnx" "$work/torch.pt" >"$work/torch1.json"
/usr/bin/time -f "%e %M" -o "$work/time.txt" $PY bench/torch_quantize_dynamic.py "$fixtures/mlp350m.onnx" "$work/torch.pt" >"$work/torch.json" 2>/dev/null
read -r secs kb <"$work/time.txt"
# Best of the two runs' quantize_dynamic + save seconds, as for mopt.
tq=$(node -e "const f=require('fs'); const a=[1,''].map(i=>JSON.parse(f.readFileSync('$work/torch'+i+'.json')).seconds); process.stdout.write(String(Math.min(...a)))")
echo "| PyTorch quantize_dynamic + torch.save (process: $secs s incl. reading weights) | $tq | $((kb / 1024)) | $(ratio $((kb * 1024)) "$model_bytes") | $(ratio "$(stat -c %s "$work/torch.pt")" "$model_bytes") |"
measure "mopt quantize --mode weight-only (int4, block 128, MatMulNBits)" "$work/mlp_int4.onnx" \
  "$mopt" quantize "$fixtures/mlp350m.onnx" -o "$work/mlp_int4.onnx" --mode weight-only --block-size 128
