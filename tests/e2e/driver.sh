#!/usr/bin/env bash
# The pipeline driver: data sets referenced as @name, gates (exit code 4, no model unless
# --keep-failed), reports (JSON, Markdown, SVG), provenance, byte-determinism across runs and
# thread counts, and batch runs over many models.
source "$(dirname "$0")/lib.sh"
S=$MOPT_SRC/samples
cp "$S/digits_cnn.op13.onnx" "$S/digits_test.npz" "$WORK/"
$PY "$MOPT_SRC/scripts/make_digits_train.py" "$WORK/train.npz" >/dev/null
cat >"$WORK/pdq.yaml" <<'YAML'
version: 1
input: digits_cnn.op13.onnx
output: out/pdq.onnx
data:
  train: {path: train.npz, map: {input: x_img}, labels: y}
  test: {path: digits_test.npz, map: {input: x_img}, labels: y}
passes:
  - fold-bn-into-conv
  - prune-structured: {ratio: 0.6}
  - distill: {data: "@train", epochs: 60, lr: 0.003}
  - convert-opset: {target: 13, only-upgrade: true}
  - quantize-static: {calib-data: "@train", calib-samples: 256}
gates:
  data: test
  samples: 450
  max-accuracy-drop: 1.0
  min-cosine: 0.95
  max-size-ratio: 0.2
report:
  json: out/report.json
  markdown: out/report.md
  svg: out/report.svg
YAML
mkdir -p "$WORK/out"
rc=0
$MOPT run "$WORK/pdq.yaml" 2>"$WORK/run.log" || rc=$?
check "prune -> distill -> int8 meets its gates (exit 0)" test "$rc" = 0
check "the gates are reported" grep -q 'gate max-accuracy-drop .* pass' "$WORK/run.log"
$ORT_RUN run "$WORK/out/pdq.onnx" --inputs "$S/digits_test.npz" --map input=x_img -o "$WORK/pdq.npz"
$ORT_RUN run "$S/digits_cnn.op13.onnx" --inputs "$S/digits_test.npz" --map input=x_img -o "$WORK/ref.npz"
check "the result runs in ONNX Runtime within 1 pt of the original" \
  $PY "$MOPT_SRC/tests/e2e/quant_check.py" accuracy "$WORK/ref.npz" "$WORK/pdq.npz" "$S/digits_test.npz:y" --max-drop 1.0
check "the JSON report has every pass with time, peak memory, size and parameters, and the gates" $PY - "$WORK/out/report.json" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
names = [p["pass"] for p in r["passes"]]
ok = names == ["fold-bn-into-conv", "prune-structured", "distill", "convert-opset", "quantize-static"]
ok = ok and all(p["peak_rss_bytes"] > 0 and p["weight_bytes"] > 0 and p["parameters"] > 0 for p in r["passes"])
ok = ok and r["gates_passed"] and len(r["gates"]) == 3 and r["output"]["written"]
ok = ok and any(p["tables"] for p in r["passes"])  # per-layer tables from the passes
# prune-structured's per-layer sparsity: ratio 0.6 of every pruned layer's channels, counted.
t = next(t for p in r["passes"] if p["pass"] == "prune-structured" for t in p["tables"])
cols = t["columns"]
pruned = 0
for row in t["rows"]:  # the classifier's outputs stay (graph output): only its inputs shrink
    before, after = int(row[cols.index("channels before")]), int(row[cols.index("channels after")])
    sp = float(row[cols.index("sparsity %")])
    ok = ok and abs(sp - 100 * (before - after) / before) < 0.01
    if after < before:
        pruned += 1
        ok = ok and abs(sp - 60) < 100 / before
ok = ok and t["chart"] == "sparsity %" and pruned >= 3
print(cols, t["rows"])
print(names, r["gates"])
sys.exit(0 if ok else 1)
PYEOF
check "the Markdown report has the pass table and the gates" \
  bash -c "grep -q '| prune-structured |' $WORK/out/report.md && grep -q '## Gates: passed' $WORK/out/report.md"
check "the SVG chart is well-formed XML with bars" $PY -c "
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
bars = root.findall('{http://www.w3.org/2000/svg}rect')
title = root.find('{http://www.w3.org/2000/svg}text').text
print(title)
sys.exit(0 if len(bars) >= 3 and title.startswith('prune-structured: sparsity') else 1)" "$WORK/out/report.svg"
check "provenance: version, canonical pipeline and the input's sha256 in the output's metadata" $PY - "$WORK/out/pdq.onnx" "$WORK/digits_cnn.op13.onnx" <<'PYEOF'
import hashlib, onnx, sys
meta = {p.key: p.value for p in onnx.load(sys.argv[1]).metadata_props}
sha = hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest()
ok = meta.get("mopt.input_sha256") == sha and "prune-structured{ratio=0.6" in meta.get("mopt.pipeline", "")
ok = ok and meta.get("mopt.version")
print(meta.get("mopt.input_sha256"), sha)
sys.exit(0 if ok else 1)
PYEOF

# Determinism: the same run again, and with two threads, gives the same bytes.
cp "$WORK/out/pdq.onnx" "$WORK/first.onnx"
$MOPT run "$WORK/pdq.yaml" -o "$WORK/out/again.onnx" 2>/dev/null
check "the same run twice gives the same sha256" cmp "$WORK/first.onnx" "$WORK/out/again.onnx"
$MOPT run "$WORK/pdq.yaml" -o "$WORK/out/threads2.onnx" --threads 2 2>/dev/null
check "--threads 2 gives the same sha256 as --threads 1" cmp "$WORK/first.onnx" "$WORK/out/threads2.onnx"

