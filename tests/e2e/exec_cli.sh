#!/usr/bin/env bash
# mopt exec / compare / eval, and the passes that execute (fold-constants) or infer
# (infer-shapes), checked against ONNX Runtime and the samples' recorded accuracies.
source "$(dirname "$0")/lib.sh"
S=$MOPT_SRC/samples
D=$S/digits_test.npz
F=${MOPT_FIXTURES:-$MOPT_BUILD/fixtures}
$PY "$MOPT_SRC/scripts/make_fixtures.py" --out "$F" --only resnet18,mobilenet_v2,bert >/dev/null
$PY - "$WORK" <<'PYEOF'
import sys
import numpy as np
rng = np.random.default_rng(1)
np.savez(f"{sys.argv[1]}/img.npz", input=rng.standard_normal((2, 3, 224, 224), dtype=np.float32))
ids = rng.integers(0, 30522, size=(2, 32), dtype=np.int64)
mask = np.ones((2, 32), dtype=np.int64)
mask[0, 20:] = 0
np.savez(f"{sys.argv[1]}/txt.npz", input_ids=ids, attention_mask=mask)
PYEOF

# exec against ONNX Runtime.
exec_vs_ort() {  # NAME MODEL INPUTS MAP TOL
  $MOPT exec "$2" --inputs "$3" ${4:+--map "$4"} -o "$WORK/$1.mopt.npz" 2>/dev/null
  $ORT_RUN run "$2" --inputs "$3" ${4:+--map "$4"} -o "$WORK/$1.ort.npz"
  check "$1: mopt exec matches ONNX Runtime within $5" $COMPARE "$WORK/$1.ort.npz" "$WORK/$1.mopt.npz" --atol "$5" --rtol "$5"
}
exec_vs_ort mlp "$S/digits_mlp.op17.onnx" "$D" input=x 1e-5
exec_vs_ort cnn "$S/digits_cnn.op13.onnx" "$D" input=x_img 1e-5
exec_vs_ort resnet18 "$F/resnet18.onnx" "$WORK/img.npz" "" 1e-4
exec_vs_ort bert "$F/bert.onnx" "$WORK/txt.npz" "" 1e-4
exec_vs_ort mobilenet_v2 "$F/mobilenet_v2.onnx" "$WORK/img.npz" "" 1e-4

# The executor fuses Conv with a following Relu or constant-bound Clip (run in place): Clip-6's
# attributes, Clip-13 with one bound omitted, bounds that are not constants (left unfused), and a
# Conv whose output is also read elsewhere (left unfused), each against ONNX Runtime.
$PY - "$WORK" <<'PYEOF'
import sys
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
w = sys.argv[1]
rng = np.random.default_rng(2)
def conv(name, x, out):
    wt = numpy_helper.from_array(rng.standard_normal((4, 4, 3, 3)).astype(np.float32), name + "_w")
    b = numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), name + "_b")
    return helper.make_node("Conv", [x, wt.name, b.name], [out], pads=[1, 1, 1, 1]), [wt, b]
def model(opset, acts):
    nodes, inits, outs, x = [], [], [], "x"
    for i, act in enumerate(acts):
        n, t = conv(f"c{i}", x, f"conv{i}")
        nodes.append(n)
        inits += t
        nodes.append(act(i, f"conv{i}", f"act{i}", inits))
        x = f"act{i}"
    nodes.append(helper.make_node("Add", ["conv0", x], ["y"]))  # conv0 read twice: not fused
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 6, 6]),
                                       helper.make_tensor_value_info("hi", TensorProto.FLOAT, [])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
def clip6(i, x, y, inits):
    return helper.make_node("Clip", [x], [y], min=-0.5, max=0.75)
def relu(i, x, y, inits):
    return helper.make_node("Relu", [x], [y])
def clip13_max_only(i, x, y, inits):
    inits.append(numpy_helper.from_array(np.array(0.6, np.float32), f"max{i}"))
    return helper.make_node("Clip", [x, "", f"max{i}"], [y])
def clip13_input_bound(i, x, y, inits):
    inits.append(numpy_helper.from_array(np.array(-0.2, np.float32), f"min{i}"))
    return helper.make_node("Clip", [x, f"min{i}", "hi"], [y])
