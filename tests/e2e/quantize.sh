#!/usr/bin/env bash
# mopt quantize on the digits samples, every mode, checked by ONNX Runtime: accuracy against the
# float model on the held-out split, agreement with mopt's executor, integer kernels really
# running (ORT's optimized-model dump), smaller files, calibration shards, bad data.
source "$(dirname "$0")/lib.sh"
S=$MOPT_SRC/samples
D=$S/digits_test.npz  # the held-out split: accuracy is judged here and nothing is tuned on it
T=$WORK/digits_train.npz  # the training split: calibration and auto-exclude's evaluation
$PY "$MOPT_SRC/scripts/make_digits_train.py" "$T" >/dev/null
QC="$PY $MOPT_SRC/tests/e2e/quant_check.py"

mapof() { [[ $(basename "$1") == *cnn* ]] && echo input=x_img || echo input=x; }
run_ort() {  # MODEL OUT.npz [OPT_DUMP.onnx]
  local extra=()
  [ $# -ge 3 ] && extra=(--opt-dump "$3")
  $ORT_RUN run "$1" --inputs "$D" --map "$(mapof "$1")" -o "$2" "${extra[@]}"
}
run_mopt() { $MOPT exec "$1" --inputs "$D" --map "$(mapof "$1")" -o "$2" 2>/dev/null; }

# quantized MODEL NAME MAX_DROP MAX_ABS FLAGS...: quantize, then accuracy in ORT, executor vs ORT.
quantized() {
  local model=$1 name=$2 max_drop=$3 max_abs=$4
  shift 4
  local base
  base=$(basename "$model" .onnx)
  local out=$WORK/$base.$name.onnx
  if ! $MOPT quantize "$model" -o "$out" "$@" 2>"$WORK/q.err"; then
    fail "$base $name: mopt quantize failed: $(tail -n 1 "$WORK/q.err")"
    return 1
  fi
  if ! run_ort "$out" "$WORK/$base.$name.ort.npz" "$WORK/$base.$name.opt.onnx" 2>"$WORK/r.err"; then
    fail "$base $name: ONNX Runtime cannot run it: $(tail -n 1 "$WORK/r.err")"
    return 1
  fi
  if ! run_mopt "$out" "$WORK/$base.$name.mopt.npz" 2>"$WORK/r.err"; then
    fail "$base $name: mopt exec cannot run it: $(tail -n 1 "$WORK/r.err")"
    return 1
  fi
  check "$base $name: accuracy in ONNX Runtime within $max_drop pt of fp32" \
    $QC accuracy "$WORK/$base.ref.npz" "$WORK/$base.$name.ort.npz" "$D:y" --max-drop "$max_drop"
  sed 's/^/      /' "$WORK/check.log"  # the figures (docs/BENCHMARKS.md quotes them)
  local ref=$WORK/$base.$name.ort.npz level=""
  if [ -n "${AGREE_OPT_LEVEL:-}" ]; then  # compare with ORT running the graph as written
    level=" (--opt-level $AGREE_OPT_LEVEL)"
    ref=$WORK/$base.$name.ort_plain.npz
    $ORT_RUN run "$out" --inputs "$D" --map "$(mapof "$out")" -o "$ref" --opt-level "$AGREE_OPT_LEVEL"
  fi
  check "$base $name: mopt's executor agrees with ONNX Runtime$level" \
    $QC agree "$WORK/$base.$name.mopt.npz" "$ref" --max-abs "$max_abs" --min-top1 0.99
}

for m in digits_mlp digits_cnn; do
  # (a failed step is reported by `quantized`; keep going to report the rest)
  f=$S/$m.op17.onnx
  run_ort "$f" "$WORK/$m.op17.ref.npz"
  cp "$WORK/$m.op17.ref.npz" "$WORK/$m.op17.ref.npz.bak"
  calib=(--calib-data "$T" --calib-map "$(mapof "$f")" --calib-samples 128)
  B=$m.op17
  # Executor vs ORT on static models: ORT's integer kernels requantize with their own rounding, so
  # a logit may land one output quantization step away (the logits' scale is ~0.11 here).
  qtol=0.25
  mv "$WORK/$m.op17.ref.npz.bak" "$WORK/$B.ref.npz"

  # Dynamic int8 (DynamicQuantizeLinear + MatMulInteger/ConvInteger): <= 0.3 pt.
  quantized "$f" dynamic 0.3 0.05 --mode dynamic || true
  check "$m dynamic: ONNX Runtime fuses the integer ops" \
    $QC ops "$WORK/$B.dynamic.opt.onnx" --require DynamicQuantizeMatMul --forbid MatMul,Gemm
  check "$m dynamic: file at most 0.45x of fp32" $QC size "$WORK/$B.dynamic.onnx" "$f" --max-ratio 0.45
  # ONNX Runtime turns DequantizeLinear(int8) -> MatMul into its own MatMulNBits, which computes
  # with int8 activations: not bit-comparable with a float MatMul on the dequantized weight.
  quantized "$f" dynamic-qdq 0.3 0.15 --mode dynamic --format qdq || true

  # Static int8, QDQ: <= 0.5 pt, and ORT really runs integer kernels (no float Conv/Gemm left).
  quantized "$f" static 0.5 "$qtol" --mode static "${calib[@]}" || true
  forbid=Conv,Gemm,MatMul
  require=QGemm
  [[ $m == *cnn* ]] && require=QLinearConv,QGemm
  check "$m static: ONNX Runtime runs QLinearConv/QGemm, no float Conv/Gemm" \
    $QC ops "$WORK/$B.static.opt.onnx" --require "$require" --forbid "$forbid"
  check "$m static: file at most 0.4x of fp32" $QC size "$WORK/$B.static.onnx" "$f" --max-ratio 0.4
  quantized "$f" static-qop 0.5 "$qtol" --mode static --format qoperator "${calib[@]}" || true
  [[ $m == *cnn* ]] && check "$m static qoperator: explicit QLinearConv" \
    $QC ops "$WORK/$B.static-qop.onnx" --require QLinearConv,QuantizeLinear --forbid Conv
  quantized "$f" static-s8 0.5 "$qtol" --mode static --activation-type int8 "${calib[@]}" || true
  for method in percentile mse; do
    quantized "$f" "static-$method" 0.5 "$qtol" --mode static --method "$method" "${calib[@]}" || true
  done
  # Entropy (KL) calibration runs; on these tiny models it clips hard, so only sanity is checked.
  quantized "$f" static-entropy 10 "$qtol" --mode static --method entropy "${calib[@]}" || true
  quantized "$f" static-int16 0.5 0.01 --mode static --activation-type int16 "${calib[@]}" || true

  # Int4 weight-only, block 32: <= 1.0 pt.
  quantized "$f" int4 1.0 1e-4 --mode weight-only --block-size 32 || true
  check "$m int4: file at most 0.45x of fp32" $QC size "$WORK/$B.int4.onnx" "$f" --max-ratio 0.45
  quantized "$f" int4-sym 1.0 1e-4 --mode weight-only --block-size 32 --symmetric || true
  # Blocked DequantizeLinear needs opset 21: mopt quantize upgrades the model for it. ORT's
  # extended optimizations rewrite DQ + MatMul into MatMulNBits with accuracy_level 4 (int8
  # activations, ~0.08 off on these logits), so the executor is compared with the graph as
  # written (basic level: exact).
  AGREE_OPT_LEVEL=basic quantized "$f" int4-qdq 1.0 1e-4 --mode weight-only --block-size 32 --format qdq || true
  check "$m int4 qdq: blocked DequantizeLinear at opset 21" $PY -c "
import onnx, sys
m = onnx.load(sys.argv[1])
dq = [n for n in m.graph.node if n.op_type == 'DequantizeLinear' and any(a.name == 'block_size' and a.i == 32 for a in n.attribute)]
sys.exit(0 if dq and [o.version for o in m.opset_import if o.domain in ('', 'ai.onnx')] == [21] else 1)" "$WORK/$B.int4-qdq.onnx"
  quantized "$f" int8-wo 0.3 1e-4 --mode weight-only --bits 8 --block-size 32 || true

  # Same input and flags, same bytes.
  $MOPT quantize "$f" -o "$WORK/$B.det.onnx" --mode static "${calib[@]}" 2>/dev/null
  check "$m static: byte-identical on a second run" cmp "$WORK/$B.static.onnx" "$WORK/$B.det.onnx"
done

# TorchScript outputs (-o x.pt): loaded and run by Python's torch, same accuracy bounds. fp16 is
# left out: LibTorch 1.13's CPU has no half-precision convolution or matmul kernels to run it.
f=$S/digits_cnn.op17.onnx
for mode in dynamic static weight-only; do
  extra=()
  [ $mode = static ] && extra=(--calib-data "$T" --calib-map input=x_img --calib-samples 128)
  limit=0.5
  [ $mode = weight-only ] && limit=1.0
  if $MOPT quantize "$f" -o "$WORK/cnn.$mode.pt" --mode $mode "${extra[@]}" 2>"$WORK/q.err"; then
    $PY "$MOPT_SRC/tests/e2e/ts_run.py" "$WORK/cnn.$mode.pt" "$D" "$WORK/cnn.$mode.ts.npz" --args x_img
    check "digits_cnn $mode as TorchScript: accuracy in torch within $limit pt of fp32" \
      $QC accuracy "$WORK/digits_cnn.op17.ref.npz" "$WORK/cnn.$mode.ts.npz" "$D:y" --max-drop $limit
  else
    fail "digits_cnn $mode: TorchScript output: $(tail -n 1 "$WORK/q.err")"
  fi
done

# A pipeline file with per-tensor overrides: the logits stay float, the input gets a fixed range.
cat >"$WORK/q.yaml" <<YAML
version: 1
input: $S/digits_cnn.op17.onnx
output: $WORK/yaml_cnn.onnx
passes:
  - fold-bn-into-conv
  - quantize-static:
      calib-data: $T
      calib-map: [input=x_img]
      overrides: [logits=float, "input=range:0:1"]
      show-ranges: true
YAML
$MOPT run "$WORK/q.yaml" 2>"$WORK/yaml.log"
check "pipeline-file overrides: the logits are computed in float (no QuantizeLinear on them)" \
  bash -c "$MOPT print $WORK/yaml_cnn.onnx | grep -q '%logits = Gemm'"
check "pipeline-file overrides: the input's range is the one given" \
  grep -q 'range of input: \[0, 1\] -> scale 0.00392157, zero point 0' "$WORK/yaml.log"
run_ort "$WORK/yaml_cnn.onnx" "$WORK/yaml.npz"
check "pipeline-file overrides: the model keeps its accuracy in ONNX Runtime" \
  $QC accuracy "$WORK/digits_cnn.op17.ref.npz" "$WORK/yaml.npz" "$D:y" --max-drop 0.5

# Sensitivity analysis and auto-exclude: entropy calibration clips the first conv's output hard
# on this model; the analysis must rank it first and auto-exclude must keep it (and only what
# is needed) in float to meet a 0.5 pt accuracy target.
f=$S/digits_cnn.op17.onnx
$MOPT quantize "$f" --mode static --dry-run >/dev/null  # flags parse
$MOPT run -p "fold-bn-into-conv,quantization-sensitivity{calib-data=\"$T\",calib-map=[\"input=x_img\"],method=entropy,eval-labels=y,eval-samples=450,report=\"$WORK/sens.json\"}" \
  "$f" -o "$WORK/sens_passthrough.onnx" 2>/dev/null
# mopt quantize --analyze: the same table on standard output, and no model.
$MOPT quantize "$f" --mode static --analyze --calib-data "$T" --calib-map input=x_img --method entropy \
  --eval-labels y --eval-samples 450 >"$WORK/analyze.txt" 2>"$WORK/analyze.log"
check "quantize --analyze prints the per-node table, most sensitive first" \
  bash -c "grep -q '^ *1  /0/Conv ' $WORK/analyze.txt && grep -q '^float accuracy' $WORK/analyze.txt"
$MOPT quantize "$f" --mode static --analyze --calib-data "$T" --calib-map input=x_img \
  --report "$WORK/analyze.md" >/dev/null 2>&1
check "quantize --analyze --report writes Markdown" grep -q '^| 1 | `' "$WORK/analyze.md"
expect_error "quantize --analyze refuses -o (it writes no model)" 1 "--analyze writes a report, not a model" \
  "$WORK/analyze.onnx" $MOPT quantize "$f" -o "$WORK/analyze.onnx" --mode static --analyze --calib-data "$T"
check "quantization-sensitivity writes a JSON table, most sensitive node first" \
  $PY -c "import json,sys; r=json.load(open(sys.argv[1])); n=r['nodes']; print(n[0]); sys.exit(not (n[0]['node']=='/0/Conv' and n[0]['alone']['sqnr_db'] <= n[-1]['alone']['sqnr_db'] and r['float_accuracy'] > 99))" "$WORK/sens.json"
$MOPT quantize "$f" -o "$WORK/auto_cnn.onnx" --mode static --calib-data "$T" --calib-map input=x_img --method entropy \
  --auto-exclude max-drop=0.5 --eval-labels y --eval-samples 1347 --report "$WORK/auto.md" 2>"$WORK/auto.log"
check "auto-exclude keeps the most sensitive node in float and says so" grep -q 'auto-exclude kept /0/Conv in float' "$WORK/auto.log"
check "auto-exclude's Markdown report lists what it kept" grep -q '^1. `/0/Conv`' "$WORK/auto.md"
run_ort "$WORK/auto_cnn.onnx" "$WORK/auto.npz"
check "auto-exclude meets its target in ONNX Runtime" \
  $QC accuracy "$WORK/digits_cnn.op17.ref.npz" "$WORK/auto.npz" "$D:y" --max-drop 0.5
$MOPT quantize "$f" -o "$WORK/ent_cnn.onnx" --mode static --calib-data "$T" --calib-map input=x_img --method entropy 2>/dev/null
run_ort "$WORK/ent_cnn.onnx" "$WORK/ent.npz"
check "without auto-exclude the same settings lose more than the target (the test can fail)" \
  bash -c "! $QC accuracy $WORK/digits_cnn.op17.ref.npz $WORK/ent.npz $D:y --max-drop 0.5"

# Selection: by node name, by op type, by regex, and the cosine target of auto-exclude.
weights_float() {  # MODEL OP [no]: every OP node reads a float initializer as its weight (or none)
  $PY -c "
import onnx, sys
m = onnx.load(sys.argv[1])
inits = {i.name for i in m.graph.initializer}
nodes = [n for n in m.graph.node if n.op_type == sys.argv[2]]
float_w = [n.input[1] in inits for n in nodes]
print([(n.name, n.input[1]) for n in nodes])
want = len(sys.argv) < 4
sys.exit(0 if nodes and all(f == want for f in float_w) else 1)" "$@"
}
sel=(--mode static --format qoperator --calib-data "$T" --calib-map input=x_img)
$MOPT quantize "$f" -o "$WORK/sel_name.onnx" "${sel[@]}" --exclude /0/Conv 2>/dev/null
check "--exclude NODE keeps that Conv in float, quantizes the other" \
  $QC ops "$WORK/sel_name.onnx" --require Conv,QLinearConv
check "--exclude NODE: the excluded Conv reads its float weight" weights_float "$WORK/sel_name.onnx" Conv
$MOPT quantize "$f" -o "$WORK/sel_ops.onnx" "${sel[@]}" --include-ops Conv 2>/dev/null
check "--include-ops Conv quantizes both Convs" $QC ops "$WORK/sel_ops.onnx" --require QLinearConv --forbid Conv
check "--include-ops Conv leaves the Gemm weights float" weights_float "$WORK/sel_ops.onnx" Gemm
$MOPT quantize "$f" -o "$WORK/sel_re.onnx" "${sel[@]}" --exclude 're:.*Gemm' 2>/dev/null
check "--exclude re:REGEX leaves the Gemm weights float" weights_float "$WORK/sel_re.onnx" Gemm
$MOPT quantize "$f" -o "$WORK/sel_def.onnx" "${sel[@]}" 2>/dev/null
check "without selection the Gemm weights are quantized (the checks above can fail)" \
  weights_float "$WORK/sel_def.onnx" Gemm no
$MOPT quantize "$f" -o "$WORK/auto_cos_cnn.onnx" --mode static --calib-data "$T" --calib-map input=x_img --method entropy \
  --auto-exclude min-cosine=0.9999 --eval-samples 256 2>"$WORK/auto_cos.log"
run_ort "$WORK/auto_cos_cnn.onnx" "$WORK/auto_cos.npz"
check "auto-exclude min-cosine keeps nodes in float until the cosine holds" \
  bash -c "grep -q 'auto-exclude kept .* in float' $WORK/auto_cos.log && $PY -c \"
import numpy as np, sys
a, b = np.load('$WORK/digits_cnn.op17.ref.npz'), np.load('$WORK/auto_cos.npz')
x, y = (d[list(d)[0]].ravel().astype(float) for d in (a, b))
c = x @ y / np.linalg.norm(x) / np.linalg.norm(y); print(c); sys.exit(int(c < 0.9995))\""

# GPTQ: calibrated on the first half of the split, judged on the second half against the float
# model; it must beat round-to-nearest's output error and keep int4 within 1 pt.
$PY - "$WORK" "$D" <<'PYEOF'
import sys, numpy as np
w, d = sys.argv[1], np.load(sys.argv[2])
np.savez(f"{w}/calib_half.npz", **{k: v[:225] for k, v in d.items()})
np.savez(f"{w}/eval_half.npz", **{k: v[225:] for k, v in d.items()})
PYEOF
f=$S/digits_mlp.op17.onnx
$ORT_RUN run "$f" --inputs "$WORK/eval_half.npz" --map input=x -o "$WORK/half.ref.npz"
for alg in rtn gptq; do
  $MOPT quantize "$f" -o "$WORK/mlp.$alg.onnx" --mode weight-only --block-size 32 --algorithm "$alg" \
    --calib-data "$WORK/calib_half.npz" --calib-map input=x 2>/dev/null
  $ORT_RUN run "$WORK/mlp.$alg.onnx" --inputs "$WORK/eval_half.npz" --map input=x -o "$WORK/half.$alg.npz"
done
check "GPTQ int4: held-out accuracy within 1 pt of fp32" \
  $QC accuracy "$WORK/half.ref.npz" "$WORK/half.gptq.npz" "$WORK/eval_half.npz:y" --max-drop 1.0
check "GPTQ int4: held-out output closer to fp32 than round-to-nearest" \
  $QC better "$WORK/half.ref.npz" "$WORK/half.rtn.npz" "$WORK/half.gptq.npz"

# Calibration in shards, merged, equals one pass (statistics and the quantized model).
f=$S/digits_cnn.op17.onnx
$MOPT calibrate "$f" --data "$D" --map input=x_img -o "$WORK/all.json" 2>/dev/null
for k in 0 1 2; do $MOPT calibrate "$f" --data "$D" --map input=x_img --shard $k/3 -o "$WORK/s$k.json" 2>/dev/null; done
$MOPT calibrate --merge "$WORK/s0.json" "$WORK/s1.json" "$WORK/s2.json" -o "$WORK/merged.json" 2>/dev/null
check "three calibration shards merge into exactly the single-pass statistics" cmp "$WORK/all.json" "$WORK/merged.json"
cp "$WORK/merged.json" "$WORK/stats.json"
$MOPT quantize "$f" -o "$WORK/a.onnx" --mode static --load-calibration "$WORK/stats.json" 2>/dev/null
cp "$WORK/all.json" "$WORK/stats.json"
$MOPT quantize "$f" -o "$WORK/b.onnx" --mode static --load-calibration "$WORK/stats.json" 2>/dev/null
check "a model quantized from merged shards is byte-identical" cmp "$WORK/a.onnx" "$WORK/b.onnx"
$MOPT quantize "$f" -o "$WORK/c.onnx" --mode static --calib-data "$D" --calib-map input=x_img \
  --save-calibration "$WORK/saved.json" 2>/dev/null
$MOPT quantize "$f" -o "$WORK/d.onnx" --mode static --load-calibration "$WORK/saved.json" 2>/dev/null
check "save-calibration then load-calibration gives the same model (but its provenance)" \
  $PY -c "import onnx,sys; a,b=onnx.load(sys.argv[1]),onnx.load(sys.argv[2]); del a.metadata_props[:]; del b.metadata_props[:]; sys.exit(a.SerializeToString()!=b.SerializeToString())" "$WORK/c.onnx" "$WORK/d.onnx"

# A model with an If whose branches hold MatMuls, and a scalar bool input: dynamic and weight-only
# quantize the branch bodies too; static quantizes the main graph, says what it left float, and
# feeds a scalar array to the scalar input for every sample.
$PY - "$WORK" <<'PYEOF'
import sys
import numpy as np
from onnx import TensorProto, helper, numpy_helper, save
w = sys.argv[1]
rng = np.random.default_rng(0)
def branch(name):
    wt = numpy_helper.from_array(rng.standard_normal((16, 16)).astype(np.float32), name + "_w")
    return helper.make_graph(
        [helper.make_node("MatMul", ["h", wt.name], [name + "_y"]), helper.make_node("Relu", [name + "_y"], [name + "_out"])],
        name, [], [helper.make_tensor_value_info(name + "_out", TensorProto.FLOAT, [None, 16])], [wt])
w0 = numpy_helper.from_array(rng.standard_normal((16, 16)).astype(np.float32), "w0")
g = helper.make_graph(
    [helper.make_node("MatMul", ["x", "w0"], ["h"]),
     helper.make_node("If", ["cond"], ["y"], then_branch=branch("then"), else_branch=branch("else"))],
    "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 16]), helper.make_tensor_value_info("cond", TensorProto.BOOL, [])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 16])], [w0])
save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), f"{w}/ifm.onnx")
np.savez(f"{w}/ifm.npz", x=rng.standard_normal((64, 16)).astype(np.float32), cond=np.array(True))
PYEOF
$MOPT quantize "$WORK/ifm.onnx" -o "$WORK/ifm.dyn.onnx" --mode dynamic 2>"$WORK/ifm.log"
check "dynamic quantizes the MatMuls inside the If branches too" grep -q 'matmuls-quantized 3' "$WORK/ifm.log"
$MOPT quantize "$WORK/ifm.onnx" -o "$WORK/ifm.static.onnx" --mode static --calib-data "$WORK/ifm.npz" 2>"$WORK/ifm.log"
check "static with a scalar input: calibrates, quantizes the main graph, names what stays float" \
  bash -c "grep -q 'weights-quantized 1' $WORK/ifm.log && grep -q 'left 4 node(s) inside If/Loop/Scan bodies in float' $WORK/ifm.log"
