#!/usr/bin/env python3
"""Writes the small committed seed inputs under tests/fuzz/corpus/ (run with /usr/bin/python3:
numpy and onnx 1.12). Re-running gives the same files; large seeds (the ONNX backend test models,
the samples) are gathered by run-fuzzer.sh at run time instead of being committed."""
import io
import os
import zipfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

here = os.path.dirname(os.path.abspath(__file__))


def out(target, name, data):
    d = os.path.join(here, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def npy(a, version=None):
    b = io.BytesIO()
    if version:
        np.lib.format.write_array(b, a, version=version)
    else:
        np.save(b, a)
    return b.getvalue()


# --- .npy ------------------------------------------------------------------------------------
arrays = {
    "f32_2x3": np.arange(6, dtype="<f4").reshape(2, 3),
    "f64_be": np.array([1.5, -2.0], dtype=">f8"),
    "f16": np.array([0.5, 65504], dtype="<f2"),
    "i8": np.array([-1, 2, 3], dtype="i1"),
    "u16_be": np.array([1, 513], dtype=">u2"),
    "i64_fortran": np.asfortranarray(np.arange(12, dtype="<i8").reshape(3, 4)),
    "bool": np.array([True, False, True]),
    "c64": np.array([1 + 2j], dtype="<c8"),
    "c128_be": np.array([1 - 1j, 2j], dtype=">c16"),
    "scalar": np.array(7, dtype="<i4"),
    "empty": np.zeros((0, 3), dtype="<f4"),
    "unicode": np.array(["ab", "\u00e9\u4e2d", ""], dtype="<U3"),
    "bytes": np.array([b"xy", b"z"], dtype="S2"),
    "u64_3d": np.arange(8, dtype="<u8").reshape(2, 2, 2),
}
for name, a in arrays.items():
    out("fuzz_npy", name + ".npy", npy(a))
out("fuzz_npy", "v2_header.npy", npy(np.arange(3, dtype="<u4"), version=(2, 0)))
out("fuzz_npy", "v3_header.npy", npy(np.array(["x"], dtype="<U1"), version=(3, 0)))

# --- .npz ------------------------------------------------------------------------------------
b = io.BytesIO()
np.savez(b, x=arrays["f32_2x3"], labels=np.array([1, 2], dtype="<i8"))
out("fuzz_npz", "stored.npz", b.getvalue())
b = io.BytesIO()
np.savez_compressed(b, x=np.zeros((4, 4), dtype="<f4"), s=arrays["unicode"])
out("fuzz_npz", "deflate.npz", b.getvalue())
b = io.BytesIO()
with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("a.npy", npy(arrays["i8"]))
    z.writestr("b.npy", npy(arrays["bool"]))
    z.comment = b"an archive comment"
out("fuzz_npz", "plain_zip_comment.npz", b.getvalue())

# --- ONNX: features the backend test models rarely have ----------------------------------------
def model(graph, **kw):
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], **kw)
    m.ir_version = 8
    return m.SerializeToString()


x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
# Typed data fields (no raw_data) of several element types.
typed = [
    helper.make_tensor("w_f32", TensorProto.FLOAT, [2], [1.0, 2.0]),
    helper.make_tensor("w_f16", TensorProto.FLOAT16, [2], np.array([1, 2], np.float16).view(np.uint16)),
    helper.make_tensor("w_i64", TensorProto.INT64, [3], [1, -2, 3]),
    helper.make_tensor("w_f64", TensorProto.DOUBLE, [1], [0.25]),
    helper.make_tensor("w_u64", TensorProto.UINT64, [1], [5]),
    helper.make_tensor("w_u32", TensorProto.UINT32, [2], [7, 8]),
    helper.make_tensor("w_bool", TensorProto.BOOL, [2], [True, False]),
    helper.make_tensor("w_str", TensorProto.STRING, [2], [b"a", b"bc"]),
    helper.make_tensor("w_c64", TensorProto.COMPLEX64, [1], [1 + 2j]),
]
g = helper.make_graph([helper.make_node("Add", ["x", "w_f32"], ["y"])], "typed", [x], [y], typed)
out("fuzz_onnx", "typed_fields.onnx", model(g))

