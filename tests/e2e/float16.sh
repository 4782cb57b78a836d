#!/usr/bin/env bash
# convert-float16 / convert-bfloat16 on the digits samples (and resnet18 / BERT when the fixtures
# are already built; this script does not build them): every output loads and runs in ONNX
# Runtime's CPU provider, agrees with mopt's executor, keeps the digits accuracy, halves the
# weights, keeps the interface names; calib-data keeps out-of-range nodes in float32.
source "$(dirname "$0")/lib.sh"
S=$MOPT_SRC/samples
D=$S/digits_test.npz
F=${MOPT_FIXTURES:-$MOPT_BUILD/fixtures}

# The digits split with float16 inputs (for float16 interfaces) and scaled inputs (calibration).
$PY - "$WORK" "$D" <<'PYEOF'
import sys
import numpy as np
d = np.load(sys.argv[2])
np.savez(f"{sys.argv[1]}/digits16.npz", x=d["x"].astype(np.float16), x_img=d["x_img"].astype(np.float16), y=d["y"])
np.savez(f"{sys.argv[1]}/calib.npz", input=d["x"][:32])
np.savez(f"{sys.argv[1]}/calib_big.npz", input=d["x"][:32] * 4000)
np.savez(f"{sys.argv[1]}/big.npz", input=d["x"] * 4000)
np.savez(f"{sys.argv[1]}/calib_bad.npz", input=d["x"][:32].astype(np.float64))
PYEOF

# Compares two output .npz files of any float dtypes: exits 1 beyond ATOL + RTOL*|b|; prints the
# worst difference and, with a labels file, both accuracies (which must be within MAXDROP).
cat >"$WORK/cmp.py" <<'PYEOF'
import sys
import numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
atol, rtol = float(sys.argv[3]), float(sys.argv[4])
ok = True
for k in b.files:
    x, y = a[k].astype(np.float64), b[k].astype(np.float64)
    if x.shape != y.shape or not np.all(np.isfinite(x)):
        print(f"{k}: shape {x.shape} vs {y.shape} or non-finite values"); ok = False; continue
    bad = np.abs(x - y) > atol + rtol * np.abs(y)
    print(f"{k}: max_abs {np.max(np.abs(x - y)):.3g}, {int(bad.sum())} outside tolerance")
    ok = ok and not bad.any()
if len(sys.argv) > 5:
    labels = np.load(sys.argv[5])["y"]
    k = b.files[0]
    acc_a = float(np.mean(np.argmax(a[k], 1) == labels))
    acc_b = float(np.mean(np.argmax(b[k], 1) == labels))
    print(f"accuracy {acc_a:.4f} vs {acc_b:.4f}")
    ok = ok and abs(acc_a - acc_b) <= float(sys.argv[6])
sys.exit(0 if ok else 1)
PYEOF
cmp_out() { $PY "$WORK/cmp.py" "$@"; }

# Graph interface: same input/output names as the original, element types as given.
iface() {  # ORIGINAL CONVERTED ELEM_TYPE (1 float, 10 float16)
  $PY -c "
import onnx, sys
a, b, t = onnx.load(sys.argv[1]), onnx.load(sys.argv[2]), int(sys.argv[3])
names = lambda m: ([i.name for i in m.graph.input], [o.name for o in m.graph.output])
assert names(a) == names(b), (names(a), names(b))
types = [v.type.tensor_type.elem_type for v in list(b.graph.input) + list(b.graph.output)]
assert all(x == t for x in types), types
onnx.checker.check_model(b, full_check=True)
" "$@"
}

size() { stat -c %s "$1"; }

