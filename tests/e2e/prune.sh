#!/usr/bin/env bash
# mopt prune on small models, checked by ONNX Runtime and Python's torch: magnitude pruning of
# the digits CNN (accuracy, reported sparsity = real zeros), the 2:4 pattern on every pruned
# weight, and structured pruning of a CNN with a residual block, a Concat of two branches,
# depthwise convs, a Split and a Flatten -> Gemm head whose dead channels make the pruned model
# compute exactly what the original computes (grouped convs too); TorchScript in and out; bad
# options; determinism.
source "$(dirname "$0")/lib.sh"
S=$MOPT_SRC/samples
D=$S/digits_test.npz
QC="$PY $MOPT_SRC/tests/e2e/quant_check.py"
PC="$PY $MOPT_SRC/tests/e2e/prune_check.py"
TS="$PY $MOPT_SRC/tests/e2e/ts_run.py"
CNN=$S/digits_cnn.op17.onnx
run_ort() { $ORT_RUN run "$1" --inputs "$D" --map input=x_img -o "$2"; }
run_ort "$CNN" "$WORK/ref.npz"

# prune METHOD NAME FLAGS...: prunes the digits CNN into $WORK/NAME.onnx with a JSON report.
prune() {
  local name=$1
  shift
  if ! $MOPT prune "$CNN" -o "$WORK/$name.onnx" --report "$WORK/$name.json" "$@" 2>"$WORK/p.err"; then
    fail "$name: mopt prune failed: $(tail -n 1 "$WORK/p.err")"
    return 1
  fi
  run_ort "$WORK/$name.onnx" "$WORK/$name.npz"
}

# Magnitude, 50 % of all prunable weights with one global threshold: <= 0.5 pt without
# fine-tuning. Layer by layer the 144-weight first conv and the 640-weight head lose more.
prune mag-global --method magnitude --sparsity 0.5 --scope global
check "magnitude 50% global: accuracy in ONNX Runtime within 0.5 pt of fp32" \
  $QC accuracy "$WORK/ref.npz" "$WORK/mag-global.npz" "$D:y" --max-drop 0.5
check "magnitude 50% global: the reported sparsity is the real zero count" \
  $PC zeros "$WORK/mag-global.onnx" "$WORK/mag-global.json"
check "magnitude 50% global: total sparsity 0.5" \
  $PY -c "import json,sys; t=json.load(open(sys.argv[1]))['total']; print(t); sys.exit(t['zeros_after']!=t['params']//2)" "$WORK/mag-global.json"
prune mag-layer --method magnitude --sparsity 0.5
check "magnitude 50% per layer: every layer at 50%, report = model" \
  $PC zeros "$WORK/mag-layer.onnx" "$WORK/mag-layer.json"
check "magnitude 50% per layer: runs, within 6 pt" \
  $QC accuracy "$WORK/ref.npz" "$WORK/mag-layer.npz" "$D:y" --max-drop 6
prune mag-min --method magnitude --sparsity 0.5 --min-size 1000
check "magnitude per layer with min-size 1000: small layers left alone, within 0.5 pt" \
  $QC accuracy "$WORK/ref.npz" "$WORK/mag-min.npz" "$D:y" --max-drop 0.5
$MOPT prune "$CNN" -o "$WORK/mag-det.onnx" --method magnitude --sparsity 0.5 --scope global --report "$WORK/mag-global.json" 2>/dev/null
check "magnitude: byte-identical on a second run" cmp "$WORK/mag-global.onnx" "$WORK/mag-det.onnx"

# 2:4 (and 4:8): the pattern holds along the reduction axis of every pruned weight.
prune nm --method nm
check "2:4: every pruned weight has >= 2 zeros in each group of 4 along its reduction axis" \
  $PC nm "$CNN" "$WORK/nm.onnx" 2 4
check "2:4: the reported sparsity is the real zero count" $PC zeros "$WORK/nm.onnx" "$WORK/nm.json"
check "2:4: the first conv (one input channel) is reported as left alone" \
  grep -q "not a multiple of m=4" "$WORK/nm.json"
