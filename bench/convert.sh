#!/usr/bin/env bash
# Load + save benchmark: `mopt convert IN -o OUT` side by side with Python onnx 1.12
# (`onnx.load` + `onnx.save`) on the same models in the same run. Wall time and peak RSS come
# from /usr/bin/time -v; each command runs REPEAT times (interleaved) and the median is kept.
#
#   bash bench/convert.sh [BUILD_DIR]     prints a Markdown table for docs/BENCHMARKS.md
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
mopt=$PWD/$build/mopt
fixtures=${MOPT_FIXTURES:-$PWD/$build/fixtures}
repeat=${REPEAT:-3}
work=$(mktemp -d /tmp/mopt_bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 scripts/make_fixtures.py --out "$fixtures" --only mlp350m,bert >/dev/null

measure() {  # LABEL COMMAND... -> "seconds rss_mb"
  local log=$work/time.log
  /usr/bin/time -v "$@" >/dev/null 2>"$log"
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
  echo "$wall $((rss / 1024))"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

python_save() {  # IN OUT EXTERNAL(0/1)
  /usr/bin/python3 - "$@" <<'PYEOF'
import os, sys
import onnx
src, dst, external = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
m = onnx.load(src)
if external:
    onnx.save(m, dst, save_as_external_data=True, all_tensors_to_one_file=True,
              location=os.path.basename(dst) + ".data", size_threshold=1024)
else:
    onnx.save(m, dst)
PYEOF
}
export -f python_save

echo "| model | size | tool | wall s (median of $repeat) | peak RSS MB | RSS / model size |"
echo "|---|---|---|---|---|---|"
for name in mlp350m bert; do
  model=$fixtures/$name.onnx
  bytes=$(stat -c %s "$model")
  [ -e "$model.data" ] && bytes=$((bytes + $(stat -c %s "$model.data")))
  ext=0
  [ -e "$model.data" ] && ext=1
  mb=$((bytes / 1048576))
  : >"$work/mopt.t"; : >"$work/mopt.r"; : >"$work/py.t"; : >"$work/py.r"
  for _ in $(seq "$repeat"); do
    read -r t r < <(measure "$mopt" convert "$model" -o "$work/mopt.onnx")
    echo "$t" >>"$work/mopt.t"; echo "$r" >>"$work/mopt.r"
    rm -f "$work"/mopt.onnx*
    read -r t r < <(measure bash -c "python_save '$model' '$work/py.onnx' $ext")
    echo "$t" >>"$work/py.t"; echo "$r" >>"$work/py.r"
    rm -f "$work"/py.onnx*
  done
  for tool in mopt py; do
    t=$(median <"$work/$tool.t"); r=$(median <"$work/$tool.r")
    label="mopt convert"
    [ "$tool" = py ] && label="python onnx.load+save"
    echo "| $name | $mb MB | $label | $t | $r | $(awk -v r="$r" -v m="$mb" 'BEGIN {printf "%.2f", r / m}') |"
  done
done