for m in mlp cnn; do
  src=$S/digits_$m.op17.onnx
  map=input=x
  [ $m = cnn ] && map=input=x_img
  $ORT_RUN run "$src" --inputs "$D" --map $map -o "$WORK/$m.ref.npz"
  for pass in convert-float16 convert-bfloat16; do
    for keep in true false; do
      tag=$m.$pass.$keep
      out=$WORK/$tag.onnx
      if ! $MOPT run "$src" -p "$pass{keep-io-types=$keep}" -o "$out" >"$WORK/$tag.log" 2>&1; then
        fail "$tag: mopt run failed"; sed 's/^/      /' "$WORK/$tag.log"; continue
      fi
      elem=1
      data=$D
      if [ $keep = false ] && [ $pass = convert-float16 ]; then elem=10; data=$WORK/digits16.npz; fi
      if [ $keep = false ] && [ $pass = convert-bfloat16 ]; then
        # runtime=ort-cpu converts nothing of these models to bfloat16 (ORT's CPU provider has no
        # bfloat16 Gemm/Conv/Relu), so the interface is all that changes (Casts to float32 right
        # behind it); onnxruntime-node cannot feed bfloat16 (numpy has no such dtype either).
        check "$tag: interface keeps its names and becomes bfloat16" iface "$src" "$out" 16
        continue
      fi
      check "$tag: interface keeps its names (element type $elem)" iface "$src" "$out" $elem
      # (a) ONNX Runtime CPU loads and runs it.
      if ! $ORT_RUN run "$out" --inputs "$data" --map $map -o "$WORK/$tag.ort.npz" >"$WORK/ort.log" 2>&1; then
        fail "$tag: ONNX Runtime cannot run it"; sed 's/^/      /' "$WORK/ort.log"; continue
      fi
      pass "$tag: loads and runs in ONNX Runtime (CPU)"
      # (b) ORT and mopt's executor agree (both round to the model's float16 values; 1e-2 is
      # a few float16 ulps of these logits, which are below 30 in magnitude).
      $MOPT exec "$out" --inputs "$data" --map $map -o "$WORK/$tag.exec.npz" 2>/dev/null
      check "$tag: ONNX Runtime matches mopt exec within 1e-2 + 1e-3*|x|" \
        cmp_out "$WORK/$tag.ort.npz" "$WORK/$tag.exec.npz" 1e-2 1e-3
      # (c) accuracy within 0.1 point of float32, logits within float16 rounding of float32's.
      check "$tag: accuracy within 0.1 pt of float32, logits within 0.05 + 1e-2*|x|" \
        cmp_out "$WORK/$tag.ort.npz" "$WORK/$m.ref.npz" 0.05 1e-2 "$D" 0.001
    done
  done
  # (d) float16 halves the weights.
  for keep in true false; do
    out=$WORK/$m.convert-float16.$keep.onnx
    check "$m float16 (keep-io-types=$keep): $(size "$out") bytes, at most 55% of $(size "$src")" \
      test $(($(size "$out") * 100)) -le $(($(size "$src") * 55))
  done
  # bfloat16 for ORT's CPU provider: nothing it cannot run was converted (the model above ran);
  # runtime=any converts every op whose schema allows bfloat16 (all of the MLP; Conv and MaxPool
  # have no bfloat16 before opset 18, so the CNN only in part), and mopt's executor keeps the
  # accuracy.
  out=$WORK/$m.bf16any.onnx
  $MOPT run "$src" -p 'convert-bfloat16{keep-io-types=true,runtime=any}' -o "$out" 2>/dev/null
  limit=55
  [ $m = cnn ] && limit=60
  check "$m bfloat16 runtime=any: $(size "$out") bytes, at most $limit% of $(size "$src")" \
    test $(($(size "$out") * 100)) -le $(($(size "$src") * limit))
  $MOPT exec "$out" --inputs "$D" --map $map -o "$WORK/$m.bf16any.npz" 2>/dev/null
  check "$m bfloat16 runtime=any: mopt exec within 0.3 + 3e-2*|x| of float32, accuracy within 1 pt" \
    cmp_out "$WORK/$m.bf16any.npz" "$WORK/$m.ref.npz" 0.3 3e-2 "$D" 0.01
done

# Determinism: same input, same bytes.
$MOPT run "$S/digits_cnn.op17.onnx" -p 'convert-float16{keep-io-types=true,block-ops=[MaxPool]}' -o "$WORK/d1.onnx" 2>/dev/null
$MOPT run "$S/digits_cnn.op17.onnx" -p 'convert-float16{keep-io-types=true,block-ops=[MaxPool]}' -o "$WORK/d2.onnx" 2>/dev/null
check "convert-float16 is byte-deterministic" cmp "$WORK/d1.onnx" "$WORK/d2.onnx"
$ORT_RUN run "$WORK/d1.onnx" --inputs "$D" --map input=x_img -o "$WORK/d1.npz"
check "a blocked MaxPool between converted nodes still runs and keeps the accuracy" \
  cmp_out "$WORK/d1.npz" "$WORK/cnn.ref.npz" 0.05 1e-2 "$D" 0.001

# Calibration: on the real data nothing is out of range (the same model as without it); on
# inputs scaled by 4000 the Gemm activations exceed 65504 and those nodes stay float32, so the
# result does not overflow to infinity. (ONNX Runtime's CPU provider computes these nodes in
# float32 anyway; mopt's executor rounds every float16 value, as float16 hardware would.)
mlp=$S/digits_mlp.op17.onnx
$MOPT run "$mlp" -p "convert-float16{keep-io-types=true,calib-data=\"$WORK/calib.npz\"}" -o "$WORK/cal.onnx" 2>/dev/null
check "calib-data in range gives the same model as without it" \
  bash -c "diff <($MOPT print $WORK/cal.onnx | grep -v mopt.pipeline) <($MOPT print $WORK/mlp.convert-float16.true.onnx | grep -v mopt.pipeline)"
