#!/usr/bin/env bash
# CLI behaviour: listings, docs in sync, dry runs, printing, in-place, inspect against Python onnx.
source "$(dirname "$0")/lib.sh"
S=$MOPT_SRC/samples

check "--version" bash -c "$MOPT --version | grep -q '^mopt [0-9]'"
check "passes --json is valid JSON listing every pass" \
  node -e "const p=JSON.parse(require('child_process').execSync('$MOPT passes --json'));
           if(!['dce','eliminate-identity','fold-bn-into-conv','convert-opset'].every(n=>p.some(x=>x.name===n))) process.exit(1)"
check "docs/passes.md is what 'mopt passes --markdown' prints" \
  bash -c "$MOPT passes --markdown | diff -u $MOPT_SRC/docs/passes.md -"
check "--dry-run prints the canonical pipeline" \
  bash -c "$MOPT run -p 'dce , convert-opset{ target = 13 }' $S/digits_mlp.op17.onnx -o $WORK/x.onnx --dry-run |
           grep -qx 'pipeline: dce,convert-opset{target=13,only-upgrade=false}' && [ ! -e $WORK/x.onnx ]"
check "print is deterministic and shows the graph" \
  bash -c "$MOPT print $S/digits_mlp.op17.onnx > $WORK/p1 && $MOPT print $S/digits_mlp.op17.onnx > $WORK/p2 &&
           cmp -s $WORK/p1 $WORK/p2 && grep -q '= Gemm(%' $WORK/p1"
check "--print-ir-after dumps after the named pass" \
  bash -c "$MOPT run -p 'fold-bn-into-conv,dce' $S/digits_cnn.op13.onnx -o $WORK/f.onnx --print-ir-after=fold-bn-into-conv 2>/dev/null |
           grep -q '// IR after fold-bn-into-conv'"
cp "$S/digits_cnn.op13.onnx" "$WORK/inplace.onnx"
check "--in-place rewrites the input" \
  bash -c "$MOPT run -p fold-bn-into-conv $WORK/inplace.onnx -o $WORK/inplace.onnx --in-place 2>/dev/null &&
           ! $MOPT inspect $WORK/inplace.onnx | grep -q BatchNormalization"

# inspect --json against Python onnx: parameter counts and per-tensor zero counts.
for f in digits_mlp.op13 digits_mlp.op17 digits_cnn.op13 digits_cnn.op17; do
  $MOPT inspect "$S/$f.onnx" --json >"$WORK/$f.json"
  check "inspect --json $f agrees with Python onnx" $PY - "$S/$f.onnx" "$WORK/$f.json" <<'PYEOF'
import json, sys
import numpy as np, onnx
from onnx import numpy_helper
m = onnx.load(sys.argv[1])
r = json.load(open(sys.argv[2]))
arrays = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
for n in m.graph.node:
    if n.op_type == "Constant":
        arrays[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
assert r["parameters"] == sum(a.size for a in arrays.values()), (r["parameters"], sum(a.size for a in arrays.values()))
assert r["nodes"] == len(m.graph.node)
assert r["opsets"]["ai.onnx"] == m.opset_import[0].version
for t in r["tensors"]:
    a = arrays[t["name"]]
    assert t["shape"] == list(a.shape) and t["zeros"] == int((a == 0).sum()), t["name"]
assert [i["name"] for i in r["inputs"]] == [i.name for i in m.graph.input if i.name not in arrays]
PYEOF
done
finish
