#!/usr/bin/env bash
# Pruning figures for docs/BENCHMARKS.md, in one run (one thread everywhere but the PyTorch peer,
# which runs with its defaults, as a user would):
#   - resnet18 and mobilenet_v2, structured ratio 0.5 (and round-to 8): MACs and parameters from
#     mopt's report, ONNX Runtime latency (1 thread, batch 1, p50, best of two alternating rounds)
#     dense vs pruned
#   - BERT-like encoder (85 M prunable weights), global magnitude 50 %: the whole mopt command
#     (load, prune, save) best of two from a warm page cache, and its peak RSS, vs PyTorch's
#     prune.global_unstructured (L1) on the same 48 weights, the call alone
#   - digits CNN: accuracy in ONNX Runtime after each method, no fine-tuning
#   bash bench/prune.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
[[ $build = /* ]] || build=$PWD/$build
mopt=$build/mopt
fixtures=${MOPT_FIXTURES:-$build/fixtures}
runs=${RUNS:-30}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
export MOPT_ORT_DIR=${MOPT_ORT_DIR:-$PWD/.cache/ort}
PY=/usr/bin/python3
work=$(mktemp -d /tmp/mopt_pbench.XXXXXX)
trap 'rm -rf "$work"' EXIT
$PY scripts/make_fixtures.py --out "$fixtures" --only resnet18,mobilenet_v2,bert >/dev/null
$PY -c "import numpy as np; np.savez('$work/img1.npz', input=np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32))"

ORT="node tests/ort/ort_run.js"
p50() { node -e "process.stdout.write(String(JSON.parse(require('fs').readFileSync(0)).p50_ms.toFixed(1)))"; }
bytes() { local t; t=$(stat -c %s "$1"); [ -f "$1.data" ] && t=$((t + $(stat -c %s "$1.data"))); echo "$t"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", a/b}'; }
min() { awk -v a="$1" -v b="$2" 'BEGIN{print (a<b)?a:b}'; }
total() { $PY -c "import json,sys; print(json.load(open(sys.argv[1]))['total'][sys.argv[2]])" "$@"; }

echo "| model | pruning | MACs (G) | parameters (M) | ORT p50 ms dense | ORT p50 ms pruned | latency ratio | file ratio |"
echo "|---|---|---|---|---|---|---|---|"
for m in resnet18 mobilenet_v2; do
  for variant in "ratio 0.5:--ratio 0.5" "ratio 0.5, round-to 8:--ratio 0.5 --round-to 8"; do
    label=${variant%%:*}
    read -r -a flags <<<"${variant#*:}"
    out=$work/$m.onnx
    $mopt prune "$fixtures/$m.onnx" -o "$out" --method structured "${flags[@]}" --report "$work/$m.json" 2>/dev/null
    d1=$($ORT bench "$fixtures/$m.onnx" --inputs "$work/img1.npz" --iters "$runs" | p50)
    p1=$($ORT bench "$out" --inputs "$work/img1.npz" --iters "$runs" | p50)
    d2=$($ORT bench "$fixtures/$m.onnx" --inputs "$work/img1.npz" --iters "$runs" | p50)
    p2=$($ORT bench "$out" --inputs "$work/img1.npz" --iters "$runs" | p50)
    d=$(min "$d1" "$d2")
    p=$(min "$p1" "$p2")
    macs="$(awk -v a="$(total "$work/$m.json" macs_before)" -v b="$(total "$work/$m.json" macs_after)" 'BEGIN{printf "%.3f -> %.3f (%.2fx)", a/1e9, b/1e9, a/b}')"
    params="$(awk -v a="$(total "$work/$m.json" params_before)" -v b="$(total "$work/$m.json" params_after)" 'BEGIN{printf "%.2f -> %.2f", a/1e6, b/1e6}')"
    echo "| $m | structured, $label | $macs | $params | $d | $p | $(ratio "$p" "$d") | $(ratio "$(bytes "$out")" "$(bytes "$fixtures/$m.onnx")") |"
  done
done

echo
B=$fixtures/bert.onnx
model_bytes=$(bytes "$B")
echo "| BERT-like encoder ($(awk -v b="$model_bytes" 'BEGIN{printf "%.0f", b/1e6}') MB), global magnitude 50 % | seconds | peak RSS MB | RSS / model size | zeros |"
echo "|---|---|---|---|---|"
cat "$B" >/dev/null  # warm page cache for both tools
best=""
for i in 1 2; do
  sync  # no dirty pages of earlier writes to flush inside the timed run
  /usr/bin/time -f "%e %M" -o "$work/time.txt" "$mopt" prune "$B" -o "$work/bert.onnx" --method magnitude \
    --scope global --sparsity 0.5 --report "$work/bert.json" 2>"$work/bert.log"
  read -r secs kb <"$work/time.txt"
  best=$([ -z "$best" ] && echo "$secs" || min "$best" "$secs")
done
pass_s=$(awk '/^prune-magnitude/ {sub("s","",$2); print $2}' "$work/bert.log")
# What the run costs without pruning: mopt convert loads and saves the same file.
sync
/usr/bin/time -f "%e" -o "$work/time.txt" "$mopt" convert "$B" -o "$work/bert.copy.onnx" 2>/dev/null
read -r copy_s <"$work/time.txt"
zeros=$(total "$work/bert.json" zeros_after)
echo "| mopt prune (whole command; the pass alone ${pass_s} s; mopt convert, load + save only, ${copy_s} s) | $best | $((kb / 1024)) | $(ratio $((kb * 1024)) "$model_bytes") | $zeros |"
sync
/usr/bin/time -f "%e %M" -o "$work/time.txt" $PY bench/torch_prune_global.py "$B" >"$work/torch.json" 2>/dev/null
read -r psecs pkb <"$work/time.txt"
tsec=$(node -e "process.stdout.write(String(JSON.parse(require('fs').readFileSync('$work/torch.json')).seconds))")
tzeros=$(node -e "process.stdout.write(String(JSON.parse(require('fs').readFileSync('$work/torch.json')).zeros))")
echo "| PyTorch prune.global_unstructured, L1 (the call alone; process $psecs s) | $tsec | $((pkb / 1024)) | $(ratio $((pkb * 1024)) "$model_bytes") | $tzeros |"
echo
echo "mopt / PyTorch time: whole command $(ratio "$best" "$tsec"), the pass $(ratio "$pass_s" "$tsec")"

echo
echo "| digits CNN, no fine-tuning | accuracy (ONNX Runtime, 450 samples) | sparsity or MACs |"
echo "|---|---|---|"
D=samples/digits_test.npz
C=samples/digits_cnn.op17.onnx
acc() { $PY -c "
import numpy as np, sys
y = np.load(sys.argv[2])['y']; d = np.load(sys.argv[1]); print(f'{(d[list(d)[0]].argmax(-1) == y).mean() * 100:.2f} %')" "$1" "$D"; }
$ORT run "$C" --inputs "$D" --map input=x_img -o "$work/ref.npz"
echo "| fp32 | $(acc "$work/ref.npz") | - |"
for v in "magnitude 50 %, global;--method magnitude --scope global" "magnitude 50 %, per layer;--method magnitude" \
  "magnitude 50 %, per layer, min-size 1000;--method magnitude --min-size 1000" "2:4;--method nm" \
  "structured 0.25;--method structured --ratio 0.25" "structured 0.5;--method structured --ratio 0.5"; do
  label=${v%%;*}
  read -r -a flags <<<"${v#*;}"
  $mopt prune "$C" -o "$work/d.onnx" "${flags[@]}" --report "$work/d.json" 2>/dev/null
  $ORT run "$work/d.onnx" --inputs "$D" --map input=x_img -o "$work/d.npz"
  what=$($PY -c "
import json,sys; t=json.load(open(sys.argv[1]))['total']
print(f\"{t['sparsity']*100:.1f} % zeros\" if 'sparsity' in t else f\"MACs {t['macs_before']/t['macs_after']:.2f}x fewer\")" "$work/d.json")
  echo "| $label | $(acc "$work/d.npz") | $what |"
done
