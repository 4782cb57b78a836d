#!/usr/bin/env bash
# mopt quantize on real-sized models (generated fixtures): resnet18 static int8 calibrated on real
# photos, the BERT-like encoder dynamic int8 and int4, checked in ONNX Runtime against the float
# model (size, output cosine, integer kernels in ORT's optimized graph) and against mopt's
# executor. Latency is measured by bench/quantize.sh, not here.
source "$(dirname "$0")/lib.sh"
F=${MOPT_FIXTURES:-$MOPT_BUILD/fixtures}
QC="$PY $MOPT_SRC/tests/e2e/quant_check.py"
$PY "$MOPT_SRC/scripts/make_fixtures.py" --out "$F" --only resnet18,bert >/dev/null
$PY "$MOPT_SRC/scripts/make_photos.py" "$WORK/photos.npz" --count 64 >/dev/null
$PY - "$WORK" <<'PYEOF'
import sys, numpy as np
w = sys.argv[1]
d = np.load(f"{w}/photos.npz")["input"]
np.savez(f"{w}/calib.npz", input=d[0::2])  # calibrate on 32 crops, judge on 32 others
np.savez(f"{w}/eval.npz", input=d[1::2][:16])
rng = np.random.default_rng(0)
ids = rng.integers(0, 30522, size=(4, 64), dtype=np.int64)
mask = np.ones((4, 64), dtype=np.int64)
mask[1, 40:] = 0
np.savez(f"{w}/text.npz", input_ids=ids, attention_mask=mask)
PYEOF

cosine() {  # A.npz B.npz MIN: cosine of the first outputs, flattened
  $PY -c "
import numpy as np, sys
a, b = (np.load(f) for f in sys.argv[1:3])
x, y = (d[list(d)[0]].ravel().astype(float) for d in (a, b))
c = x @ y / np.linalg.norm(x) / np.linalg.norm(y)
print(f'cosine {c:.6f} (limit {sys.argv[3]})')
sys.exit(0 if c >= float(sys.argv[3]) else 1)" "$@"
}

# resnet18: static int8, QDQ.
R=$F/resnet18.onnx
$MOPT quantize "$R" -o "$WORK/r18.onnx" --mode static --calib-data "$WORK/calib.npz" 2>/dev/null
$ORT_RUN run "$R" --inputs "$WORK/eval.npz" -o "$WORK/r18.f.npz"
$ORT_RUN run "$WORK/r18.onnx" --inputs "$WORK/eval.npz" -o "$WORK/r18.q.npz" --opt-dump "$WORK/r18.opt.onnx"
$MOPT exec "$WORK/r18.onnx" --inputs "$WORK/eval.npz" -o "$WORK/r18.m.npz" 2>/dev/null
check "resnet18 static: output cosine vs fp32 in ONNX Runtime >= 0.99" cosine "$WORK/r18.f.npz" "$WORK/r18.q.npz" 0.99
check "resnet18 static: file <= 0.27x of fp32" $QC size "$WORK/r18.onnx" "$R" --max-ratio 0.27
check "resnet18 static: ONNX Runtime runs all 20 convolutions as QLinearConv and the classifier as QGemm" \
  $QC ops "$WORK/r18.opt.onnx" --require QLinearConv,QGemm,QLinearAdd --forbid Conv,Gemm,FusedConv
check "resnet18 static: mopt's executor agrees with ONNX Runtime" cosine "$WORK/r18.m.npz" "$WORK/r18.q.npz" 0.999

# BERT-like encoder: dynamic int8 (embeddings included), then int4 weight-only.
B=$F/bert.onnx
$ORT_RUN run "$B" --inputs "$WORK/text.npz" -o "$WORK/bert.f.npz"
$MOPT quantize "$B" -o "$WORK/bert.dyn.onnx" --mode dynamic 2>/dev/null
$ORT_RUN run "$WORK/bert.dyn.onnx" --inputs "$WORK/text.npz" -o "$WORK/bert.dyn.npz" --opt-dump "$WORK/bert.opt.onnx"
$MOPT exec "$WORK/bert.dyn.onnx" --inputs "$WORK/text.npz" -o "$WORK/bert.dyn.m.npz" 2>/dev/null
check "bert dynamic: file <= 0.3x of fp32" $QC size "$WORK/bert.dyn.onnx" "$B" --max-ratio 0.3
check "bert dynamic: output cosine vs fp32 in ONNX Runtime >= 0.99" cosine "$WORK/bert.f.npz" "$WORK/bert.dyn.npz" 0.99
check "bert dynamic: ONNX Runtime fuses every weight MatMul into DynamicQuantizeMatMul" \
  bash -c "$QC ops $WORK/bert.opt.onnx --require DynamicQuantizeMatMul | grep -q 'DynamicQuantizeMatMul 48'"
check "bert dynamic: mopt's executor agrees with ONNX Runtime" cosine "$WORK/bert.dyn.m.npz" "$WORK/bert.dyn.npz" 0.999
$MOPT quantize "$B" -o "$WORK/bert.int4.onnx" --mode weight-only 2>/dev/null
$ORT_RUN run "$WORK/bert.int4.onnx" --inputs "$WORK/text.npz" -o "$WORK/bert.int4.npz"
$MOPT exec "$WORK/bert.int4.onnx" --inputs "$WORK/text.npz" -o "$WORK/bert.int4.m.npz" 2>/dev/null
check "bert int4 (MatMulNBits + GatherBlockQuantized, block 128): file <= 0.14x of fp32" \
  $QC size "$WORK/bert.int4.onnx" "$B" --max-ratio 0.14
check "bert int4: mopt's executor matches ONNX Runtime's MatMulNBits/GatherBlockQuantized" \
  $QC agree "$WORK/bert.int4.m.npz" "$WORK/bert.int4.npz" --max-abs 1e-3
finish
