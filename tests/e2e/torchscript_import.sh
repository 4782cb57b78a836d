#!/usr/bin/env bash
# TorchScript -> ONNX: scripted and traced samples, torchvision models, a traced BERT-like encoder,
# a scripted nn.TransformerEncoder, LSTM/GRU (uni/bidirectional, batch_first). Each converted model runs in ONNX Runtime within 1e-4
# of the original running in LibTorch (Python's torch.jit.load).
source "$(dirname "$0")/lib.sh"
S=$MOPT_SRC/samples
F=${MOPT_FIXTURES:-$MOPT_BUILD/fixtures}
TS_RUN="$PY $MOPT_SRC/tests/e2e/ts_run.py"
$PY "$MOPT_SRC/scripts/make_fixtures.py" --out "$F" --only resnet18,mobilenet_v2,bert >/dev/null
$PY "$MOPT_SRC/tests/e2e/make_ts_models.py" "$WORK"
$PY - "$WORK" "$S/digits_test.npz" <<'PYEOF'
import sys
import numpy as np
out, digits = sys.argv[1], np.load(sys.argv[2])
rng = np.random.default_rng(0)
np.savez(f"{out}/mlp.npz", input=digits["x"][:64])
np.savez(f"{out}/cnn.npz", input=digits["x_img"][:64])
np.savez(f"{out}/img.npz", input=rng.standard_normal((2, 3, 224, 224), dtype=np.float32))
ids = rng.integers(0, 30522, size=(2, 40), dtype=np.int64)
mask = np.ones((2, 40), dtype=np.int64)
mask[1, 30:] = 0
np.savez(f"{out}/txt.npz", input_ids=ids, attention_mask=mask)
PYEOF

# convert_and_check NAME MODEL.pt INPUTS.npz ARG_ORDER SHAPE...
convert_and_check() {
  local name=$1 model=$2 inputs=$3 order=$4
  shift 4
  local shapes=()
  for s in "$@"; do shapes+=(--input-shape "$s"); done
  if ! $MOPT convert "$model" -o "$WORK/$name.onnx" "${shapes[@]}" 2>"$WORK/err"; then
    fail "$name: conversion failed: $(cat "$WORK/err")"
    return
  fi
  $TS_RUN "$model" "$inputs" "$WORK/$name.ref.npz" --args "$order"
  $ORT_RUN run "$WORK/$name.onnx" --inputs "$inputs" -o "$WORK/$name.ort.npz"
  check "$name: ONNX Runtime on the conversion matches LibTorch within 1e-4" \
    $COMPARE "$WORK/$name.ref.npz" "$WORK/$name.ort.npz" --atol 1e-4 --rtol 1e-4
  rm -f "$WORK/$name.onnx"
}

for v in scripted traced; do
  convert_and_check "mlp.$v" "$S/digits_mlp.$v.pt" "$WORK/mlp.npz" input input=N,64
  convert_and_check "cnn.$v" "$S/digits_cnn.$v.pt" "$WORK/cnn.npz" input input=N,1,8,8
  for m in resnet18 mobilenet_v2; do
    convert_and_check "$m.$v" "$F/$m.$v.pt" "$WORK/img.npz" input input=N,3,224,224
  done
  for r in lstm lstm_bi gru gru_bi; do
    convert_and_check "$r.$v" "$WORK/$r.$v.pt" "$WORK/rnn_input.npz" x x=N,5,8
  done
done
convert_and_check bert.traced "$F/bert.traced.pt" "$WORK/txt.npz" input_ids,attention_mask \
  input_ids:i64=N,S attention_mask:i64=N,S
convert_and_check encoder.scripted "$WORK/encoder.scripted.pt" "$WORK/encoder_input.npz" x,mask \
  x=N,S,64 mask:bool=N,S

# BatchNorm kept on request: the CNN keeps its two BatchNormalization nodes.
$MOPT convert "$S/digits_cnn.scripted.pt" -o "$WORK/cnn_bn.onnx" --input-shape input=N,1,8,8 --keep-batchnorm 2>/dev/null
check "--keep-batchnorm keeps BatchNormalization" bash -c "$MOPT inspect $WORK/cnn_bn.onnx | grep -q 'BatchNormalization 2'"

# Missing shapes and unsupported ops are clear errors.
expect_error "TorchScript without input shapes" 2 "does not record its input shapes" "$WORK/x.onnx" \
  $MOPT convert "$S/digits_mlp.scripted.pt" -o "$WORK/x.onnx"
expect_error "wrong number of input shapes" 2 "forward() takes 1 tensor argument(s) but 2 input shape(s)" "$WORK/x.onnx" \
  $MOPT convert "$S/digits_mlp.scripted.pt" -o "$WORK/x.onnx" --input-shape a=1,64 --input-shape b=1,64
finish
