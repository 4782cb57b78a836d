#!/usr/bin/env bash
# More torchvision classifiers (mobilenet_v3_small, efficientnet_b0, shufflenet_v2, squeezenet,
# densenet121, vgg11_bn; random weights): mopt's executor on their ONNX exports against ONNX
# Runtime, and their traced TorchScript through mopt's TorchScript frontend (converted to ONNX,
# run in ONNX Runtime) against PyTorch's eager output (vgg's 7x7 adaptive pooling needs the
# static sizes LibTorch's shape analysis derives from --input-shape). Relative error and cosine, since a few of
# these nets have small logits.
source "$(dirname "$0")/lib.sh"
$PY "$MOPT_SRC/tests/e2e/make_zoo.py" "$WORK" 2>/dev/null >/dev/null
I=$WORK/zoo_input.npz

close() {  # A.npz B.npz: first arrays within 1e-4 of max |A| and cosine >= 0.99999
  $PY -c "
import numpy as np, sys
a, b = (np.load(f) for f in sys.argv[1:3])
x, y = (d[list(d)[0]].astype(np.float64).ravel() for d in (a, b))
rel = np.abs(x - y).max() / np.abs(x).max()
cos = x @ y / np.linalg.norm(x) / np.linalg.norm(y)
print(f'max |a| {np.abs(x).max():.3g}, max diff / max |a| {rel:.2e}, cosine {cos:.8f}')
sys.exit(0 if rel <= 1e-4 and cos >= 0.99999 else 1)" "$@"
}

for m in mobilenet_v3_small efficientnet_b0 shufflenet_v2_x0_5 squeezenet1_0 densenet121 vgg11_bn; do
  $ORT_RUN run "$WORK/$m.onnx" --inputs "$I" -o "$WORK/$m.ort.npz"
  $MOPT exec "$WORK/$m.onnx" --inputs "$I" -o "$WORK/$m.mopt.npz" 2>"$WORK/err" ||
    fail "$m: mopt exec failed: $(tail -n 1 "$WORK/err")"
  check "$m: mopt exec on the ONNX export matches ONNX Runtime" close "$WORK/$m.ort.npz" "$WORK/$m.mopt.npz"
  if $MOPT convert "$WORK/$m.pt" -o "$WORK/$m.ts.onnx" --input-shape input=N,3,224,224 2>"$WORK/err"; then
    $ORT_RUN run "$WORK/$m.ts.onnx" --inputs "$I" -o "$WORK/$m.ts.npz"
    check "$m: TorchScript -> ONNX by mopt, run in ONNX Runtime, matches PyTorch" \
      close "$WORK/$m.ref.npz" "$WORK/$m.ts.npz"
  else
    fail "$m: mopt convert of the TorchScript failed: $(tail -n 1 "$WORK/err")"
  fi
  if [ $m = vgg11_bn ]; then
    # Its adaptive pooling (to 7x7) needs static spatial sizes: unknown ones are refused with the
    # op and its TorchScript source line.
    expect_error "vgg11_bn with symbolic spatial dims: the op and its source line" 2 \
      "aten::adaptive_avg_pool2d is not supported: .*needs the input's spatial size.*(at code/.*py:[0-9]*)" \
      "$WORK/x.onnx" $MOPT convert "$WORK/$m.pt" -o "$WORK/x.onnx" --input-shape input=N,3,H,W
  fi
  rm -f "$WORK/$m".*onnx "$WORK/$m.pt"
done
finish
