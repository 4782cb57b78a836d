#!/usr/bin/env bash
# Fuzzes one target for a bounded time over its seeds (ctest's fuzz.* entries; `make fuzz`).
# usage: run-fuzzer.sh BINARY NAME BUILD_DIR
#   MOPT_FUZZ_SECONDS  time for this target (default 20)
#   MOPT_FUZZ_ARGS     extra libFuzzer flags (e.g. "-seed=1" or "-dict=...")
# New interesting inputs accumulate in BUILD_DIR/fuzz/NAME/corpus (kept between runs). A crash,
# leak, timeout, sanitizer report or broken invariant fails the run and leaves the input in
# BUILD_DIR/fuzz/NAME/artifacts. BUILD_DIR/fuzz/NAME/summary.txt gets one line per run.
set -euo pipefail
bin=$1 name=$2 build=$3
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
seconds=${MOPT_FUZZ_SECONDS:-20}
work=$build/fuzz/$name
mkdir -p "$work/corpus" "$work/seeds" "$work/artifacts"

# Seeds that are not committed under tests/fuzz (too big): gathered here, at run time.
case $name in
  fuzz_onnx)
    cp -f "$src"/samples/*.onnx "$work/seeds/"
    # The ONNX backend test models (libonnx-testdata): ~1070 models, 0.5 MB in all.
    testdata=/usr/share/libonnx-testdata/data
    if [ -d "$testdata" ] && [ ! -f "$work/seeds/.testdata" ]; then
      find "$testdata" -name model.onnx -size -64k | sort | while read -r m; do
        rel=${m#"$testdata"/}
        cp "$m" "$work/seeds/${rel//\//_}"
      done
      touch "$work/seeds/.testdata"
    fi
    ;;
  fuzz_npz) cp -f "$src"/samples/*.npz "$work/seeds/" ;;
  fuzz_pipeline_file) cp -f "$src"/samples/*.yaml "$work/seeds/" ;;
esac

dict=()
[ -f "$here/dict/$name.dict" ] && dict=(-dict="$here/dict/$name.dict")
corpora=("$work/corpus" "$work/seeds")
for d in "$here/corpus/$name" "$here/regressions/$name"; do
  [ -d "$d" ] && corpora+=("$d")
done

# -rss_limit_mb also caps single allocations (malloc_limit_mb defaults to it): a loader that
# believes a declared size shows up as a crash. One process, one job: the machine is shared.
# shellcheck disable=SC2086
"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=262144 \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/" "${dict[@]}" ${MOPT_FUZZ_ARGS:-} \
  "${corpora[@]}" >"$work/log.txt" 2>&1 && rc=0 || rc=$?

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log.txt")
last=$(grep -E '^#[0-9]+' "$work/log.txt" | tail -1 | sed 's/^#[0-9]*[[:space:]]*//' || true)
line="$(date -u +%F) $name: ${seconds}s, ${execs:-?} executions, ${last:-no status}"
[ "$rc" = 0 ] || line="$line, FAILED (exit $rc)"
echo "$line" | tee -a "$work/summary.txt"
if [ "$rc" != 0 ]; then
  grep -vE '^  0x|^  [A-Z][a-z ]+:|^Shadow' "$work/log.txt" | tail -60
  echo "$name: inputs in $work/artifacts/; reproduce with: $bin FILE" \
    "(after the fix, add the input to tests/fuzz/regressions/$name/)" >&2
  exit 1
fi