m6 = model(10, [clip6, relu, clip6])
m6.graph.input.pop()  # no "hi" at opset 10
onnx.save(m6, f"{w}/clip6.onnx")
onnx.save(model(13, [relu, clip13_max_only, clip13_input_bound]), f"{w}/clip13.onnx")
np.savez(f"{w}/clip.npz", x=rng.standard_normal((1, 4, 6, 6)).astype(np.float32), hi=np.array(0.3, np.float32))
np.savez(f"{w}/clip6in.npz", x=np.load(f"{w}/clip.npz")["x"])
PYEOF
exec_vs_ort conv_clip6 "$WORK/clip6.onnx" "$WORK/clip6in.npz" "" 1e-5
exec_vs_ort conv_clip13 "$WORK/clip13.onnx" "$WORK/clip.npz" "" 1e-5

# eval: the accuracies samples/make_samples.py measured in PyTorch.
for m in mlp cnn; do
  want=$(node -e "console.log(require('$S/samples.json').models['digits_$m'].test_accuracy)")
  map=input=x
  [ $m = cnn ] && map=input=x_img
  got=$($MOPT eval "$S/digits_$m.op13.onnx" --data "$D" --labels y --map $map --runs 5 --json |
        node -e "console.log(JSON.parse(require('fs').readFileSync(0)).accuracy.toFixed(4))")
  check "eval $m: accuracy $got equals PyTorch's $want" test "$got" = "$(printf '%.4f' "$want")"
done

# compare: identical models, a folded model, per-node search, TorchScript vs ONNX.
check "compare a model with itself: zero error" bash -c "$MOPT compare $S/digits_cnn.op13.onnx $S/digits_cnn.op17.onnx --inputs $D --map input=x_img --json |
  node -e 'const r=JSON.parse(require(\"fs\").readFileSync(0)); process.exit(r.outputs[0].max_abs===0 && r.outputs[0].top1_agreement===1 ? 0 : 1)'"
$MOPT run -p 'fold-bn-into-conv,dce' "$S/digits_cnn.op13.onnx" -o "$WORK/folded.onnx" 2>/dev/null
check "compare with the BN-folded CNN: same top-1, tiny error" bash -c "$MOPT compare $S/digits_cnn.op13.onnx $WORK/folded.onnx --inputs $D --map input=x_img --json |
  node -e 'const r=JSON.parse(require(\"fs\").readFileSync(0)).outputs[0]; process.exit(r.top1_agreement===1 && r.max_abs<1e-4 && r.cosine>0.999999 ? 0 : 1)'"
check "compare --per-node finds no divergence between a model and its opset-17 copy" bash -c \
  "$MOPT compare $S/digits_mlp.op13.onnx $S/digits_mlp.op17.onnx --random 4 --per-node | grep -q 'no divergence'"
check "compare --per-node names the folded Conv as the first divergence" bash -c \
  "$MOPT compare $S/digits_cnn.op13.onnx $WORK/folded.onnx --inputs $D --map input=x_img --per-node | grep -q \"first divergence: '/0/Conv_output_0'\""

# infer-shapes types every value of resnet18; fold-constants keeps BERT's outputs.
check "infer-shapes leaves no value untyped in resnet18" bash -c \
  "$MOPT run -p infer-shapes $F/resnet18.onnx -o $WORK/r.onnx 2>&1 | grep -q 'values-typed 49' && ! $MOPT print $WORK/r.onnx | grep -v '^  init' | grep -q ': ?'"
$MOPT run -p 'infer-shapes,fold-constants,dce' "$F/bert.onnx" -o "$WORK/bert_folded.onnx" 2>"$WORK/fold.log"
check "fold-constants folded nodes in BERT" grep -q 'nodes-folded' "$WORK/fold.log"
exec_vs_ort bert_folded "$WORK/bert_folded.onnx" "$WORK/txt.npz" "" 1e-4
$ORT_RUN run "$WORK/bert_folded.onnx" --inputs "$WORK/txt.npz" -o "$WORK/bf.npz"
check "folded BERT matches the original in ONNX Runtime" $COMPARE "$WORK/bert.ort.npz" "$WORK/bf.npz" --atol 1e-4 --rtol 1e-4