check "2:4: runs in ONNX Runtime, within 3 pt" $QC accuracy "$WORK/ref.npz" "$WORK/nm.npz" "$D:y" --max-drop 3
prune nm48 --method nm --n 4 --m 8
check "4:8: the pattern holds" $PC nm "$CNN" "$WORK/nm48.onnx" 4 8
check "the 2:4 check can fail: 4:8 weights are not all 2:4" bash -c "! $PC nm $CNN $WORK/nm48.onnx 2 4"

# Structured on the digits CNN: a smaller model that still runs (accuracy needs fine-tuning).
prune st --method structured --ratio 0.5
check "structured digits CNN: valid, interface unchanged" $PC valid "$WORK/st.onnx" "$CNN"
check "structured digits CNN: conv 16 -> 8, conv 32 -> 16, hidden 64 -> 32" \
  $PC channels "$WORK/st.onnx" "/0/Conv=8,/3/Conv=16,/8/Gemm=32,/10/Gemm=10"
check "structured digits CNN: MACs fall >= 3.5x" $PC macs "$WORK/st.json" --min-factor 3.5

# The dependency test model (prune_check.py net): half of every group's channels are dead, so
# l1/l2/bn-scale must remove exactly those, and the pruned model must compute the same logits
# (any channel removed from the wrong place, or a consumer sliced wrongly, shows up).
$PC net "$WORK" >/dev/null 2>&1
NET=$WORK/net.onnx
for imp in l1 l2 bn-scale; do
  if $MOPT prune "$NET" -o "$WORK/net.$imp.onnx" --method structured --importance $imp --report "$WORK/net.$imp.json" 2>"$WORK/p.err"; then
    $ORT_RUN run "$WORK/net.$imp.onnx" --inputs "$WORK/net_in.npz" -o "$WORK/net.$imp.npz"
    check "dependency net, importance $imp: ONNX Runtime gives the original's logits" \
      $PC close "$WORK/net_ref.npz" "$WORK/net.$imp.npz" --max-abs 1e-4
  else
    fail "dependency net $imp: $(tail -n 1 "$WORK/p.err")"
  fi
done
check "dependency net: valid (onnx full check), inputs and outputs keep their shapes" \
  $PC valid "$WORK/net.l1.onnx" "$NET"
check "dependency net: every group halved (residual 16->8, grouped conv 16->8 in 2 groups, branches 12->6 and 20->10, depthwise 32->16, split parts 12->6, depthwise x2 24->12, transposed 16->8, hidden 32->16)" \
  $PC channels "$WORK/net.l1.onnx" "/stem/Conv=8,/r2/Conv=8,/r1/Conv=8,/gc/Conv=8,/b1/Conv=6,/b2/Conv=10,/dw/Conv=16,/pw/Conv=12,/dw2/Conv=12,/up/ConvTranspose=8,/fc1/Gemm=16,/fc2/Gemm=10"
$MOPT prune "$NET" -o "$WORK/net.rand.onnx" --method structured --importance random --seed 3 2>/dev/null
$ORT_RUN run "$WORK/net.rand.onnx" --inputs "$WORK/net_in.npz" -o "$WORK/net.rand.npz"
check "dependency net: random importance removes live channels (the check can fail)" \
  bash -c "! $PC close $WORK/net_ref.npz $WORK/net.rand.npz --max-abs 1e-4"
$MOPT exec "$WORK/net.l1.onnx" --inputs "$WORK/net_in.npz" -o "$WORK/net.mopt.npz" 2>/dev/null
check "dependency net: mopt's executor agrees" $PC close "$WORK/net_ref.npz" "$WORK/net.mopt.npz" --max-abs 1e-4
# TorchScript: the traced module through mopt's TorchScript frontend, and -o x.pt into torch.
if $MOPT prune "$WORK/net.traced.pt" -o "$WORK/net.ts.pt" --method structured --input-shape input=N,3,8,8 2>"$WORK/p.err"; then
  $TS "$WORK/net.ts.pt" "$WORK/net_in.npz" "$WORK/net.ts.npz"
  check "dependency net from TorchScript, written as TorchScript: torch gives the original's logits" \
    $PC close "$WORK/net_ref.npz" "$WORK/net.ts.npz" --max-abs 1e-4
