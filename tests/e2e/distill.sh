#!/usr/bin/env bash
# Distillation: mopt distill recovers a damaged digits CNN from the original (accuracy in ONNX
# Runtime, zeros kept, byte-deterministic), and distill-export's files train the student in
# Python's torch with the loop docs/distillation.md shows.
source "$(dirname "$0")/lib.sh"
S=$MOPT_SRC/samples
D=$S/digits_test.npz
QC="$PY $MOPT_SRC/tests/e2e/quant_check.py"
T=$S/digits_cnn.op17.onnx
$PY "$MOPT_SRC/scripts/make_digits_train.py" "$WORK/train.npz" >/dev/null
# Two students. Structured: 60 % of the channels removed (accuracy collapses). Unstructured:
# 80 % of every weight set to zero (the zeros must survive training).
$MOPT prune "$T" -o "$WORK/structured.onnx" --method structured --ratio 0.6 2>/dev/null
$MOPT prune "$T" -o "$WORK/student.onnx" --method magnitude --sparsity 0.8 2>/dev/null
$ORT_RUN run "$T" --inputs "$D" --map input=x_img -o "$WORK/teacher.npz"
$ORT_RUN run "$WORK/structured.onnx" --inputs "$D" --map input=x_img -o "$WORK/structured.npz"
check "the structured-pruned student has clearly lost accuracy (more than 20 pt)" \
  bash -c "! $QC accuracy $WORK/teacher.npz $WORK/structured.npz $D:y --max-drop 20"
start=$(date +%s)
$MOPT distill "$WORK/structured.onnx" -o "$WORK/structured.rec.onnx" --teacher "$T" --data "$WORK/train.npz" \
  --data-map input=x_img --epochs 60 --lr 0.003 2>/dev/null
seconds=$(($(date +%s) - start))
$ORT_RUN run "$WORK/structured.rec.onnx" --inputs "$D" --map input=x_img -o "$WORK/structured.rec.npz"
check "distill recovers the structured-pruned CNN to within 1.0 pt of the teacher in ONNX Runtime" \
  $QC accuracy "$WORK/teacher.npz" "$WORK/structured.rec.npz" "$D:y" --max-drop 1.0
check "distill took under 2 minutes ($seconds s)" test "$seconds" -lt 120
check "the pruned shapes are kept" $PY -c "
import onnx, sys
shapes = lambda f: sorted((i.name, tuple(i.dims)) for i in onnx.load(f).graph.initializer)
sys.exit(shapes(sys.argv[1]) != shapes(sys.argv[2]))" "$WORK/structured.onnx" "$WORK/structured.rec.onnx"

$ORT_RUN run "$WORK/student.onnx" --inputs "$D" --map input=x_img -o "$WORK/student.npz"
$MOPT distill "$WORK/student.onnx" -o "$WORK/recovered.onnx" --teacher "$T" --data "$WORK/train.npz" \
  --data-map input=x_img --epochs 30 --eval-data "$D" --labels y 2>"$WORK/distill.log"
$ORT_RUN run "$WORK/recovered.onnx" --inputs "$D" --map input=x_img -o "$WORK/recovered.npz"
check "distill recovers the 80 %-sparse CNN to within 1.0 pt of the teacher" \
  $QC accuracy "$WORK/teacher.npz" "$WORK/recovered.npz" "$D:y" --max-drop 1.0
check "every weight that was zero is still exactly zero, and only those" $PY - "$WORK/student.onnx" "$WORK/recovered.onnx" <<'PYEOF'
import sys, numpy as np, onnx
from onnx import numpy_helper
a = {i.name: numpy_helper.to_array(i) for i in onnx.load(sys.argv[1]).graph.initializer}
b = {i.name: numpy_helper.to_array(i) for i in onnx.load(sys.argv[2]).graph.initializer}
changed = sum(int((a[k] != b[k]).sum()) for k in a)
bad = sum(int(((a[k] == 0) != (b[k] == 0)).sum()) for k in a if a[k].ndim >= 2)
print(f"{changed} weights changed, {bad} zero-pattern differences")
sys.exit(1 if bad or changed == 0 else 0)
PYEOF
# 2:4 zeros stay through training too, here with SGD + momentum, a constant learning rate and a
# feature loss on the hidden layer (same name in student and teacher).
$MOPT prune "$T" -o "$WORK/nm.onnx" --method nm 2>/dev/null
$MOPT distill "$WORK/nm.onnx" -o "$WORK/nm.rec.onnx" --teacher "$T" --data "$WORK/train.npz" \
  --data-map input=x_img --epochs 8 --optimizer sgd --momentum 0.9 --lr 0.01 --schedule constant \
  --features /9/Relu_output_0 --feature-weight 0.1 2>"$WORK/nm.log"