# fold-constants never folds random ops and leaves results over max-bytes to run time.
$PY - "$WORK" <<'PYEOF'
import sys
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
c = numpy_helper.from_array(np.ones((4, 4), np.float32), "c")
reps = numpy_helper.from_array(np.array([64, 64], np.int64), "reps")
nodes = [helper.make_node("RandomNormal", [], ["r"], shape=[4, 4], seed=1.0),
         helper.make_node("Add", ["r", "c"], ["rc"]),           # reads a random value: stays
         helper.make_node("Mul", ["c", "c"], ["cc"]),           # 64 bytes: folded
         helper.make_node("Tile", ["cc", "reps"], ["big"]),     # 256x256 floats = 256 KiB
         helper.make_node("ReduceSum", ["big"], ["s"], keepdims=0),
         helper.make_node("Add", ["x", "s"], ["y0"]),
         helper.make_node("Add", ["y0", "rc"], ["y"])]
g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 4])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 4])], [c, reps])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), f"{sys.argv[1]}/fold.onnx")
PYEOF
$MOPT run -p 'fold-constants{max-bytes=65536},dce' "$WORK/fold.onnx" -o "$WORK/folded.onnx" 2>/dev/null
check "fold-constants keeps RandomNormal and what reads it, folds small results, not ones over max-bytes" $PY -c "
import onnx, sys
ops = [n.op_type for n in onnx.load(sys.argv[1]).graph.node]
print(ops)
sys.exit(0 if ops.count('RandomNormal') == 1 and 'Mul' not in ops and 'Tile' in ops else 1)" "$WORK/folded.onnx"
$MOPT run -p 'fold-constants,dce' "$WORK/fold.onnx" -o "$WORK/folded_all.onnx" 2>/dev/null
check "with the default max-bytes the 256 KiB Tile folds (the check above can fail)" $PY -c "
import onnx, sys
ops = [n.op_type for n in onnx.load(sys.argv[1]).graph.node]
print(ops)
sys.exit(0 if 'Tile' not in ops and 'ReduceSum' not in ops and 'RandomNormal' in ops else 1)" "$WORK/folded_all.onnx"

# TorchScript models through exec / compare / eval: inputs described by the mapped arrays.
$MOPT exec "$S/digits_cnn.traced.pt" --inputs "$D" --map input=x_img -o "$WORK/ts.npz" 2>/dev/null
$MOPT exec "$S/digits_cnn.op13.onnx" --inputs "$D" --map input=x_img -o "$WORK/onnx.npz" 2>/dev/null
check "exec on TorchScript (--map) matches exec on the ONNX export" \
  $COMPARE "$WORK/onnx.npz" "$WORK/ts.npz" --atol 1e-4 --rtol 1e-4
check "compare TorchScript with ONNX: same top-1 everywhere" bash -c \
  "$MOPT compare $S/digits_cnn.traced.pt $S/digits_cnn.op13.onnx --inputs $D --map input=x_img --json | $PY -c 'import json,sys; r=json.load(sys.stdin); o=r[\"outputs\"][0]; sys.exit(not (o[\"top1_agreement\"] == 1.0 and o[\"max_abs\"] < 1e-4))'"
check "eval on scripted TorchScript gives PyTorch's accuracy" bash -c \
  "$MOPT eval $S/digits_cnn.scripted.pt --data $D --map input=x_img --labels y | grep -q 'accuracy    0.9933'"
expect_error "exec on TorchScript with a sample of several arrays and no --map" 2 \
  "forward() takes 1 tensor argument(s) but the sample has 3 arrays; choose them with --map" "$WORK/o.npz" \
  $MOPT exec "$S/digits_cnn.traced.pt" --inputs "$D" -o "$WORK/o.npz"

expect_error "exec with a missing input array" 2 "no array for input 'input' (arrays: x, x_img, y; use --map input=ARRAY)" \
  "$WORK/o.npz" $MOPT exec "$S/digits_cnn.op13.onnx" --inputs "$D" -o "$WORK/o.npz"
expect_error "exec with the wrong shape" 2 "input 'input' must have shape \[N,1,8,8\], got \[450,64\]" "$WORK/o.npz" \
  $MOPT exec "$S/digits_cnn.op13.onnx" --inputs "$D" --map input=x -o "$WORK/o.npz"
finish