# A gate that fails: exit code 4, the report says which and by how much, no model.
sed 's/max-size-ratio: 0.2/max-size-ratio: 0.01/' "$WORK/pdq.yaml" >"$WORK/strict.yaml"
rc=0
$MOPT run "$WORK/strict.yaml" -o "$WORK/out/strict.onnx" 2>"$WORK/strict.log" || rc=$?
check "a failed gate exits with code 4" test "$rc" = 4
check "a failed gate writes no model" test ! -e "$WORK/out/strict.onnx"
check "the failure names the gate, its value and its limit" \
  grep -q 'gate max-size-ratio .*0.0489 .*limit .*0.0100 .*FAIL' "$WORK/strict.log"
rc=0
$MOPT run "$WORK/strict.yaml" -o "$WORK/out/kept.onnx" --keep-failed 2>/dev/null || rc=$?
check "--keep-failed writes the model and still exits 4" bash -c "test $rc = 4 && test -s $WORK/out/kept.onnx"

# The latency gate (batch-1 p50 in mopt's executor): BN folding cannot make the CNN 10x slower,
# and nothing makes it 1000x faster.
cat >"$WORK/lat.yaml" <<YAML
input: $S/digits_cnn.op13.onnx
passes: [fold-bn-into-conv]
data:
  test: {path: $S/digits_test.npz, map: {input: x_img}, labels: y}
gates: {data: test, samples: 64, max-latency-ratio: 10}
YAML
rc=0
$MOPT run "$WORK/lat.yaml" -o "$WORK/out/lat.onnx" 2>"$WORK/lat.log" || rc=$?
check "max-latency-ratio passes for a float rewrite" \
  bash -c "test $rc = 0 && grep -q 'gate max-latency-ratio .* pass' $WORK/lat.log"
sed 's/max-latency-ratio: 10/max-latency-ratio: 0.001/' "$WORK/lat.yaml" >"$WORK/lat_strict.yaml"
rc=0
$MOPT run "$WORK/lat_strict.yaml" -o "$WORK/out/lat_strict.onnx" 2>"$WORK/lat.log" || rc=$?
check "max-latency-ratio fails below what is possible (exit 4, no model)" \
  bash -c "test $rc = 4 && grep -q 'gate max-latency-ratio .*FAIL' $WORK/lat.log && test ! -e $WORK/out/lat_strict.onnx"

# The committed sample pipeline itself (what make demo runs), in a copy of its folder layout.
mkdir -p "$WORK/demo/samples" "$WORK/demo/out"
cp "$MOPT_SRC/samples/prune-distill-quantize.yaml" "$S/digits_cnn.op13.onnx" "$S/digits_test.npz" "$WORK/demo/samples/"
cp "$WORK/train.npz" "$WORK/demo/out/digits_train.npz"
rc=0
$MOPT run "$WORK/demo/samples/prune-distill-quantize.yaml" 2>"$WORK/demo.log" || rc=$?
check "samples/prune-distill-quantize.yaml meets its gates and writes its model and reports" \
  bash -c "test $rc = 0 && test -s $WORK/demo/out/digits_cnn.pdq.onnx && test -s $WORK/demo/out/pdq.report.svg && test \$(grep -c 'gate .* pass ' $WORK/demo.log) = 3"

# Batch: every model of a glob; one broken file does not stop the others.
mkdir -p "$WORK/models"
cp "$S/digits_cnn.op13.onnx" "$WORK/models/a.onnx"
cp "$S/digits_cnn.op17.onnx" "$WORK/models/b.onnx"
head -c 100 "$S/digits_cnn.op17.onnx" >"$WORK/models/c_broken.onnx"
cat >"$WORK/clean.yaml" <<'YAML'
passes: [fold-bn-into-conv, dce]
YAML
rc=0
$MOPT run "$WORK/clean.yaml" --input-glob "$WORK/models/*.onnx" --output-dir "$WORK/batch" >"$WORK/batch.txt" 2>&1 || rc=$?
check "batch: the good models are written" bash -c "test -s $WORK/batch/a.onnx && test -s $WORK/batch/b.onnx"
check "batch: the broken one is reported and the exit code says so" \
  bash -c "test $rc = 2 && grep -q 'c_broken.onnx .* 2 ' $WORK/batch.txt && grep -q '3 model(s), 2 ok, 1 failed' $WORK/batch.txt"
check "batch: no output for the broken model" test ! -e "$WORK/batch/c_broken.onnx"

# Mistakes in the new sections: file:line:col and a suggestion.
cat >"$WORK/typo.yaml" <<'YAML'
input: digits_cnn.op13.onnx
output: out/x.onnx
data:
  train: {path: train.npz}
passes:
  - quantize-static: {calib-data: "@trian"}
YAML
expect_error "an unknown data set is named with a suggestion" 1 "typo.yaml:6:.*data set 'trian'.*did you mean 'train'" \
  "$WORK/out/x.onnx" $MOPT run "$WORK/typo.yaml"
printf 'input: digits_cnn.op13.onnx\noutput: out/x.onnx\npasses: [dce]\ngates: {max-acuracy-drop: 1}\n' >"$WORK/gtypo.yaml"
expect_error "an unknown gate is named with a suggestion" 1 "gtypo.yaml:4:.*unknown gate 'max-acuracy-drop'; did you mean 'max-accuracy-drop'" \
  "$WORK/out/x.onnx" $MOPT run "$WORK/gtypo.yaml"
finish
