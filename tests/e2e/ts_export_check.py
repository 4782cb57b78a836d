# TorchScript export checks: runs a .pt mopt exported, and builds the small ONNX models the test uses.
#
#   /usr/bin/python3 ts_export_check.py MODEL.pt IN.npz OUT.npz [--map NAME=KEY,...]
#       Runs the module on the arrays of IN.npz and saves its outputs to OUT.npz. Arrays are fed
#       to forward()'s arguments by the ONNX input names mopt records in the file
#       (extra/mopt.json) or through --map; outputs are saved under the ONNX output names, so
#       tests/ort/compare.js can compare them with ONNX Runtime's.
#   /usr/bin/python3 ts_export_check.py info MODEL.pt
#       Prints the weights' bytes per dtype as JSON (to check quantized weights stay small).
#   /usr/bin/python3 ts_export_check.py make-models DIR
#       Writes NAME.onnx + NAME.npz (inputs) per op-coverage and quantized model, plus a few
#       models the exporter must refuse (bad_*.onnx). Generated, so nothing binary is committed.
import json
import os
import sys

import numpy as np


def run(argv):
    import argparse

    import torch

    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("inputs")
    ap.add_argument("outputs")
    ap.add_argument("--map", default="", help="NAME=KEY,...: feed array KEY to input NAME")
    args = ap.parse_args(argv)

    extra = {"mopt.json": ""}
    module = torch.jit.load(args.model, _extra_files=extra)
    meta = json.loads(extra["mopt.json"]) if extra["mopt.json"] else {}
    data = np.load(args.inputs)
    mapping = dict(kv.split("=", 1) for kv in args.map.split(",") if kv)
    feeds = []
    for name in meta.get("inputs") or list(data.keys()):
        key = mapping.get(name, name)
        if key not in data:
            sys.exit(f"ts_export_check: no array '{key}' for input '{name}' in {args.inputs}")
        feeds.append(torch.from_numpy(np.ascontiguousarray(data[key])))

    torch.set_num_threads(1)  # deterministic, and faster on the shared 2-vCPU machines
    with torch.no_grad():
        result = module(*feeds)
    if not isinstance(result, (tuple, list)):
        result = (result,)
    names = meta.get("outputs") or [f"output_{i}" for i in range(len(result))]
    np.savez(args.outputs, **{n: r.contiguous().numpy() for n, r in zip(names, result)})


def info(path):
    import torch

    module = torch.jit.load(path)
    sizes = {}
    for _, t in list(module.named_parameters()) + list(module.named_buffers()):
        key = str(t.dtype).replace("torch.", "")
        sizes[key] = sizes.get(key, 0) + t.numel() * t.element_size()
    print(json.dumps({"bytes": sizes, "file": os.path.getsize(path)}))


# --- models --------------------------------------------------------------------------------------


