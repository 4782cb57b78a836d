#!/usr/bin/env bash
# Executor latency, single thread, batch 1: mopt's executor vs LibTorch running the same model
# as TorchScript vs ONNX Runtime 1.30 (intraOpNumThreads 1), side by side in one run.
#   bash bench/exec.sh [BUILD_DIR]      prints a Markdown table for docs/BENCHMARKS.md
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
mopt=$PWD/$build/mopt
fixtures=${MOPT_FIXTURES:-$PWD/$build/fixtures}
runs=${RUNS:-50}
# One thread everywhere: OpenBLAS (behind LibTorch here) would otherwise start its own pool.
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
export MOPT_ORT_DIR=${MOPT_ORT_DIR:-$PWD/.cache/ort}
work=$(mktemp -d /tmp/mopt_bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 scripts/make_fixtures.py --out "$fixtures" --only resnet18,mobilenet_v2,bert >/dev/null
/usr/bin/python3 - "$work" <<'PYEOF'
import sys
import numpy as np
rng = np.random.default_rng(0)
np.savez(f"{sys.argv[1]}/img.npz", input=rng.standard_normal((4, 3, 224, 224), dtype=np.float32))
ids = rng.integers(0, 30522, size=(4, 128), dtype=np.int64)
np.savez(f"{sys.argv[1]}/txt.npz", input_ids=ids, attention_mask=np.ones((4, 128), dtype=np.int64))
PYEOF

p50() { node -e "process.stdout.write(String(JSON.parse(require('fs').readFileSync(0)).p50_ms.toFixed(2)))"; }
echo "| model | mopt exec p50 ms | LibTorch (TorchScript) p50 ms | ONNX Runtime p50 ms | mopt / LibTorch | mopt / ORT |"
echo "|---|---|---|---|---|---|"
row() {  # NAME ONNX TS INPUTS INPUTS_BATCH1 ARGS
  local m t o
  m=$("$mopt" eval "$2" --data "$4" --batch 4 --runs "$runs" --json | p50)
  t=$(/usr/bin/python3 bench/ts_bench.py "$3" "$4" --args "$6" --runs "$runs" | p50)
  o=$(node tests/ort/ort_run.js bench "$2" --inputs "$5" --iters "$runs" | p50)
  echo "| $1 | $m | $t | $o | $(awk -v a="$m" -v b="$t" 'BEGIN{printf "%.2f", a/b}') | $(awk -v a="$m" -v b="$o" 'BEGIN{printf "%.2f", a/b}') |"
}
/usr/bin/python3 -c "import numpy as np; d=np.load('$work/img.npz'); np.savez('$work/img1.npz', input=d['input'][:1])"
/usr/bin/python3 -c "import numpy as np; d=np.load('$work/txt.npz'); np.savez('$work/txt1.npz', input_ids=d['input_ids'][:1], attention_mask=d['attention_mask'][:1])"
row resnet18 "$fixtures/resnet18.onnx" "$fixtures/resnet18.traced.pt" "$work/img.npz" "$work/img1.npz" input
row mobilenet_v2 "$fixtures/mobilenet_v2.onnx" "$fixtures/mobilenet_v2.traced.pt" "$work/img.npz" "$work/img1.npz" input
row "bert (seq 128)" "$fixtures/bert.onnx" "$fixtures/bert.traced.pt" "$work/txt.npz" "$work/txt1.npz" input_ids,attention_mask