$MOPT run "$mlp" -p "convert-float16{keep-io-types=true,calib-data=\"$WORK/calib_big.npz\"}" -o "$WORK/calbig.onnx" >"$WORK/calbig.log" 2>&1
check "calib-data out of range keeps nodes in float32 and says why" grep -q "reaches |x|" "$WORK/calbig.log"
$ORT_RUN run "$mlp" --inputs "$WORK/big.npz" -o "$WORK/big.ref.npz"
$ORT_RUN run "$WORK/calbig.onnx" --inputs "$WORK/big.npz" -o "$WORK/big.cal.npz"
check "the calibrated model runs in ONNX Runtime close to float32 on the large inputs" \
  cmp_out "$WORK/big.cal.npz" "$WORK/big.ref.npz" 50 1e-2
$MOPT exec "$WORK/calbig.onnx" --inputs "$WORK/big.npz" -o "$WORK/big.cal.exec.npz" 2>/dev/null
check "the calibrated model is finite and close to float32 in mopt's executor" \
  cmp_out "$WORK/big.cal.exec.npz" "$WORK/big.ref.npz" 50 1e-2
$MOPT exec "$WORK/mlp.convert-float16.true.onnx" --inputs "$WORK/big.npz" -o "$WORK/big.nocal.npz" 2>/dev/null
check "(the uncalibrated one overflows there: this data really exceeds float16)" \
  bash -c "! $PY $WORK/cmp.py $WORK/big.nocal.npz $WORK/big.ref.npz 50 1e-2 >/dev/null"
expect_error "calib-data of the wrong dtype is refused before any work" 2 "calib_bad.npz: array 'input' is double" \
  "$WORK/bad.onnx" $MOPT run "$mlp" -p "convert-float16{calib-data=\"$WORK/calib_bad.npz\"}" -o "$WORK/bad.onnx"
expect_error "calib-data without the input is refused" 2 "no array 'input'" \
  "$WORK/bad.onnx" $MOPT run "$mlp" -p "convert-float16{calib-data=\"$WORK/digits16.npz\"}" -o "$WORK/bad.onnx"

# Real models, when the fixtures exist (scripts/make_fixtures.py; tests/e2e/fixtures.sh builds
# them): float16 keeps resnet18's logits and BERT's hidden states close in ONNX Runtime.
if [ -e "$F/resnet18.onnx" ] && [ -e "$F/bert.onnx" ]; then
  $PY - "$WORK" <<'PYEOF'
import sys
import numpy as np
rng = np.random.default_rng(0)
np.savez(f"{sys.argv[1]}/image.npz", input=rng.standard_normal((1, 3, 224, 224), dtype=np.float32))
ids = rng.integers(0, 30522, size=(1, 32), dtype=np.int64)
np.savez(f"{sys.argv[1]}/text.npz", input_ids=ids, attention_mask=np.ones((1, 32), dtype=np.int64))
PYEOF
  for name in resnet18 bert; do
    inputs=$WORK/image.npz
    [ $name = bert ] && inputs=$WORK/text.npz
    $ORT_RUN run "$F/$name.onnx" --inputs "$inputs" -o "$WORK/$name.ref.npz"
    $MOPT run "$F/$name.onnx" -p 'convert-float16{keep-io-types=true}' -o "$WORK/$name.f16.onnx" 2>/dev/null
    check "$name float16: at most 55% of the size" \
      test $(($(size "$WORK/$name.f16.onnx") * 100)) -le $(($(size "$F/$name.onnx") * 55))
    $ORT_RUN run "$WORK/$name.f16.onnx" --inputs "$inputs" -o "$WORK/$name.f16.npz"
    check "$name float16 runs in ONNX Runtime within 0.05 + 2e-2*|x| of float32" \
      cmp_out "$WORK/$name.f16.npz" "$WORK/$name.ref.npz" 0.05 2e-2
    rm -f "$WORK/$name.f16.onnx"
  done
  $MOPT run "$F/resnet18.onnx" -p 'convert-bfloat16{keep-io-types=true}' -o "$WORK/r.bf16.onnx" 2>/dev/null
  $ORT_RUN run "$WORK/r.bf16.onnx" --inputs "$WORK/image.npz" -o "$WORK/r.bf16.npz"
  check "resnet18 bfloat16 (runtime=ort-cpu) runs in ONNX Runtime" \
    cmp_out "$WORK/r.bf16.npz" "$WORK/resnet18.ref.npz" 0.05 2e-2
else
  echo "skip  resnet18/bert: fixtures not built (bash tests/e2e/fixtures.sh builds them)"
fi
finish