def make_models(out):
    import onnx
    from onnx import TensorProto as TP
    from onnx import helper as h
    from onnx import numpy_helper

    rng = np.random.default_rng(7)
    os.makedirs(out, exist_ok=True)

    def f32(*shape, scale=1.0):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    def init(name, arr):
        return numpy_helper.from_array(np.asarray(arr), name)

    def i64(*values):
        return np.array(values, dtype=np.int64)

    def save(name, nodes, inputs, outputs, inits=(), opset=17, ms=False):
        """inputs: (name, sample array, dynamic batch?); the samples become NAME.npz."""
        ins = []
        for n, a, dynamic in inputs:
            dims = ["N" if i == 0 and dynamic else d for i, d in enumerate(a.shape)]
            ins.append(h.make_tensor_value_info(n, onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[a.dtype], dims))
        # Output types left UNDEFINED are filled in by ONNX shape inference (ORT needs them).
        outs = [h.make_tensor_value_info(n, t, None) if t else onnx.ValueInfoProto(name=n)
                for n, t in outputs]
        graph = h.make_graph(nodes, name, ins, outs, list(inits))
        imports = [h.make_opsetid("", opset)] + ([h.make_opsetid("com.microsoft", 1)] if ms else [])
        model = h.make_model(graph, opset_imports=imports, producer_name="ts_export_check")
        model.ir_version = 8
        if any(not t for _, t in outputs):
            model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
        onnx.save(model, f"{out}/{name}.onnx")
        np.savez(f"{out}/{name}.npz", **{n: a for n, a, _ in inputs})

    F = TP.FLOAT
    x = f32(2, 3, 4, 5)

    # Elementwise ops and broadcasting.
    nodes = [
        h.make_node("Abs", ["x"], ["ax"]),
        h.make_node("Sigmoid", ["x"], ["sig"]),
        h.make_node("Tanh", ["x"], ["tanh"]),
        h.make_node("LeakyRelu", ["x"], ["lrelu"], alpha=0.1),
        h.make_node("HardSwish", ["x"], ["hswish"]),
        h.make_node("HardSigmoid", ["x"], ["hsig"], alpha=0.3, beta=0.4),
        h.make_node("Elu", ["x"], ["elu"], alpha=0.7),
        h.make_node("Selu", ["x"], ["selu"]),
        h.make_node("Softplus", ["x"], ["splus"]),
        h.make_node("Softsign", ["x"], ["ssign"]),
        h.make_node("Exp", ["x"], ["exp"]),
        h.make_node("Log", ["ax"], ["log"]),
        h.make_node("Sqrt", ["ax"], ["sqrt"]),
        h.make_node("Neg", ["x"], ["neg"]),
        h.make_node("Erf", ["x"], ["erf"]),
        h.make_node("Floor", ["x"], ["floor"]),
        h.make_node("Ceil", ["x"], ["ceil"]),
        h.make_node("Round", ["x"], ["round"]),
        h.make_node("Sign", ["x"], ["sign"]),
        h.make_node("Reciprocal", ["ax"], ["recip"]),
        h.make_node("PRelu", ["x", "slope"], ["prelu"]),
        h.make_node("Pow", ["ax", "two"], ["pow"]),
        h.make_node("Sub", ["half", "x"], ["rsub"]),
        h.make_node("Div", ["x", "y"], ["div"]),
        h.make_node("Max", ["x", "y", "slope"], ["max"]),
        h.make_node("Min", ["x", "y"], ["min"]),
        h.make_node("Mean", ["x", "y"], ["mean"]),
        h.make_node("Sum", ["x", "y", "x"], ["sum"]),
        h.make_node("Clip", ["x", "lo", "hi"], ["clip"]),
        h.make_node("Clip", ["x", "", "hi"], ["clip_hi"]),
        h.make_node("Greater", ["x", "y"], ["gt"]),
        h.make_node("Where", ["gt", "x", "half"], ["where"]),
        h.make_node("Mod", ["x", "y"], ["fmod"], fmod=1),
        h.make_node("ThresholdedRelu", ["x"], ["trelu"], alpha=0.5),
        h.make_node("Celu", ["x"], ["celu"], alpha=1.5),
    ]
    outs = [n.output[0] for n in nodes if n.output[0] not in ("ax", "gt")]
    save("elementwise", nodes, [("x", x, True), ("y", f32(1, 3, 1, 5) + 3.0, False)],
         [(o, F) for o in outs],
         [init("slope", f32(3, 1, 1)), init("two", np.float32(2.0)), init("half", np.float32(0.5)),
          init("lo", np.float32(-0.5)), init("hi", np.float32(0.75))])

    # Shapes, indexing, reductions; the batch dimension is dynamic and flows through Shape.
    nodes = [
        h.make_node("Shape", ["x"], ["shape"]),
        h.make_node("Gather", ["shape", "zero"], ["batch"], axis=0),
        h.make_node("Unsqueeze", ["batch", "zero_1d"], ["batch_1d"]),
        h.make_node("Concat", ["batch_1d", "minus1"], ["flat_shape"], axis=0),
        h.make_node("Reshape", ["x", "flat_shape"], ["flat"]),
        h.make_node("Reshape", ["x", "shape_0"], ["resh0"]),
        h.make_node("Transpose", ["x"], ["tr"], perm=[0, 2, 3, 1]),
        h.make_node("Flatten", ["x"], ["flat2"], axis=2),
        h.make_node("Unsqueeze", ["x", "axes_u"], ["unsq"]),
        h.make_node("Squeeze", ["unsq", "axes_u"], ["sq"]),
        h.make_node("Split", ["x", "split_sizes"], ["s0", "s1"], axis=3),
        h.make_node("Split", ["x"], ["e0", "e1"], axis=2),
        h.make_node("Slice", ["x", "sl_starts", "sl_ends", "sl_axes", "sl_steps"], ["sl"]),
        h.make_node("Slice", ["x", "sl2_starts", "sl2_ends"], ["sl2"]),
        h.make_node("Tile", ["x", "reps"], ["tile"]),
        h.make_node("Expand", ["col", "exp_shape"], ["expand"]),
        h.make_node("Gather", ["x", "gidx"], ["gather"], axis=1),
        h.make_node("GatherElements", ["x", "geidx"], ["gel"], axis=3),
        h.make_node("Pad", ["x", "pads"], ["pad_c"], mode="constant"),
        h.make_node("Pad", ["x", "pads_r"], ["pad_r"], mode="reflect"),
        h.make_node("Pad", ["x", "pads_r"], ["pad_e"], mode="edge"),
        h.make_node("ConstantOfShape", ["shape"], ["cos"], value=h.make_tensor("v", TP.FLOAT, [1], [1.5])),
        h.make_node("Cast", ["batch"], ["batch_f"], to=TP.FLOAT),
        h.make_node("Range", ["zero_f", "batch_f", "half_f"], ["range"]),
        h.make_node("CumSum", ["x", "axis3"], ["cumsum"], exclusive=1, reverse=1),
        h.make_node("TopK", ["x", "k2"], ["topv", "topi"], axis=-1),
        h.make_node("ArgMax", ["x"], ["argmax"], axis=2, keepdims=0),
        h.make_node("ArgMin", ["x"], ["argmin"], axis=1, select_last_index=1),
        h.make_node("ReduceMean", ["x"], ["rmean"], axes=[2, 3], keepdims=1),
        h.make_node("ReduceSum", ["x", "axes_r"], ["rsum"], keepdims=0),
        h.make_node("ReduceMax", ["x"], ["rmax"], axes=[-1], keepdims=0),
        h.make_node("ReduceL2", ["x"], ["rl2"], axes=[1]),
        h.make_node("ReduceLogSumExp", ["x"], ["rlse"], axes=[1, 3]),
        h.make_node("ReduceProd", ["x"], ["rprod"], axes=[1, 2], keepdims=0),
        h.make_node("ReduceMin", ["x"], ["rmin_all"], keepdims=0),
        h.make_node("Softmax", ["x"], ["softmax"], axis=1),
        h.make_node("LogSoftmax", ["x"], ["logsoftmax"], axis=-1),
        h.make_node("Einsum", ["x", "x"], ["einsum"], equation="nchw,nchv->nhwv"),
        h.make_node("Trilu", ["x"], ["triu"], upper=1),
        h.make_node("Trilu", ["x", "one"], ["tril"], upper=0),
        h.make_node("OneHot", ["gidx", "depth", "onoff"], ["onehot"], axis=0),
        h.make_node("ScatterElements", ["x", "geidx", "x"], ["scatter"], axis=3, reduction="add"),
        h.make_node("Equal", ["argmax", "one"], ["eq"]),
        h.make_node("Not", ["eq"], ["not"]),
        h.make_node("Cast", ["not"], ["not_i"], to=TP.INT32),
        h.make_node("Cast", ["rsum"], ["rsum_i"], to=TP.INT64),
        h.make_node("Div", ["rsum_i", "three_i"], ["idiv"]),  # integer division truncates
    ]
    outs = [o for n in nodes for o in n.output
            if o not in ("shape", "batch", "batch_1d", "flat_shape", "unsq", "batch_f", "eq", "not")]
    save("shapes", nodes, [("x", f32(2, 3, 4, 6), True), ("col", f32(3, 1), False)],
         [(o, TP.UNDEFINED) for o in outs],
         [init("zero", np.int64(0)), init("zero_1d", i64(0)), init("minus1", i64(-1)),
          init("shape_0", i64(0, 12, -1)), init("axes_u", i64(1, -1)), init("split_sizes", i64(2, 4)),
          init("sl_starts", i64(-1, 1)), init("sl_ends", i64(-1000, 100)), init("sl_axes", i64(3, 2)),
          init("sl_steps", i64(-2, 2)), init("sl2_starts", i64(0, 1)), init("sl2_ends", i64(1, -1)),
          init("reps", i64(1, 2, 1, 2)), init("exp_shape", i64(2, 1, 4)),
          init("gidx", np.array([[2, -1], [0, 1]], dtype=np.int64)),
          init("geidx", rng.integers(-6, 6, size=(2, 3, 4, 6)).astype(np.int64)),
          init("pads", i64(0, 1, 2, 0, 0, 0, 1, 3)), init("pads_r", i64(0, 0, 1, 2, 0, 0, 2, 1)),
          init("zero_f", np.float32(0.0)), init("half_f", np.float32(0.5)), init("axis3", np.int64(3)),
          init("k2", i64(2)), init("axes_r", i64(0, 2)), init("one", np.int64(1)),
          init("depth", np.int64(4)), init("onoff", np.array([-1.0, 2.0], dtype=np.float32)),
          init("three_i", np.int64(-3))])

    # Softmax before opset 13 flattens from `axis` on.
    save("softmax_op11", [h.make_node("Softmax", ["x"], ["y"], axis=1),
                          h.make_node("LogSoftmax", ["x"], ["z"], axis=2)],
         [("x", f32(2, 3, 4), True)], [("y", F), ("z", F)], opset=11)

    # Old opsets: what later became inputs is still attributes.
    nodes = [
        h.make_node("Slice", ["x"], ["slice"], starts=[1, 0], ends=[3, -1], axes=[1, 2]),
        h.make_node("Clip", ["x"], ["clip"], min=-0.5, max=0.5),
        h.make_node("Pad", ["x"], ["pad"], pads=[0, 1, 0, 0, 2, 1], value=0.25),
        h.make_node("Split", ["x"], ["s0", "s1"], axis=1, split=[1, 2]),
        h.make_node("TopK", ["x"], ["tv", "ti"], axis=1, k=2),
        h.make_node("Unsqueeze", ["x"], ["u"], axes=[0, 3]),
        h.make_node("Squeeze", ["u"], ["sq"], axes=[0]),
        h.make_node("ReduceSum", ["x"], ["rs"], axes=[1], keepdims=0),
        h.make_node("Softmax", ["x"], ["sm"]),
    ]
    save("legacy_op9", nodes, [("x", f32(2, 3, 4), True)],
         [(o, TP.INT64 if o == "ti" else F) for n in nodes for o in n.output if o != "u"], opset=9)
    save("resize_op10", [h.make_node("Resize", ["x", "sc"], ["y"], mode="nearest")],
         [("x", f32(1, 2, 3, 4), True)], [("y", F)],
         [init("sc", np.array([1, 1, 2, 3], dtype=np.float32))], opset=10)

    # Convolution and pooling variants, normalizations, resizing.
    img = f32(2, 4, 9, 10)
    nodes = [
        h.make_node("Conv", ["img", "w", "b"], ["conv_asym"], pads=[0, 1, 2, 1], strides=[2, 1]),
        h.make_node("Conv", ["img", "w"], ["conv_same"], auto_pad="SAME_UPPER", strides=[2, 2]),
        h.make_node("Conv", ["img", "wg"], ["conv_group"], group=2, dilations=[2, 1], pads=[1, 1, 1, 1]),
        h.make_node("ConvTranspose", ["img", "wt", "bt"], ["convt"], strides=[2, 2],
                    pads=[1, 0, 0, 1], output_padding=[1, 0]),
        h.make_node("ConvTranspose", ["img", "wt"], ["convt_sym"], strides=[2, 1], pads=[1, 1, 1, 1]),
        h.make_node("MaxPool", ["img"], ["mp_same"], kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_LOWER"),
        h.make_node("MaxPool", ["img"], ["mp_ceil"], kernel_shape=[3, 2], strides=[2, 2], ceil_mode=1,
                    pads=[1, 0, 1, 0]),
        h.make_node("AveragePool", ["img"], ["ap_excl"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 0, 0, 1]),
        h.make_node("AveragePool", ["img"], ["ap_incl"], kernel_shape=[2, 2], pads=[1, 1, 1, 1],
                    count_include_pad=1),
        h.make_node("GlobalMaxPool", ["img"], ["gmp"]),
        h.make_node("GlobalAveragePool", ["img"], ["gap"]),
        h.make_node("InstanceNormalization", ["img", "s4", "b4"], ["inorm"], epsilon=1e-3),
        h.make_node("LayerNormalization", ["img", "ln_s", "ln_b"], ["lnorm"], axis=-2),
        h.make_node("BatchNormalization", ["img", "s4", "b4", "m4", "v4"], ["bnorm"]),
        h.make_node("Resize", ["img", "", "scales"], ["up_nearest"], mode="nearest",
                    coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
        h.make_node("Resize", ["img", "", "", "sizes"], ["up_linear"], mode="linear"),
        h.make_node("Resize", ["img", "", "scales"], ["up_cubic"], mode="cubic"),
        h.make_node("Resize", ["img", "", "", "sizes"], ["up_align"], mode="linear",
                    coordinate_transformation_mode="align_corners"),
        h.make_node("DepthToSpace", ["img"], ["d2s_dcr"], blocksize=2),
        h.make_node("DepthToSpace", ["img"], ["d2s_crd"], blocksize=2, mode="CRD"),
        h.make_node("Slice", ["img", "z2", "e2", "a23"], ["even"]),
        h.make_node("SpaceToDepth", ["even"], ["s2d"], blocksize=2),
        h.make_node("Conv", ["seq", "w1d"], ["conv1d"], pads=[2, 1]),
        h.make_node("MaxPool", ["seq"], ["mp1d"], kernel_shape=[3]),
        h.make_node("Flatten", ["gap"], ["flatg"]),
        h.make_node("Gemm", ["flatg", "gw", "gb"], ["gemm"], alpha=0.5, beta=2.0, transA=1),
        h.make_node("MatMul", ["seq", "mm"], ["matmul"]),
    ]
    outs = [o for n in nodes for o in n.output if o not in ("even", "flatg")]
    save("nn", nodes, [("img", img, True), ("seq", f32(2, 4, 11), True)], [(o, F) for o in outs],
         [init("w", f32(6, 4, 3, 2, scale=0.3)), init("b", f32(6)), init("wg", f32(6, 2, 3, 3, scale=0.3)),
          init("wt", f32(4, 3, 3, 3, scale=0.3)), init("bt", f32(3)), init("s4", f32(4)), init("b4", f32(4)),
          init("m4", f32(4)), init("v4", np.abs(f32(4)) + 0.5), init("ln_s", f32(9, 10)), init("ln_b", f32(9, 10)),
          init("scales", np.array([1, 1, 2, 1.5], dtype=np.float32)), init("sizes", i64(2, 4, 5, 17)),
          init("z2", i64(0, 0)), init("e2", i64(8, 10)), init("a23", i64(2, 3)),
          init("w1d", f32(5, 4, 4, scale=0.3)), init("gw", f32(2, 4)), init("gb", f32(1, 4)),
          init("mm", f32(11, 3))])

    # --- quantized models ---
    def quant_sym(w, axis):  # int8 symmetric per channel along `axis`
        red = tuple(i for i in range(w.ndim) if i != axis)
        scale = (np.abs(w).max(axis=red) / 127.0).astype(np.float32)
        shape = [1] * w.ndim
        shape[axis] = -1
        q = np.clip(np.round(w / scale.reshape(shape)), -127, 127).astype(np.int8)
        return q, scale

    # QDQ CNN: uint8 activations per tensor, int8 weights per channel (Conv) and per tensor (Gemm).
    wc = f32(16, 3, 3, 3, scale=0.3)
    qc, sc = quant_sym(wc, 0)
    wl = f32(10, 16 * 4 * 4, scale=0.1)
    ql = np.clip(np.round(wl / (np.abs(wl).max() / 127)), -127, 127).astype(np.int8)
    nodes = [
        h.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
        h.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
        h.make_node("DequantizeLinear", ["wq", "ws"], ["wd"], axis=0),
        h.make_node("Conv", ["xd", "wd", "cb"], ["c"], pads=[1, 1, 1, 1], strides=[2, 2]),
        h.make_node("Relu", ["c"], ["r"]),
        h.make_node("QuantizeLinear", ["r", "rs", "rz"], ["rq"]),
        h.make_node("DequantizeLinear", ["rq", "rs", "rz"], ["rd"]),
        h.make_node("Flatten", ["rd"], ["f"]),
        h.make_node("DequantizeLinear", ["lq", "ls", "lz"], ["ld"]),
        h.make_node("Gemm", ["f", "ld", "lb"], ["y"], transB=1),
    ]
    save("qdq_cnn", nodes, [("x", f32(3, 3, 8, 8), True)], [("y", F)],
         [init("xs", np.float32(0.03)), init("xz", np.uint8(128)), init("wq", qc), init("ws", sc),
          init("cb", f32(16)), init("rs", np.float32(0.02)), init("rz", np.uint8(0)), init("lq", ql),
          init("ls", np.float32(np.abs(wl).max() / 127)), init("lz", np.int8(0)), init("lb", f32(10))],
         opset=13)

    # Dynamic quantization as onnxruntime.quantization.quantize_dynamic writes it.
    w1 = f32(64, 48, scale=0.2)
    q1, s1 = quant_sym(w1, 1)
    zp1 = rng.integers(-3, 3, size=48).astype(np.int8)
    nodes = [
        h.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
        h.make_node("MatMulInteger", ["xq", "wq", "xz", "wz"], ["acc"]),
        h.make_node("Cast", ["acc"], ["accf"], to=TP.FLOAT),
        h.make_node("Mul", ["xs", "ws"], ["scale"]),
        h.make_node("Mul", ["accf", "scale"], ["mm"]),
        h.make_node("Add", ["mm", "b"], ["y"]),
    ]
    save("dyn_quant", nodes, [("x", f32(2, 5, 64), True)], [("y", F), ("xq", TP.UINT8), ("xz", TP.UINT8)],
         [init("wq", q1), init("ws", s1), init("wz", zp1), init("b", f32(48))])

    # QLinearMatMul, QLinearConv, ConvInteger with uint8 activations and int8 weights.
    qa = rng.integers(0, 255, size=(3, 32)).astype(np.uint8)
    qb = rng.integers(-127, 127, size=(32, 8)).astype(np.int8)
    qimg = rng.integers(0, 255, size=(2, 3, 6, 6)).astype(np.uint8)
    qw = rng.integers(-127, 127, size=(4, 3, 3, 3)).astype(np.int8)
    nodes = [
        h.make_node("QLinearMatMul", ["qa", "as", "az", "qb", "bs", "bz", "ys", "yz"], ["qmm"]),
        h.make_node("QLinearConv", ["qimg", "is", "iz", "qw", "ws", "wz", "os", "oz", "qbias"], ["qconv"],
                    pads=[1, 1, 1, 1]),
        h.make_node("ConvInteger", ["qimg", "qw", "iz"], ["convint"], strides=[2, 2]),
    ]
    save("qlinear", nodes, [("qa", qa, False), ("qimg", qimg, False)],
         [("qmm", TP.UINT8), ("qconv", TP.UINT8), ("convint", TP.INT32)],
         [init("as", np.float32(0.02)), init("az", np.uint8(120)), init("qb", qb),
          init("bs", np.float32(0.01)), init("bz", np.int8(0)), init("ys", np.float32(0.15)),
          init("yz", np.uint8(100)), init("is", np.float32(0.05)), init("iz", np.uint8(128)),
          init("qw", qw), init("ws", (np.abs(f32(4)) * 0.01 + 0.005).astype(np.float32)),
          init("wz", np.zeros(4, dtype=np.int8)), init("os", np.float32(0.4)), init("oz", np.uint8(90)),
          init("qbias", rng.integers(-500, 500, size=4).astype(np.int32))], opset=13)

    # com.microsoft MatMulNBits: 4-bit codes packed two per byte, low nibble first.
    def nbits(name, K, N, block, with_zp, with_bias):
        w = f32(N, K, scale=0.05)
        blocks = (K + block - 1) // block
        wp = np.zeros((N, blocks * block), dtype=np.float32)
        wp[:, :K] = w
        wb = wp.reshape(N, blocks, block)
        lo, hi = np.minimum(wb.min(-1), 0), np.maximum(wb.max(-1), 0)
        if with_zp:
            scale = ((hi - lo) / 15).astype(np.float32)
            zp = np.clip(np.round(-lo / scale), 0, 15).astype(np.uint8)
        else:
            scale = (np.maximum(-lo, hi) / 7).astype(np.float32)
            zp = np.full((N, blocks), 8, dtype=np.uint8)
        q = np.clip(np.round(wb / scale[..., None]) + zp[..., None], 0, 15).astype(np.uint8)
        packed = (q[..., 0::2] | (q[..., 1::2] << 4)).astype(np.uint8)
        inputs = ["a", "b", "s"]
        inits = [init("b", packed), init("s", scale.reshape(-1))]
        if with_zp:
            zpad = np.zeros((N, (blocks + 1) // 2 * 2), dtype=np.uint8)
            zpad[:, :blocks] = zp
            inits.append(init("z", (zpad[:, 0::2] | (zpad[:, 1::2] << 4)).reshape(-1)))
            inputs.append("z")
        if with_bias:
            inputs += [""] * (5 - len(inputs)) + ["bias"]
            inits.append(init("bias", f32(N)))
        node = h.make_node("MatMulNBits", inputs, ["y"], domain="com.microsoft", K=K, N=N, bits=4,
                           block_size=block)
        save(name, [node], [("a", f32(2, 3, K), True)], [("y", F)], inits, ms=True)
        # The same weights in fp32, for the size comparison.
        deq = ((q.astype(np.float32) - zp[..., None]) * scale[..., None]).reshape(N, -1)[:, :K]
        save(name + "_fp32", [h.make_node("MatMul", ["a", "wt"], ["y"])], [("a", f32(2, 3, K), True)],
             [("y", F)], [init("wt", np.ascontiguousarray(deq.T))])

    nbits("nbits_zp", 512, 256, 64, True, True)
    nbits("nbits_sym", 320, 96, 128, False, False)  # K not a multiple of the block

    # Models the exporter must refuse, with a message naming the node and op.
    save("bad_op", [h.make_node("Relu", ["x"], ["r"]),
                    h.make_node("LpPool", ["r"], ["y"], kernel_shape=[2], name="the_pool")],
         [("x", f32(1, 2, 4), False)], [("y", F)])
    then = h.make_graph([h.make_node("Identity", ["x"], ["t"])], "then", [], [h.make_tensor_value_info("t", F, None)])
    other = h.make_graph([h.make_node("Neg", ["x"], ["e"])], "else", [], [h.make_tensor_value_info("e", F, None)])
    save("bad_if", [h.make_node("ReduceSum", ["x"], ["s"], keepdims=0),
                    h.make_node("Greater", ["s", "zero"], ["c"]),
                    h.make_node("If", ["c"], ["y"], then_branch=then, else_branch=other, name="branch")],
         [("x", f32(3), False)], [("y", F)], [init("zero", np.float32(0))], opset=12)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "info":
        info(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "make-models":
        make_models(sys.argv[2])
    else:
        run(sys.argv[1:])