# If with Constant weights in both branches, and a Loop body reading an outer value.
def branch(name, v):
    c = helper.make_node("Constant", [], [name + "_c"],
                         value=numpy_helper.from_array(np.array([v, v], np.float32)))
    add = helper.make_node("Add", ["x", name + "_c"], [name + "_out"])
    return helper.make_graph([c, add], name, [], [helper.make_tensor_value_info(
        name + "_out", TensorProto.FLOAT, ["N", 2])])


cond = helper.make_tensor_value_info("cond", TensorProto.BOOL, [])
iff = helper.make_node("If", ["cond"], ["y"], then_branch=branch("then", 1.0),
                       else_branch=branch("else", 2.0))
g = helper.make_graph([iff], "if_graph", [x, cond], [y])
out("fuzz_onnx", "if_constants.onnx", model(g))

body = helper.make_graph(
    [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
     helper.make_node("Add", ["v_in", "x"], ["v_out"])],
    "body",
    [helper.make_tensor_value_info("i", TensorProto.INT64, []),
     helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
     helper.make_tensor_value_info("v_in", TensorProto.FLOAT, ["N", 2])],
    [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
     helper.make_tensor_value_info("v_out", TensorProto.FLOAT, ["N", 2])])
trip = helper.make_tensor("trip", TensorProto.INT64, [], [3])
loop = helper.make_node("Loop", ["trip", "cond", "x"], ["y"], body=body)
g = helper.make_graph([loop], "loop_graph", [x, cond], [y], [trip])
out("fuzz_onnx", "loop_outer_value.onnx", model(g))

# Sparse initializer, a model-local function, metadata, an external-data reference (refused
# when loading from memory) and an unsorted node order.
sp = helper.make_sparse_tensor(
    helper.make_tensor("sp", TensorProto.FLOAT, [2], [3.0, 4.0]),
    helper.make_tensor("sp_idx", TensorProto.INT64, [2], [0, 3]), [2, 2])
ext = TensorProto(name="ext", data_type=TensorProto.FLOAT, dims=[2])
ext.data_location = TensorProto.EXTERNAL
for k, v in (("location", "weights.bin"), ("offset", "0"), ("length", "8")):
    e = ext.external_data.add()
    e.key, e.value = k, v
fn = helper.make_function("local", "Double", ["a"], ["b"],
                          [helper.make_node("Add", ["a", "a"], ["b"])],
                          [helper.make_opsetid("", 17)])
nodes = [helper.make_node("Double", ["t"], ["y"], domain="local"),
         helper.make_node("Relu", ["x"], ["t"])]
g = helper.make_graph(nodes, "misc", [x], [y], sparse_initializer=[sp])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("local", 1)],
                      functions=[fn])
m.ir_version = 8
helper.set_model_props(m, {"author": "fuzz"})
out("fuzz_onnx", "function_sparse_unsorted.onnx", m.SerializeToString())
g2 = helper.make_graph([helper.make_node("Add", ["x", "ext"], ["y"])], "ext", [x], [y], [ext])
out("fuzz_onnx", "external_ref.onnx", model(g2))

# --- pipelines -------------------------------------------------------------------------------
texts = [
    "dce",
    "dce,eliminate-identity,fold-bn-into-conv",
    "convert-opset{target=17}",
    "infer-shapes{strict=true},fold-constants{max-bytes=1024}",
    'fold-constants{ max-bytes = 16 } , dce',
    'convert-opset{target="13"}',
    "dce{}",
]
for i, t in enumerate(texts):
    out("fuzz_pipeline_text", "p%d.txt" % i, t.encode())

files = {
    "full.yaml": "version: 1\ninput: in.onnx\noutput: /abs/out.onnx\npasses:\n  - dce\n"
                 "  - convert-opset: {target: 13}\n  - fold-constants:\n      max-bytes: 64\n"
                 "output_options:\n  external_data: always\n  external_data_threshold: 4096\n"
                 "  opset: 17\n",
    "flow.yaml": "{version: 1, passes: [dce, {infer-shapes: {strict: yes}}]}\n",
    "anchors.yaml": "opts: &o {target: 15}\npasses:\n  - convert-opset: *o\n",
    "pipeline.json": '{"input": "a.onnx", "output": "b.onnx", "passes": ["dce", '
                     '{"convert-opset": {"target": 17}}], "output_options": {"opset": 13}}',
    "bad_key.yaml": "pases:\n  - dce\n",
    "list_option.yaml": "passes:\n  - dce: {x: [1, 2]}\n",
}
for name, text in files.items():
    out("fuzz_pipeline_file", name, text.encode())
