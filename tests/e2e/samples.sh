#!/usr/bin/env bash
# The committed samples through mopt, checked by ONNX Runtime and Python onnx: lossless round
# trips, external data both ways, the cleanup passes, opset conversion in both directions.
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

  # Opset conversion, every target from 7 to 18, checked against the original's outputs.
  for target in 7 8 9 10 11 12 13 14 15 16 17 18; do
    if $MOPT convert "$S/$f.onnx" -o "$WORK/$f.to$target.onnx" --opset "$target" 2>"$WORK/conv.err"; then
      run_ort "$WORK/$f.to$target.onnx" "$WORK/$f.to$target.npz"
      check "$f: convert-opset to $target runs in ONNX Runtime with the same outputs" \
        $COMPARE "$WORK/$f.ref.npz" "$WORK/$f.to$target.npz" --atol 1e-5 --rtol 1e-5
    else
      fail "$f: convert-opset to $target: $(cat "$WORK/conv.err")"
    fi
  done
done

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
