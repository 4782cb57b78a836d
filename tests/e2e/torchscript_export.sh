#!/usr/bin/env bash
# ONNX -> TorchScript export: the samples, the generated fixtures (resnet18, mobilenet_v2, BERT)
# and small generated op-coverage and quantized models are converted with `mopt convert X.pt`,
# run in Python torch and compared with ONNX Runtime on the same inputs; quantized weights must
# stay small, exports must be byte-stable, and unsupported models must fail cleanly.
source "$(dirname "$0")/lib.sh"
CHECK="$PY $MOPT_SRC/tests/e2e/ts_export_check.py"
S=$MOPT_SRC/samples
F=${MOPT_FIXTURES:-$MOPT_BUILD/fixtures}
TOL="--atol 1e-4 --rtol 1e-4"

# export_and_compare LABEL MODEL INPUTS [--map NAME=KEY,...]: ONNX Runtime vs the exported module.
export_and_compare() {
  local label=$1 model=$2 inputs=$3
  shift 3
  local out=$WORK/$label
  if ! $MOPT convert "$model" -o "$out.pt" 2>"$WORK/convert.err"; then
    fail "$label: export failed: $(head -n 1 "$WORK/convert.err")"
    return
  fi
  $ORT_RUN run "$model" --inputs "$inputs" "$@" -o "$out.ref.npz"
  if ! $CHECK "$out.pt" "$inputs" "$out.ts.npz" "$@" 2>"$WORK/torch.err"; then
    fail "$label: the exported module does not run in torch"
    sed 's/^/      /' "$WORK/torch.err" | tail -n 5
    return
  fi
  check "$label: TorchScript matches ONNX Runtime (1e-4)" $COMPARE "$out.ref.npz" "$out.ts.npz" $TOL
}

# Samples: the digits test split (the CNN reads the image layout).
for f in digits_mlp.op13 digits_mlp.op17 digits_cnn.op13 digits_cnn.op17; do
  map=input=x
  [[ $f == *cnn* ]] && map=input=x_img
  export_and_compare "$f" "$S/$f.onnx" "$S/digits_test.npz" --map "$map"
done

# Fixtures, at batch sizes and sequence lengths other than the ones they were exported with.
$PY "$MOPT_SRC/scripts/make_fixtures.py" --out "$F" --only resnet18,mobilenet_v2,bert >/dev/null
$PY - "$WORK" <<'PYEOF'
import sys
import numpy as np
rng = np.random.default_rng(1)
np.savez(f"{sys.argv[1]}/image.npz", input=rng.standard_normal((2, 3, 224, 224), dtype=np.float32))
for n, s in ((2, 37), (1, 64)):
    ids = rng.integers(0, 30522, size=(n, s), dtype=np.int64)
    mask = np.ones((n, s), dtype=np.int64)
    mask[-1, s - 7:] = 0
    np.savez(f"{sys.argv[1]}/text{s}.npz", input_ids=ids, attention_mask=mask)
PYEOF
export_and_compare resnet18 "$F/resnet18.onnx" "$WORK/image.npz"
export_and_compare mobilenet_v2 "$F/mobilenet_v2.onnx" "$WORK/image.npz"
export_and_compare bert "$F/bert.onnx" "$WORK/text37.npz"
$ORT_RUN run "$F/bert.onnx" --inputs "$WORK/text64.npz" -o "$WORK/bert64.ref.npz"
$CHECK "$WORK/bert.pt" "$WORK/text64.npz" "$WORK/bert64.ts.npz"
check "bert: the same file serves another batch and sequence length" \
  $COMPARE "$WORK/bert64.ref.npz" "$WORK/bert64.ts.npz" $TOL
$MOPT convert "$F/resnet18.onnx" -o "$WORK/resnet18.again.pt" 2>/dev/null
check "resnet18: a second export is byte-identical" cmp "$WORK/resnet18.pt" "$WORK/resnet18.again.pt"
rm -f "$WORK"/bert*.pt "$WORK"/resnet18*.pt "$WORK"/mobilenet_v2.pt

# Generated op-coverage and quantized models.
M=$WORK/models
$CHECK make-models "$M"
for m in elementwise shapes softmax_op11 legacy_op9 resize_op10 nn qdq_cnn dyn_quant qlinear nbits_zp \
  nbits_sym; do
  export_and_compare "$m" "$M/$m.onnx" "$M/$m.npz"
done
$MOPT convert "$M/shapes.onnx" -o "$WORK/shapes.again.pt" 2>/dev/null
check "shapes: a second export is byte-identical" cmp "$WORK/shapes.pt" "$WORK/shapes.again.pt"

# Quantized weights keep their storage type: int8 for QDQ, packed 4-bit codes for MatMulNBits.
$MOPT convert "$M/nbits_zp_fp32.onnx" -o "$WORK/nbits_zp_fp32.pt" 2>/dev/null
check "qdq_cnn: weights are stored as int8 (2992 bytes) with only biases/scales in fp32" \
  bash -c "$CHECK info $WORK/qdq_cnn.pt | grep -q '\"int8\": 2992'"
check "nbits_zp: packed 4-bit weights stay uint8, the file is under 1/6 of the fp32 export" \
  bash -c "$CHECK info $WORK/nbits_zp.pt | grep -q '\"uint8\": 66560' &&
           [ \$(stat -c %s $WORK/nbits_zp.pt) -lt \$((\$(stat -c %s $WORK/nbits_zp_fp32.pt) / 6)) ]"

# What cannot be expressed fails with the node and op named, and leaves no file.
expect_error "an unsupported op is an input error naming the node and op" 2 "'the_pool' (LpPool)" \
  "$WORK/bad_op.pt" $MOPT convert "$M/bad_op.onnx" -o "$WORK/bad_op.pt"
expect_error "control flow is refused naming the If node" 2 "'branch' (If).*subgraphs" \
  "$WORK/bad_if.pt" $MOPT convert "$M/bad_if.onnx" -o "$WORK/bad_if.pt"
finish