check "distill (sgd, constant lr, feature loss) keeps the 2:4 zeros exactly and trains" $PY - "$WORK/nm.onnx" "$WORK/nm.rec.onnx" <<'PYEOF'
import sys, numpy as np, onnx
from onnx import numpy_helper
a = {i.name: numpy_helper.to_array(i) for i in onnx.load(sys.argv[1]).graph.initializer}
b = {i.name: numpy_helper.to_array(i) for i in onnx.load(sys.argv[2]).graph.initializer}
changed = sum(int((a[k] != b[k]).sum()) for k in a)
zeros = sum(int((a[k] == 0).sum()) for k in a if a[k].ndim >= 2)
bad = sum(int(((a[k] == 0) != (b[k] == 0)).sum()) for k in a if a[k].ndim >= 2)
print(f"{changed} weights changed, {zeros} zeros, {bad} zero-pattern differences")
sys.exit(1 if bad or changed == 0 or zeros == 0 else 0)
PYEOF
$MOPT distill "$WORK/nm.onnx" -o "$WORK/nm.nofeat.onnx" --teacher "$T" --data "$WORK/train.npz" \
  --data-map input=x_img --epochs 8 --optimizer sgd --momentum 0.9 --lr 0.01 --schedule constant 2>/dev/null
check "the feature loss is part of the run (reported, and it changes the trained weights)" \
  bash -c "grep -q 'features-matched 1' $WORK/nm.log && $PY -c \"
import sys, numpy as np, onnx
from onnx import numpy_helper
w = [{i.name: numpy_helper.to_array(i) for i in onnx.load(f).graph.initializer} for f in sys.argv[1:]]
diff = sum(float(np.abs(w[0][k] - w[1][k]).sum()) for k in w[0])
print(diff); sys.exit(int(diff == 0))\" $WORK/nm.rec.onnx $WORK/nm.nofeat.onnx"
check "the report counts the kept zeros and the loss going down" \
  bash -c "grep -q 'zeros-kept [1-9]' $WORK/distill.log && grep -q 'loss .* (epoch 1) -> .* (epoch 30)' $WORK/distill.log"
$MOPT distill "$WORK/student.onnx" -o "$WORK/r1.onnx" --teacher "$T" --data "$WORK/train.npz" --data-map input=x_img --epochs 2 2>/dev/null
$MOPT distill "$WORK/student.onnx" -o "$WORK/r2.onnx" --teacher "$T" --data "$WORK/train.npz" --data-map input=x_img --epochs 2 2>/dev/null
check "distill is byte-deterministic" cmp "$WORK/r1.onnx" "$WORK/r2.onnx"
$MOPT distill "$WORK/student.onnx" -o "$WORK/r3.onnx" --teacher "$T" --data "$WORK/train.npz" --data-map input=x_img --epochs 2 --threads 2 2>/dev/null
check "the trained weights do not depend on --threads" $PY -c "
import onnx, sys
a, b = onnx.load(sys.argv[1]), onnx.load(sys.argv[2])
sys.exit(list(a.graph.initializer) != list(b.graph.initializer))" "$WORK/r1.onnx" "$WORK/r3.onnx"

# distill-export as a pass: the student is the model a pipeline derived from the teacher (here
# structured pruning), the teacher the pipeline's input.
$MOPT run -p "fold-bn-into-conv,prune-structured{ratio=0.5},distill-export{out-dir=\"$WORK/kd2\",data=\"$WORK/train.npz\",data-map=[\"input=x_img\"]}" \
  "$T" -o "$WORK/kd2_student.onnx" 2>/dev/null
