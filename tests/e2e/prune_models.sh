#!/usr/bin/env bash
# Structured pruning (ratio 0.5) of the torchvision fixtures, resnet18 and mobilenet_v2, from
# their ONNX exports and from their TorchScript versions through mopt's TorchScript frontend:
# the result passes onnx's full check with the interface unchanged, runs in ONNX Runtime and, written as
# TorchScript, in Python's torch with the same outputs; resnet18's MACs fall >= 2.5x. Latency
# is measured by bench/prune.sh, not here.
source "$(dirname "$0")/lib.sh"
F=${MOPT_FIXTURES:-$MOPT_BUILD/fixtures}
PC="$PY $MOPT_SRC/tests/e2e/prune_check.py"
TS="$PY $MOPT_SRC/tests/e2e/ts_run.py"
$PY "$MOPT_SRC/scripts/make_fixtures.py" --out "$F" --only resnet18,mobilenet_v2 >/dev/null
$PY -c "import numpy as np; np.savez('$WORK/img.npz', input=np.random.default_rng(0).standard_normal((2, 3, 224, 224)).astype(np.float32))"

for m in resnet18 mobilenet_v2; do
  src=$F/$m.onnx
  out=$WORK/$m.pruned
  if ! $MOPT prune "$src" -o "$out.onnx" --method structured --ratio 0.5 --report "$out.json" 2>"$WORK/p.err"; then
    fail "$m: mopt prune failed: $(tail -n 1 "$WORK/p.err")"
    continue
  fi
  check "$m structured 0.5: onnx full check, graph inputs and outputs unchanged" $PC valid "$out.onnx" "$src"
  if $ORT_RUN run "$out.onnx" --inputs "$WORK/img.npz" -o "$out.ort.npz" 2>"$WORK/r.err"; then
    pass "$m structured 0.5: runs in ONNX Runtime"
  else
    fail "$m structured 0.5: ONNX Runtime: $(tail -n 1 "$WORK/r.err")"
  fi
  min=2.5
  [ $m = mobilenet_v2 ] && min=2.0
  check "$m structured 0.5: MACs fall >= ${min}x" $PC macs "$out.json" --min-factor $min
  # The same pruning written as TorchScript, run by torch.
  if $MOPT prune "$src" -o "$out.pt" --method structured --ratio 0.5 2>"$WORK/p.err"; then
    $TS "$out.pt" "$WORK/img.npz" "$out.ts.npz"
    check "$m structured 0.5 as TorchScript: torch agrees with ONNX Runtime" \
      $PC close "$out.ort.npz" "$out.ts.npz" --max-abs 1e-3
  else
    fail "$m: TorchScript output: $(tail -n 1 "$WORK/p.err")"
  fi
done

# From TorchScript (traced resnet18, scripted mobilenet_v2; BatchNorm folded by the frontend).
for pair in resnet18.traced mobilenet_v2.scripted; do
  src=$F/$pair.pt
  out=$WORK/$pair.pruned
  if ! $MOPT prune "$src" -o "$out.onnx" --method structured --ratio 0.5 --input-shape input=N,3,224,224 \
    --report "$out.json" 2>"$WORK/p.err"; then
    fail "$pair: mopt prune failed: $(tail -n 1 "$WORK/p.err")"
    continue
  fi
  check "$pair structured 0.5: onnx full check passes" \
    $PY -c "import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)" "$out.onnx"
  $ORT_RUN run "$out.onnx" --inputs "$WORK/img.npz" -o "$out.ort.npz" 2>"$WORK/r.err" || true
  check "$pair structured 0.5: ONNX Runtime gives [2, 1000] logits" \
    $PY -c "import numpy as np,sys; d=np.load(sys.argv[1]); sys.exit(d[list(d)[0]].shape!=(2,1000))" "$out.ort.npz"
  check "$pair structured 0.5: the same MACs as from the ONNX export" \
    $PY -c "import json,sys; a,b=(json.load(open(f))['total']['macs_after'] for f in sys.argv[1:]); print(a,b); sys.exit(a!=b)" \
    "$out.json" "$WORK/${pair%%.*}.pruned.json"
done
if $MOPT prune "$F/resnet18.traced.pt" -o "$WORK/r18.ts2ts.pt" --method structured --input-shape input=N,3,224,224 2>"$WORK/p.err"; then
  $TS "$WORK/r18.ts2ts.pt" "$WORK/img.npz" "$WORK/r18.ts2ts.npz"
  check "resnet18 TorchScript -> pruned TorchScript: torch agrees with ONNX Runtime on the same pruning" \
    $PC close "$WORK/resnet18.traced.pruned.ort.npz" "$WORK/r18.ts2ts.npz" --max-abs 1e-3
else
  fail "resnet18 TorchScript -> TorchScript: $(tail -n 1 "$WORK/p.err")"
fi
finish
