#!/usr/bin/env bash
# Real exported models (generated, never committed): torchvision resnet18 and mobilenet_v2, a
# BERT-base-like encoder, resnet18 with external data. Round trips must be bit-identical in
# ONNX Runtime and byte-stable; cleanup and opset conversion must keep the outputs.
source "$(dirname "$0")/lib.sh"
F=${MOPT_FIXTURES:-$MOPT_BUILD/fixtures}
$PY "$MOPT_SRC/scripts/make_fixtures.py" --out "$F" --only resnet18,mobilenet_v2,resnet18_ext,bert >/dev/null

$PY - "$WORK" <<'PYEOF'
import sys
import numpy as np
rng = np.random.default_rng(0)
np.savez(f"{sys.argv[1]}/image.npz", input=rng.standard_normal((1, 3, 224, 224), dtype=np.float32))
ids = rng.integers(0, 30522, size=(1, 64), dtype=np.int64)
mask = np.ones((1, 64), dtype=np.int64)
mask[0, 50:] = 0
np.savez(f"{sys.argv[1]}/text.npz", input_ids=ids, attention_mask=mask)
PYEOF

for name in resnet18 mobilenet_v2 resnet18_ext bert; do
  inputs=$WORK/image.npz
  [ "$name" = bert ] && inputs=$WORK/text.npz
  model=$F/$name.onnx
  $ORT_RUN run "$model" --inputs "$inputs" -o "$WORK/$name.ref.npz"
  # The second round trip goes to another folder under the same name: an external-data model
  # names its data file, so only then can the bytes be compared.
  mkdir -p "$WORK/second"
  $MOPT convert "$model" -o "$WORK/$name.rt.onnx" 2>/dev/null
  $MOPT convert "$WORK/$name.rt.onnx" -o "$WORK/second/$name.rt.onnx" 2>/dev/null
  $ORT_RUN run "$WORK/$name.rt.onnx" --inputs "$inputs" -o "$WORK/$name.rt.npz"
  check "$name: round trip is bit-identical in ONNX Runtime" $COMPARE "$WORK/$name.ref.npz" "$WORK/$name.rt.npz" --exact
  check "$name: second round trip is byte-identical" cmp "$WORK/$name.rt.onnx" "$WORK/second/$name.rt.onnx"
  if [ -e "$model.data" ] || [ -e "$F/$name.onnx.data" ]; then
    check "$name: external data stays external" test -s "$WORK/$name.rt.onnx.data"
    check "$name: second round trip's data file is byte-identical" cmp "$WORK/$name.rt.onnx.data" "$WORK/second/$name.rt.onnx.data"
  fi

  $MOPT run -p 'eliminate-identity,fold-bn-into-conv,dce' "$model" -o "$WORK/$name.clean.onnx" 2>/dev/null
  $ORT_RUN run "$WORK/$name.clean.onnx" --inputs "$inputs" -o "$WORK/$name.clean.npz"
  check "$name: cleanup pipeline keeps the outputs (1e-4)" $COMPARE "$WORK/$name.ref.npz" "$WORK/$name.clean.npz" --atol 1e-4 --rtol 1e-4

  for target in 13 18; do
    $MOPT convert "$model" -o "$WORK/$name.op$target.onnx" --opset $target 2>/dev/null
    $ORT_RUN run "$WORK/$name.op$target.onnx" --inputs "$inputs" -o "$WORK/$name.op$target.npz"
    check "$name: opset $target keeps the outputs (1e-4)" $COMPARE "$WORK/$name.ref.npz" "$WORK/$name.op$target.npz" --atol 1e-4 --rtol 1e-4
  done
  rm -rf "$WORK"/$name.*.onnx "$WORK"/$name.*.onnx.data "$WORK/second"
done
finish