else
  fail "dependency net TorchScript: $(tail -n 1 "$WORK/p.err")"
fi
if $MOPT prune "$WORK/net.traced.pt" -o "$WORK/net.bn.pt" --method structured --input-shape input=N,3,8,8 \
  --keep-batchnorm --importance bn-scale 2>"$WORK/p.err"; then
  $TS "$WORK/net.bn.pt" "$WORK/net_in.npz" "$WORK/net.bn.npz"
  check "dependency net from TorchScript with its BatchNorms kept, bn-scale: torch gives the original's logits" \
    $PC close "$WORK/net_ref.npz" "$WORK/net.bn.npz" --max-abs 1e-4
else
  fail "dependency net TorchScript --keep-batchnorm: $(tail -n 1 "$WORK/p.err")"
fi
$MOPT prune "$NET" -o "$WORK/net.det.onnx" --method structured --importance l1 --report "$WORK/net.l1.json" 2>/dev/null
check "structured: byte-identical on a second run" cmp "$WORK/net.l1.onnx" "$WORK/net.det.onnx"
check "structured: the Markdown report has the groups and the totals" \
  bash -c "$MOPT prune $NET -o $WORK/net.md.onnx --method structured --report $WORK/net.md 2>/dev/null && grep -q '^## Dependency groups' $WORK/net.md && grep -q '| \*\*model\*\* |' $WORK/net.md"

# Bad options: one clear error line, no output file (and no report).
expect_error "ratio 1.5" 1 "ratio must be in \[0, 1), not 1.5" "$WORK/bad.onnx" \
  $MOPT prune "$CNN" -o "$WORK/bad.onnx" --method structured --ratio 1.5 --report "$WORK/bad.json"
check "ratio 1.5: no report either" test ! -e "$WORK/bad.json"
expect_error "unknown method" 1 "--method must be magnitude, nm or structured, not 'lottery'" "$WORK/bad.onnx" \
  $MOPT prune "$CNN" -o "$WORK/bad.onnx" --method lottery
expect_error "an option of another method" 1 "--ratio does not apply to --method magnitude" "$WORK/bad.onnx" \
  $MOPT prune "$CNN" -o "$WORK/bad.onnx" --method magnitude --ratio 0.5
expect_error "n >= m" 1 "n must be in \[1, m)" "$WORK/bad.onnx" \
  $MOPT prune "$CNN" -o "$WORK/bad.onnx" --method nm --n 4 --m 4
expect_error "sparsity not a number" 1 "sparsity" "$WORK/bad.onnx" \
  $MOPT prune "$CNN" -o "$WORK/bad.onnx" --method magnitude --sparsity half
expect_error "a bad override" 1 "overrides entry 'x=2': the ratio must be in \[0, 1)" "$WORK/bad.onnx" \
  $MOPT prune "$CNN" -o "$WORK/bad.onnx" --method structured --overrides x=2
expect_error "a missing input" 2 "nope.onnx" "$WORK/bad.onnx" \
  $MOPT prune "$WORK/nope.onnx" -o "$WORK/bad.onnx" --method magnitude

# Pipeline files: per-layer overrides of prune-structured.
cat >"$WORK/p.yaml" <<YAML
version: 1
input: $CNN
output: $WORK/yaml.onnx
passes:
  - prune-structured:
      ratio: 0.5
      overrides: [/3/Conv=0, "re:/8/.*=0.75"]
YAML
$MOPT run "$WORK/p.yaml" 2>/dev/null
check "pipeline-file overrides: /3/Conv kept whole, /8/Gemm at 0.75, /0/Conv at the default" \
  $PC channels "$WORK/yaml.onnx" "/0/Conv=8,/3/Conv=32,/8/Gemm=16"
finish