for v in ifm ifm.dyn ifm.static; do $ORT_RUN run "$WORK/$v.onnx" --inputs "$WORK/ifm.npz" -o "$WORK/$v.out.npz"; done
check "both run in ONNX Runtime close to the float model (cosine >= 0.999)" bash -c "$QC agree $WORK/ifm.out.npz $WORK/ifm.dyn.out.npz --max-abs 1e9 --min-cosine 0.999 && $QC agree $WORK/ifm.out.npz $WORK/ifm.static.out.npz --max-abs 1e9 --min-cosine 0.999"

# Bad calibration data: one clear error, before any work, no output file.
$PY - "$WORK" <<'PYEOF'
import sys, numpy as np
w = sys.argv[1]
np.savez(f"{w}/bad_name.npz", foo=np.zeros((4, 1, 8, 8), np.float32))
np.savez(f"{w}/bad_shape.npz", input=np.zeros((4, 1, 9, 8), np.float32))
np.savez(f"{w}/bad_dtype.npz", input=np.zeros((4, 1, 8, 8), np.float64))
np.savez(f"{w}/bad_rank.npz", input=np.zeros((4, 8, 8), np.float32))
PYEOF
expect_error "calibration data without the input's array" 2 "bad_name.npz: no array 'input'" "$WORK/o.onnx" \
  $MOPT quantize "$f" -o "$WORK/o.onnx" --mode static --calib-data "$WORK/bad_name.npz"
