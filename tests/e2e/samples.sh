#!/usr/bin/env bash
# The committed samples through mopt, checked by ONNX Runtime and Python onnx: lossless round
# trips, external data both ways, the cleanup passes, opset conversion in both directions (and
# the opset 19..21 adapters on single-operator models), 4-bit QDQ weights at opset 21.
source "$(dirname "$0")/lib.sh"
S=$MOPT_SRC/samples
D=$S/digits_test.npz

run_ort() {  # MODEL OUT.npz: the digits test split through ONNX Runtime (CNN files: *cnn*)
  local map=input=x
  [[ $(basename "$1") == *cnn* ]] && map=input=x_img
  $ORT_RUN run "$1" --inputs "$D" --map "$map" -o "$2"
}

for f in digits_mlp.op13 digits_mlp.op17 digits_cnn.op13 digits_cnn.op17; do
  run_ort "$S/$f.onnx" "$WORK/$f.ref.npz"
  $MOPT convert "$S/$f.onnx" -o "$WORK/$f.rt.onnx" 2>/dev/null
  $MOPT convert "$WORK/$f.rt.onnx" -o "$WORK/$f.rt2.onnx" 2>/dev/null
  run_ort "$WORK/$f.rt.onnx" "$WORK/$f.rt.npz"
  check "$f: round trip gives bit-identical outputs in ONNX Runtime" $COMPARE "$WORK/$f.ref.npz" "$WORK/$f.rt.npz" --exact
  check "$f: second round trip is byte-identical to the first" cmp "$WORK/$f.rt.onnx" "$WORK/$f.rt2.onnx"
  check "$f: onnx.checker accepts the round trip" $PY -c "import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)" "$WORK/$f.rt.onnx"

  # External data out and back in.
  $MOPT convert "$S/$f.onnx" -o "$WORK/$f.ext.onnx" --external-data always 2>/dev/null
  check "$f: --external-data writes a data file" test -s "$WORK/$f.ext.onnx.data"
  run_ort "$WORK/$f.ext.onnx" "$WORK/$f.ext.npz"
  check "$f: external-data model is bit-identical in ONNX Runtime" $COMPARE "$WORK/$f.ref.npz" "$WORK/$f.ext.npz" --exact
  check "$f: Python onnx loads our external data" $PY -c "import onnx,sys; onnx.checker.check_model(sys.argv[1])" "$WORK/$f.ext.onnx"
  $MOPT convert "$WORK/$f.ext.onnx" -o "$WORK/$f.auto.onnx" 2>/dev/null
  check "$f: auto mode keeps an external-data model external" test -s "$WORK/$f.auto.onnx.data"
  $MOPT convert "$WORK/$f.ext.onnx" -o "$WORK/$f.inline.onnx" --external-data never 2>/dev/null
  check "$f: back inline is byte-identical to the plain round trip" cmp "$WORK/$f.rt.onnx" "$WORK/$f.inline.onnx"

  # Opset conversion, every target from 7 to 21, checked against the original's outputs.
  for target in 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21; do
    if $MOPT convert "$S/$f.onnx" -o "$WORK/$f.to$target.onnx" --opset "$target" 2>"$WORK/conv.err"; then
      run_ort "$WORK/$f.to$target.onnx" "$WORK/$f.to$target.npz"
      check "$f: convert-opset to $target runs in ONNX Runtime with the same outputs" \
        $COMPARE "$WORK/$f.ref.npz" "$WORK/$f.to$target.npz" --atol 1e-5 --rtol 1e-5
    else
      fail "$f: convert-opset to $target: $(cat "$WORK/conv.err")"
    fi
  done
  # Up to 21 and back down to the model's own opset: ONNX Runtime gives the very same outputs.
  own=${f##*.op}
  if $MOPT convert "$WORK/$f.to21.onnx" -o "$WORK/$f.back.onnx" --opset "$own" 2>"$WORK/conv.err"; then
    run_ort "$WORK/$f.back.onnx" "$WORK/$f.back.npz"
    check "$f: opset $own -> 21 -> $own gives bit-identical outputs in ONNX Runtime" \
      $COMPARE "$WORK/$f.ref.npz" "$WORK/$f.back.npz" --exact
    check "$f: opset 21 gives bit-identical outputs in ONNX Runtime" \
      $COMPARE "$WORK/$f.ref.npz" "$WORK/$f.to21.npz" --exact
  else
    fail "$f: convert-opset 21 -> $own: $(cat "$WORK/conv.err")"
  fi
done

# The opset 19..21 adapters on single-operator models (built with Python onnx, which does not
# check opsets it does not know): each conversion must give ONNX Runtime's outputs for the
# original, and what the target opset cannot express must be refused naming node and reason.
A=$WORK/adapters
mkdir -p "$A"
$PY - "$A" <<'PYEOF'
import sys
import numpy as np
import onnx
from onnx import helper as h, numpy_helper as nh, TensorProto as T
out = sys.argv[1]
rng = np.random.default_rng(7)
def save(name, nodes, inputs, opset, inits=()):  # inputs: name -> array (saved as NAME.in.npz)
    np.savez(f"{out}/{name}.in.npz", **inputs)
    g = h.make_graph(nodes, name, [h.make_tensor_value_info(n, T.FLOAT, a.shape)
                                   for n, a in inputs.items()],
                     [h.make_tensor_value_info("y", T.FLOAT, None)], initializer=list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
    m.ir_version = 10 if opset >= 21 else 9 if opset >= 19 else 8
    onnx.save(m, f"{out}/{name}.onnx")
x = {"x": rng.standard_normal((2, 6, 3, 3)).astype(np.float32)}
xg = dict(x, grid=rng.uniform(-1.1, 1.1, (2, 3, 3, 2)).astype(np.float32))
sig = {"sig": rng.standard_normal((2, 8, 3, 1)).astype(np.float32)}
save("gelu20", [h.make_node("Gelu", ["x"], ["y"])], x, 20)
save("gelu20tanh", [h.make_node("Gelu", ["x"], ["y"], approximate="tanh")], x, 20)
for mode in ("bilinear", "bicubic", "nearest"):
    save(f"gridsample16{mode}", [h.make_node("GridSample", ["x", "grid"], ["y"], mode=mode)],
         xg, 16)
for mode in ("linear", "cubic"):
    save(f"gridsample20{mode}", [h.make_node("GridSample", ["x", "grid"], ["y"], mode=mode)],
         xg, 20)
save("dft17", [h.make_node("DFT", ["sig"], ["y"])], sig, 17)  # axis 1
save("dft17onesided", [h.make_node("DFT", ["sig"], ["y"], axis=2, onesided=1)],
     sig, 17)
save("dft20", [h.make_node("DFT", ["sig"], ["y"])], sig, 20)  # axis -2
save("dft20axis", [h.make_node("DFT", ["sig", "", "axis"], ["y"])], sig, 20,
     [nh.from_array(np.array(1, np.int64), "axis")])
groups = [nh.from_array(rng.uniform(0.5, 1.5, 3).astype(np.float32), "scale"),
          nh.from_array(rng.standard_normal(3).astype(np.float32), "bias")]
save("groupnorm18", [h.make_node("GroupNormalization", ["x", "scale", "bias"], ["y"],
                                 num_groups=3)], x, 18, groups)
save("groupnorm21", [h.make_node("GroupNormalization", ["x", "scale", "bias"], ["y"],
                                 num_groups=3)], x, 21,
     [nh.from_array(np.repeat(nh.to_array(t), 2), t.name) for t in groups])
pads = nh.from_array(np.array([0, 0, 1, 2, 0, 0, 2, 1], np.int64), "pads")
save("padwrap19", [h.make_node("Pad", ["x", "pads"], ["y"], mode="wrap")], x, 19,
     [pads])
w = nh.from_array(rng.integers(-8, 8, (6, 4)).astype(np.int8), "w")
s = nh.from_array(rng.uniform(0.01, 0.1, (3, 4)).astype(np.float32), "s")
save("dqblocked21", [h.make_node("DequantizeLinear", ["w", "s"], ["wd"], axis=0, block_size=2),
                     h.make_node("MatMul", ["v", "wd"], ["y"])], {"v": rng.standard_normal((2, 6)).astype(np.float32)}, 21, [w, s])
PYEOF
adapter() {  # MODEL TARGET: converted, run in ONNX Runtime, same outputs as the original
  local m=$1 t=$2
  [ -f "$A/$m.ref.npz" ] || $ORT_RUN run "$A/$m.onnx" --inputs "$A/$m.in.npz" -o "$A/$m.ref.npz" 2>"$WORK/ort.err" ||
    { fail "$m: ONNX Runtime runs the original: $(cat "$WORK/ort.err")"; return; }
  if $MOPT convert "$A/$m.onnx" -o "$A/$m.to$t.onnx" --opset "$t" 2>"$WORK/conv.err"; then
    $ORT_RUN run "$A/$m.to$t.onnx" --inputs "$A/$m.in.npz" -o "$A/$m.to$t.npz" 2>"$WORK/ort.err" ||
      { fail "$m -> opset $t: ONNX Runtime: $(cat "$WORK/ort.err")"; return; }
    check "$m -> opset $t: same outputs in ONNX Runtime" \
      $COMPARE "$A/$m.ref.npz" "$A/$m.to$t.npz" --atol 1e-6 --rtol 1e-5
  else
    fail "$m -> opset $t: $(cat "$WORK/conv.err")"
  fi
}
for t in 19 17 13; do adapter gelu20 $t; adapter gelu20tanh $t; done
for m in gridsample16bilinear gridsample16bicubic gridsample16nearest; do adapter $m 20; adapter $m 21; done
for m in gridsample20linear gridsample20cubic; do adapter $m 19; adapter $m 16; done
for m in dft17 dft17onesided; do adapter $m 20; adapter $m 21; done
for m in dft20 dft20axis; do adapter $m 19; adapter $m 17; done
adapter groupnorm18 21
adapter groupnorm21 20
adapter groupnorm21 18
expect_error "Pad mode 'wrap' (19) is refused going to 18" 3 \
  "\[Pad Pad #0: mode 'wrap' does not exist before opset 19\]" "$A/no.onnx" \
  $MOPT convert "$A/padwrap19.onnx" -o "$A/no.onnx" --opset 18
expect_error "blocked DequantizeLinear (21) is refused going to 20" 3 \
  "DequantizeLinear #0: blocked quantization (block_size=2) does not exist before opset 21" \
  "$A/no.onnx" $MOPT convert "$A/dqblocked21.onnx" -o "$A/no.onnx" --opset 20
expect_error "GroupNormalization (18) has no form below 18" 3 \
  "GroupNormalization does not exist in opset 17" "$A/no.onnx" \
  $MOPT convert "$A/groupnorm21.onnx" -o "$A/no.onnx" --opset 17

# 4-bit weights as blocked DequantizeLinear (opset 21) run in ONNX Runtime. Without its graph
# fusions ORT computes exactly what mopt's executor does; with them (its default) it runs the
# weights as MatMulNBits, which quantizes activations to 8 bits: same predictions, close logits.
Q=$WORK/mlp.q4.onnx
if $MOPT run "$S/digits_mlp.op17.onnx" -p 'convert-opset{target=21},quantize-weight-only{format=qdq,block-size=32}' \
  -o "$Q" 2>"$WORK/q.err"; then
  check "qdq int4 model is opset 21 with blocked DequantizeLinear" \
    bash -c "$MOPT inspect $Q | grep -q 'ai.onnx 21' && $MOPT print $Q | grep -q 'DequantizeLinear(.*block_size=32'"
  $MOPT exec "$Q" --inputs "$D" --map input=x -o "$WORK/q.exec.npz" 2>/dev/null
  $ORT_RUN run "$Q" --inputs "$D" --map input=x -o "$WORK/q.ort_basic.npz" --opt-level basic
  $ORT_RUN run "$Q" --inputs "$D" --map input=x -o "$WORK/q.ort.npz"
  check "qdq int4: ONNX Runtime (no fusions) matches mopt exec" \
    $COMPARE "$WORK/q.exec.npz" "$WORK/q.ort_basic.npz" --atol 1e-5 --rtol 1e-5
  check "qdq int4: ONNX Runtime (default, MatMulNBits) keeps mopt exec's accuracy" \
    bash -c "$COMPARE $WORK/q.exec.npz $WORK/q.ort.npz --atol 0.25 --rtol 0 --labels $D:y |
             node -e 'const r=JSON.parse(require(\"fs\").readFileSync(0)); process.exit(Math.abs(r.accuracy.A-r.accuracy.B)<=0.005?0:1)'"
  check "qdq int4: accuracy stays within 2 points of the float model" \
    bash -c "$COMPARE $WORK/digits_mlp.op17.ref.npz $WORK/q.ort.npz --atol 10 --rtol 0 --labels $D:y |
             node -e 'const r=JSON.parse(require(\"fs\").readFileSync(0)); process.exit(r.accuracy.A-r.accuracy.B<=0.02?0:1)'"
else
  fail "convert-opset{target=21},quantize-weight-only{format=qdq}: $(cat "$WORK/q.err")"
fi

# The cleanup pipeline on the CNN: BatchNorm folded, same predictions.
$MOPT run -p 'fold-bn-into-conv,eliminate-identity,dce' "$S/digits_cnn.op17.onnx" -o "$WORK/cnn_clean.onnx" 2>/dev/null
check "fold-bn-into-conv removed every BatchNormalization" bash -c "! $MOPT inspect $WORK/cnn_clean.onnx | grep -q BatchNormalization"
run_ort "$WORK/cnn_clean.onnx" "$WORK/clean.npz"
check "folded CNN matches the original within 1e-4 and keeps its accuracy" \
  bash -c "$COMPARE $WORK/digits_cnn.op17.ref.npz $WORK/clean.npz --atol 1e-4 --rtol 1e-4 --labels $D:y |
           node -e 'const r=JSON.parse(require(\"fs\").readFileSync(0)); process.exit(r.accuracy.A===r.accuracy.B?0:1)'"

# Same input and pipeline, same bytes.
$MOPT run "$S/cleanup.yaml" -o "$WORK/d1.onnx" 2>/dev/null
$MOPT run "$S/cleanup.yaml" -o "$WORK/d2.onnx" 2>/dev/null
check "mopt run is byte-deterministic" cmp "$WORK/d1.onnx" "$WORK/d2.onnx"
finish
