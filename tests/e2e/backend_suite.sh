#!/usr/bin/env bash
# The ONNX backend test suite (Debian libonnx-testdata): every model imports, verifies and
# exports; round trips are byte-stable; whatever ONNX Runtime gets right on the original it gets
# bit-identically right on the round trip. Every model is also converted to every opset 7..21;
# each conversion either is refused with a reason or must still match the expected outputs.
# Models come from ONNX 1.12 (opsets <= 17): the sweep up to 21 exercises the upgrades to
# 18..21 and, through the models' own ops, the schema checks mopt has for those opsets.
source "$(dirname "$0")/lib.sh"
data=${MOPT_ONNX_TESTDATA:-/usr/share/libonnx-testdata/data}
"$ONNX_SUITE" prepare "$data" "$WORK/suite" --opsets
$ORT_RUN suite "$WORK/suite/manifest.json" -o "$WORK/suite/result.json" >/dev/null
"$ONNX_SUITE" check "$WORK/suite"
