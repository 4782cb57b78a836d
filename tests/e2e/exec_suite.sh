#!/usr/bin/env bash
# The executor against the ONNX backend test suite: every in-scope node test passes except the
# ones listed (with reasons) in tests/exec/expected_failures.txt, and every pytorch-converted,
# pytorch-operator and simple test passes.
source "$(dirname "$0")/lib.sh"
data=${MOPT_ONNX_TESTDATA:-/usr/share/libonnx-testdata/data}
suite="$MOPT_BUILD/tests/exec_suite"
check "node tests (expected failures listed)" "$suite" "$data/node" --expected-failures "$MOPT_SRC/tests/exec/expected_failures.txt"
tail -n 1 "$WORK/check.log"
for s in pytorch-converted pytorch-operator simple; do
  check "$s tests" bash -c "$suite $data/$s | tee /dev/stderr | grep -q 'mismatch 0, unsupported 0, error 0'"
done
finish
