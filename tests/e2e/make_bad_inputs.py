"""Writes the malformed inputs tests/e2e/bad_inputs.sh feeds to mopt (one file per defect)."""
import os
import random
import sys

import onnx
from onnx import TensorProto, helper

out = sys.argv[1]
sample = sys.argv[2]  # a good model to damage
os.makedirs(os.path.join(out, "models"), exist_ok=True)


def save(name, model):
    with open(os.path.join(out, "models", name), "wb") as f:
        f.write(model.SerializeToString())


def relu_model(nodes, inits=()):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])
    graph = helper.make_graph(nodes, "g", [x], [y], initializer=list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


open(os.path.join(out, "models", "empty.onnx"), "wb").close()
rng = random.Random(1234)
with open(os.path.join(out, "models", "random.onnx"), "wb") as f:
    f.write(bytes(rng.randrange(256) for _ in range(4096)))
good = open(sample, "rb").read()
with open(os.path.join(out, "models", "truncated.onnx"), "wb") as f:
    f.write(good[: len(good) // 2])

save("undefined.onnx", relu_model([helper.make_node("Relu", ["nope"], ["y"])]))
save("cycle.onnx", relu_model([helper.make_node("Add", ["x", "b"], ["a"]),
                               helper.make_node("Relu", ["a"], ["b"]),
                               helper.make_node("Relu", ["a"], ["y"])]))

w = TensorProto()  # built by hand: onnx.helper refuses a size mismatch
w.name = "w"
w.data_type = TensorProto.FLOAT
w.dims.extend([4])
w.raw_data = b"\0" * 12  # needs 16
save("size_mismatch.onnx", relu_model([helper.make_node("Add", ["x", "w"], ["y"])], [w]))


def external(name, location):
    t = TensorProto()
    t.name = "w"
    t.data_type = TensorProto.FLOAT
    t.dims.extend([2])
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", "0"), ("length", "8")):
        e = t.external_data.add()
        e.key, e.value = k, v
    save(name, relu_model([helper.make_node("Add", ["x", "w"], ["y"])], [t]))


with open(os.path.join(out, "secret.bin"), "wb") as f:
    f.write(b"\1" * 8)
external("ext_dotdot.onnx", "../secret.bin")
external("ext_absolute.onnx", os.path.join(out, "secret.bin"))
external("ext_missing.onnx", "weights.bin")

# Valid, but its input has no shape, so LayerNormalization cannot be decomposed below opset 17.
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, None)
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
scale = helper.make_tensor("scale", TensorProto.FLOAT, [4], [1.0] * 4)
ln = helper.make_graph([helper.make_node("LayerNormalization", ["x", "scale"], ["y"], axis=1)], "ln", [x], [y],
                       initializer=[scale])
save("layernorm.onnx", helper.make_model(ln, opset_imports=[helper.make_opsetid("", 17)]))

with open(os.path.join(out, "wrong_type.yaml"), "w") as f:
    f.write("input: models/good.onnx\noutput: out.onnx\npasses:\n  - dce\n"
            "  - convert-opset: {target: seventeen}\n")
with open(os.path.join(out, "models", "good.onnx"), "wb") as f:
    f.write(good)