check "distill-export in a pipeline: pruned student, the input model as teacher, its logits" $PY - "$WORK/kd2" "$T" <<'PYEOF'
import hashlib, json, sys, numpy as np, onnx
out, teacher = sys.argv[1:3]
m = json.load(open(f"{out}/manifest.json"))
ok = hashlib.sha256(open(teacher, "rb").read()).hexdigest() == m["teacher"]["sha256"]
params = lambda f: sum(int(np.prod(i.dims)) for i in onnx.load(f).graph.initializer)
ok = ok and params(f"{out}/student.onnx") < 0.5 * params(teacher)
ok = ok and np.load(f"{out}/teacher_00000.npz")["logits"].shape == (1347, 10)
print(m["teacher"], params(f"{out}/student.onnx"), params(teacher))
sys.exit(0 if ok else 1)
PYEOF

# distill-export + the documented PyTorch loop (extracted from docs/distillation.md).
$MOPT distill-export "$WORK/student.onnx" --out-dir "$WORK/kd" --teacher "$T" --data "$WORK/train.npz" \
  --data-map input=x_img --temperature 4 --chunk 500 --features /5/Relu_output_0 2>/dev/null
check "distill-export writes 3 chunks, the student twice and a manifest" \
  bash -c "ls $WORK/kd | tr '\n' ' ' | grep -q 'manifest.json student.onnx student.pt teacher_00000.npz teacher_00001.npz teacher_00002.npz'"
check "the manifest's sha256s match the files, and the chunks the teacher's outputs" $PY - "$WORK/kd" "$T" "$WORK/train.npz" <<'PYEOF'
import hashlib, json, sys, numpy as np
out = sys.argv[1]
m = json.load(open(f"{out}/manifest.json"))
sha = lambda p: hashlib.sha256(open(p, "rb").read()).hexdigest()
ok = sha(m["data"]["path"]) == m["data"]["sha256"] and sha(sys.argv[2]) == m["teacher"]["sha256"]
ok = ok and all(sha(f"{out}/{c['file']}") == c["sha256"] for c in m["chunks"])
ok = ok and sha(f"{out}/student.pt") == m["student"]["torchscript_sha256"]
t = np.load(f"{out}/teacher_00001.npz")
p = t["probs"]
ok = ok and list(t["index"][:2]) == [500, 501] and np.allclose(p.sum(1), 1, atol=1e-5)
ok = ok and t["feature__5_Relu_output_0"].shape == (500, 32, 8, 8)
print("manifest consistent" if ok else "manifest INCONSISTENT")
sys.exit(0 if ok else 1)
PYEOF
awk '/^```python$/{f=1; next} /^```$/{f=0} f' "$MOPT_SRC/docs/distillation.md" >"$WORK/loop.py"
check "the documented PyTorch loop trains the exported student" $PY "$WORK/loop.py" "$WORK/kd" 2
$PY "$MOPT_SRC/tests/e2e/ts_run.py" "$WORK/kd/student.trained.pt" "$D" "$WORK/torch.npz" --args x_img
check "the student trained in torch gets most of its accuracy back (within 5 pt after 2 epochs)" \
  $QC accuracy "$WORK/teacher.npz" "$WORK/torch.npz" "$D:y" --max-drop 5

# Bad input: one clear line, no output.
expect_error "distill without data" 1 "needs option 'data'" "$WORK/x.onnx" \
  $MOPT distill "$WORK/student.onnx" -o "$WORK/x.onnx" --teacher "$T"
expect_error "distill with a missing data file" 2 "nope.npz: no such file" "$WORK/x.onnx" \
  $MOPT distill "$WORK/student.onnx" -o "$WORK/x.onnx" --teacher "$T" --data "$WORK/nope.npz"
expect_error "distill with data for another model" 2 "train.npz: array 'x' has shape \[1347,64\]" "$WORK/x.onnx" \
  $MOPT distill "$WORK/student.onnx" -o "$WORK/x.onnx" --teacher "$T" --data "$WORK/train.npz" --data-map input=x
expect_error "hard labels without a labels array" 1 "hard-weight > 0 needs labels" "$WORK/x.onnx" \
  $MOPT distill "$WORK/student.onnx" -o "$WORK/x.onnx" --teacher "$T" --data "$WORK/train.npz" \
  --data-map input=x_img --hard-weight 0.5
finish
