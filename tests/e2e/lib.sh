# Shared helpers for the end-to-end scripts (sourced). ctest sets MOPT, MOPT_SRC, MOPT_BUILD.
set -euo pipefail
: "${MOPT:?run through ctest}" "${MOPT_SRC:?}" "${MOPT_BUILD:?}"
export MOPT_ORT_DIR=${MOPT_ORT_DIR:-$MOPT_SRC/.cache/ort}
ORT_RUN="node $MOPT_SRC/tests/ort/ort_run.js"
COMPARE="node $MOPT_SRC/tests/ort/compare.js"
PY=/usr/bin/python3  # Debian's python: torch, onnx, numpy
WORK=$(mktemp -d /tmp/mopt_e2e.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
failures=0

pass() { echo "ok    $*"; }
fail() { echo "FAIL  $*"; failures=$((failures + 1)); }

# check DESCRIPTION COMMAND...: the command must succeed.
check() {
  local desc=$1
  shift
  if "$@" >"$WORK/check.log" 2>&1; then pass "$desc"; else fail "$desc"; sed 's/^/      /' "$WORK/check.log"; fi
}

# expect_error DESCRIPTION CODE PATTERN OUTPUT COMMAND...: the command must exit with CODE, print
# one error line matching PATTERN first, and leave neither OUTPUT nor temp files behind.
expect_error() {
  local desc=$1 code=$2 pattern=$3 output=$4
  shift 4
  local rc=0
  "$@" >"$WORK/out.log" 2>"$WORK/err.log" || rc=$?
  local first
  first=$(head -n 1 "$WORK/err.log")
  if [ "$rc" != "$code" ]; then
    fail "$desc: exit code $rc, expected $code"; sed 's/^/      /' "$WORK/err.log"; return
  fi
  if ! grep -q -- "$pattern" <<<"$first"; then
    fail "$desc: first stderr line does not match '$pattern': $first"; return
  fi
  if [[ "$first" != "mopt: error: "* ]]; then fail "$desc: not a 'mopt: error:' line: $first"; return; fi
  if [ -n "$output" ] && { [ -e "$output" ] || compgen -G "$output.tmp*" >/dev/null; }; then
    fail "$desc: left $output (or a temp file) behind"; return
  fi
  pass "$desc"
}

finish() {
  if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed"
    exit 1
  fi
  echo "all checks passed"
}