expect_error "calibration data of the wrong shape" 2 "bad_shape.npz: array 'input' has shape \[4,1,9,8\]" "$WORK/o.onnx" \
  $MOPT quantize "$f" -o "$WORK/o.onnx" --mode static --calib-data "$WORK/bad_shape.npz"
expect_error "calibration data of the wrong dtype" 2 "bad_dtype.npz: array 'input' is f64" "$WORK/o.onnx" \
  $MOPT quantize "$f" -o "$WORK/o.onnx" --mode static --calib-data "$WORK/bad_dtype.npz"
expect_error "calibration data of the wrong rank" 2 "bad_rank.npz: array 'input' has shape \[4,8,8\]" "$WORK/o.onnx" \
  $MOPT quantize "$f" -o "$WORK/o.onnx" --mode static --calib-data "$WORK/bad_rank.npz"
expect_error "missing calibration data file" 2 "nope.npz: no such file" "$WORK/o.onnx" \
  $MOPT quantize "$f" -o "$WORK/o.onnx" --mode static --calib-data "$WORK/nope.npz"
expect_error "statistics of another model" 2 "calibration statistics have no tensor" "$WORK/o.onnx" \
  $MOPT quantize "$S/digits_mlp.op17.onnx" -o "$WORK/o.onnx" --mode static --load-calibration "$WORK/all.json"
echo '{"format": "something else"}' >"$WORK/junk.json"
expect_error "a file that is not calibration statistics" 2 "junk.json: not a mopt calibration file" "$WORK/o.onnx" \
  $MOPT quantize "$f" -o "$WORK/o.onnx" --mode static --load-calibration "$WORK/junk.json"
expect_error "static mode without calibration" 1 "needs calibration" "$WORK/o.onnx" \
  $MOPT quantize "$f" -o "$WORK/o.onnx" --mode static
expect_error "a flag of another mode" 1 "\-\-bits does not apply to --mode static" "$WORK/o.onnx" \
  $MOPT quantize "$f" -o "$WORK/o.onnx" --mode static --bits 4
expect_error "an unknown mode" 1 "mode must be dynamic, static" "$WORK/o.onnx" \
  $MOPT quantize "$f" -o "$WORK/o.onnx" --mode int3
finish
