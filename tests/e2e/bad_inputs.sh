#!/usr/bin/env bash
# Bad input never crashes mopt: one error line naming the file and the problem, a documented
# non-zero exit code, and no output file.
source "$(dirname "$0")/lib.sh"
$PY "$MOPT_SRC/tests/e2e/make_bad_inputs.py" "$WORK" "$MOPT_SRC/samples/digits_mlp.op17.onnx"
M=$WORK/models
O=$WORK/out.onnx

expect_error "empty file" 2 "models/empty.onnx: file is empty" "$O" $MOPT convert "$M/empty.onnx" -o "$O"
expect_error "random bytes" 2 "random.onnx: malformed ONNX protobuf" "$O" $MOPT convert "$M/random.onnx" -o "$O"
expect_error "truncated protobuf" 2 "truncated.onnx: malformed ONNX protobuf at byte" "$O" $MOPT convert "$M/truncated.onnx" -o "$O"
expect_error "undefined value" 2 "undefined.onnx: .*reads 'nope', which no node, input or initializer defines" "$O" \
  $MOPT convert "$M/undefined.onnx" -o "$O"
expect_error "cycle" 2 "cycle.onnx: .*has a cycle" "$O" $MOPT convert "$M/cycle.onnx" -o "$O"
expect_error "declared size vs bytes" 2 "size_mismatch.onnx: tensor 'w' of type float and shape \[4\] needs 16 bytes but raw_data holds 12" \
  "$O" $MOPT convert "$M/size_mismatch.onnx" -o "$O"
expect_error "external data with ../" 2 "ext_dotdot.onnx: tensor 'w': external data location '../secret.bin' escapes" "$O" \
  $MOPT convert "$M/ext_dotdot.onnx" -o "$O"
expect_error "external data absolute" 2 "ext_absolute.onnx: .*is an absolute path" "$O" $MOPT convert "$M/ext_absolute.onnx" -o "$O"
expect_error "external data missing" 2 "ext_missing.onnx: external data file 'weights.bin' for tensor 'w' does not exist" "$O" \
  $MOPT convert "$M/ext_missing.onnx" -o "$O"
expect_error "missing model" 2 "nothere.onnx: cannot open" "$O" $MOPT convert "$M/nothere.onnx" -o "$O"
expect_error "inspect of a bad file" 2 "random.onnx: malformed" "" $MOPT inspect "$M/random.onnx"
expect_error "unknown pass" 1 "unknown pass 'dcee'; did you mean 'dce'?" "$O" $MOPT run -p 'dce,dcee' "$M/good.onnx" -o "$O"
expect_error "unknown option" 1 "unknown option 'targt'; did you mean 'target'?" "$O" \
  $MOPT run -p 'convert-opset{targt=13}' "$M/good.onnx" -o "$O"
expect_error "YAML value of the wrong type" 1 "wrong_type.yaml:5:29: pass 'convert-opset': option 'target' must be an integer, got 'seventeen'" \
  "$WORK/out.onnx" $MOPT run "$WORK/wrong_type.yaml"
expect_error "output over the input" 1 "would overwrite the input; pass --in-place" "" $MOPT convert "$M/good.onnx" -o "$M/good.onnx"
expect_error "opset out of range" 1 "target opset 6 is outside the supported range 7..21" "$O" \
  $MOPT run -p 'convert-opset{target=6}' "$M/good.onnx" -o "$O"
expect_error "a pass that cannot do its job" 3 "pass 'convert-opset' failed: cannot convert opset 17 to 16: .*LayerNormalization.*needs the input rank" \
  "$O" $MOPT run -p 'convert-opset{target=16}' "$M/layernorm.onnx" -o "$O"

# Input limits: the flag a message names is the one that lets the model through.
S=$MOPT_SRC/samples
expect_error "tensor over --max-tensor-bytes" 2 "digits_cnn.op13.onnx: tensor '.*' declares .* (--max-tensor-bytes)" "$O" \
  $MOPT convert "$S/digits_cnn.op13.onnx" -o "$O" --max-tensor-bytes 1k
expect_error "more nodes than --max-nodes" 2 "digits_cnn.op13.onnx: .*more than 5 nodes (--max-nodes)" "$O" \
  $MOPT inspect "$S/digits_cnn.op13.onnx" --max-nodes 5
check "raising the limits lets the same model through" \
  $MOPT convert "$S/digits_cnn.op13.onnx" -o "$O" --max-tensor-bytes 1M --max-nodes 100
rm -f "$O"
expect_error "data array over --max-array-bytes" 2 "digits_test.npz: member '.*' declares .* (--max-array-bytes)" "$WORK/o.npz" \
  $MOPT exec "$S/digits_cnn.op13.onnx" --inputs "$S/digits_test.npz" --map input=x_img -o "$WORK/o.npz" --max-array-bytes 1k
check "raising --max-array-bytes lets the same data through" \
  $MOPT exec "$S/digits_cnn.op13.onnx" --inputs "$S/digits_test.npz" --map input=x_img -o "$WORK/o.npz" --max-array-bytes 1M

# The pipeline error shows a caret under the column it complains about.
$MOPT run -p 'dce,dcee' "$M/good.onnx" -o "$O" 2>"$WORK/caret.txt" || true
check "caret under the bad pass name" grep -qx '      \^' "$WORK/caret.txt"
finish
