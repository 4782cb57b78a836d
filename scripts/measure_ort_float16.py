#!/usr/bin/python3
"""Measures which ONNX ops ONNX Runtime's CPU execution provider runs in float16 / bfloat16.

The runtime=ort-cpu tables of convert-float16 / convert-bfloat16 (passes/quantize/OrtCpuSupport.cpp)
come from this script. Test cases: every single-node test of the ONNX backend test data (Debian
libonnx-testdata, onnx 1.12; tests whose float data is float64 or int are retyped to float32), plus
a few hand-made nodes for old op versions the test data does not reach (Squeeze-1, Slice-1, ...).

For each case whose op has a float32 input or output of a type variable that may be float16 (resp.
bfloat16), the node is written the way the passes write it: every input and output bound to that
type variable (the op's float type variable: the first one holding a float32 tensor, inputs before
outputs) becomes float16, all other inputs keep their types (Resize's scales, LayerNormalization's
Mean outputs, BatchNormalization-15's T1/T2, Pow's exponent, ...). Each case is stamped with every
opset at which the op's schema changed (7..17), and probed in ONNX Runtime 1.30 (CPU, one thread,
graph optimizations "basic") by scripts/ort_float16_probe.js next to the unchanged float32 model at
the same opset (the control):
  - "wrapped": float32 graph inputs/outputs with Casts around the node (what keep-io-types=true
    writes); must load and run;
  - "direct" (float16 only): float16 graph inputs/outputs; must load and run too, and ORT's
    optimized graph tells whether ORT runs the node in float16 itself or had to insert its own
    Casts to float32 around it (its InsertCastTransformer; there is no such fallback for bfloat16).

Per op version the verdict is one of:
  native    loads and runs; ORT runs the node in float16 (bfloat16) itself
  ort-cast  loads and runs; ORT computes the node in float32 behind Casts it inserts
  fails     the control loads and runs, the converted node does not (load or run error)
  untested  no case of the op is valid at that opset (the control failed everywhere)
  schema    the schema does not allow float16 (bfloat16) for the op's float type variable
An op version is runnable when at least one case ran and no case failed; a failure that only
happens under a condition the passes check themselves (EXCEPTIONS) is reported, not counted.

Usage: /usr/bin/python3 scripts/measure_ort_float16.py [--work DIR] [--out SUMMARY.json] [--cpp]
  --cpp  print the C++ tables for passes/quantize/OrtCpuSupport.cpp
Takes well under a minute here (about 6000 small sessions).
"""
import argparse
import collections
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import onnx
from onnx import TensorProto, defs, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
TARGETS = {"float16": TensorProto.FLOAT16, "bfloat16": TensorProto.BFLOAT16}
NP_TARGET = {"float16": np.float16}
# Output dtype set by an attribute (or by the input when the attribute is absent): the passes
# never convert these, so they are not measured. ConstantOfShape is measured with its value
# attribute converted (what the passes do).
ATTRIBUTE_TYPED = {"Constant", "RandomNormal", "RandomUniform", "RandomNormalLike",
                   "RandomUniformLike", "EyeLike", "Bernoulli", "Multinomial", "BlackmanWindow",
                   "HammingWindow", "HannWindow", "MelWeightMatrix"}
# Output type set by an attribute, inputs of any type: only the inputs are converted.
INPUTS_ONLY = {"Cast"}
NO_COMPARE = {"Dropout"}  # outputs are random in training mode; ran is enough
MIN_OPSET, MAX_OPSET = 7, 17
# onnx 1.12 gives GridSample-16's output its own type variable (T2); later ONNX releases and ONNX
# Runtime bind it to T1, the type of X. The passes apply the same correction.
OUTPUT_FOLLOWS = {("GridSample", 0): "T1"}


def _attr(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


# Failures under a condition the passes check themselves (the node then stays float32).
EXCEPTIONS = {
    "ScatterElements": ("reduction is not none", lambda node, types: _attr(node, "reduction", b"none") != b"none"),
    "ScatterND": ("reduction is not none", lambda node, types: _attr(node, "reduction", b"none") != b"none"),
}


class Formal:
    """A formal parameter, with its type variable corrected where onnx 1.12 has it wrong."""

    def __init__(self, f, type_str=None):
        self.typeStr = type_str or f.typeStr
        self.option = f.option


def schema_versions(op):
    vs = sorted({s.since_version for s in defs.get_all_schemas_with_history() if s.name == op and s.domain == ""})
    out = []
    for i, v in enumerate(vs):
        nxt = vs[i + 1] if i + 1 < len(vs) else MAX_OPSET + 1
        opset = max(v, MIN_OPSET)
        if opset < nxt and opset <= MAX_OPSET:
            out.append((v, opset))  # (schema since_version, opset that selects it)
    return out


def formal(formals, i):
    if i < len(formals):
        return formals[i]
    if formals and formals[-1].option == defs.OpSchema.FormalParameterOption.Variadic:
        return formals[-1]
    return None


def slots_of(schema, node, types):
    slots = []
    for k, names, formals in (("in", node.input, schema.inputs), ("out", node.output, schema.outputs)):
        if k == "out" and node.op_type in INPUTS_ONLY:
            continue
        for i, n in enumerate(names):
            f = formal(formals, i)
            if not n or f is None:
                continue
            fix = OUTPUT_FOLLOWS.get((node.op_type, i)) if k == "out" else None
            slots.append((k, i, Formal(f, fix), types.get(n)))
    return slots


def float_var(schema, slots):
    """The op's float type variable: the first holding a float32 tensor (inputs first)."""
    tc = {t.type_param_str: set(t.allowed_type_strs) for t in schema.type_constraints}
    for _, _, f, t in slots:
        if f.typeStr in tc and t == TensorProto.FLOAT:
            return f.typeStr, tc[f.typeStr]
    return None, None


def plan(schema, node, types, target):
    """(input indices, output indices) the passes convert, None (not a float32 node) or 'schema'."""
    slots = slots_of(schema, node, types)
    var, allowed = float_var(schema, slots)
    if var is None:
        return None
    mine = [(k, i, t) for k, i, f, t in slots if f.typeStr == var]
    if any(t != TensorProto.FLOAT for _, _, t in mine):
        return None  # the variable is also bound to another type: not a float32 node
    if "tensor(%s)" % target not in allowed:
        return "schema"
    return [i for k, i, _ in mine if k == "in"], [i for k, i, _ in mine if k == "out"]


def retype(schema, node, model, arrays):
    """Backend tests whose float data is float64 (or int) become float32 tests, when they have no
    float32 data of the float type variable and the schema allows float32 there."""
    types = tensor_types(model)
    slots = slots_of(schema, node, types)
    if float_var(schema, slots)[0] is not None:
        return model, arrays
    tc = {t.type_param_str: set(t.allowed_type_strs) for t in schema.type_constraints}
    for _, _, f, t in slots:
        if f.typeStr in tc and "tensor(float)" in tc[f.typeStr] and "tensor(float16)" in tc[f.typeStr] \
                and t not in (None, TensorProto.BOOL, TensorProto.STRING, TensorProto.FLOAT16, TensorProto.BFLOAT16):
            var = f.typeStr
            break
    else:
        return model, arrays
    names = {node.input[i] if k == "in" else node.output[i] for k, i, f, _ in slots if f.typeStr == var}
    m = onnx.ModelProto()
    m.CopyFrom(model)
    for v in list(m.graph.input) + list(m.graph.output):
        if v.name in names:
            v.type.tensor_type.elem_type = TensorProto.FLOAT
    arrays = {k: (a.astype(np.float32) if k in names else a) for k, a in arrays.items()}
    return m, arrays


def tensor_types(model):
    out = {}
    for v in list(model.graph.input) + list(model.graph.output):
        if not v.type.HasField("tensor_type"):
            return None
        out[v.name] = v.type.tensor_type.elem_type
    return out


def load_backend_case(d):
    model = onnx.load(os.path.join(d, "model.onnx"))
    g = model.graph
    if len(g.node) != 1 or g.initializer:
        return None
    node = g.node[0]
    if node.domain not in ("", "ai.onnx") or node.op_type in ATTRIBUTE_TYPED:
        return None
    if any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in node.attribute):
        return None
    if tensor_types(model) is None:
        return None
    ds = os.path.join(d, "test_data_set_0")
    arrays = {}
    for i, v in enumerate(g.input):
        p = os.path.join(ds, "input_%d.pb" % i)
        if not os.path.exists(p):
            return None
        t = TensorProto()
        with open(p, "rb") as f:
            t.ParseFromString(f.read())
        a = numpy_helper.to_array(t)
        if a.dtype == object:
            return None
        arrays[v.name] = a
    return model, arrays


def synthetic_cases():
    """Nodes for op versions the backend test data does not reach: (name, model, arrays, opsets)."""
    rng = np.random.default_rng(0)
    x = lambda *s: rng.standard_normal(s).astype(np.float32)
    F, I64 = TensorProto.FLOAT, TensorProto.INT64

    def case(name, op, opsets, inputs, outputs, **attrs):
        node = helper.make_node(op, [n for n, _ in inputs], [n for n, _ in outputs], **attrs)
        ins = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype) if hasattr(helper, "np_dtype_to_tensor_dtype")
                                             else onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[a.dtype], None) for n, a in inputs]
        outs = [helper.make_tensor_value_info(n, t, None) for n, t in outputs]
        g = helper.make_graph([node], name, ins, outs)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opsets[0])])
        m.ir_version = 7
        return name, m, dict(inputs), opsets

    return [
        case("syn_squeeze_attr", "Squeeze", [7, 11], [("x", x(1, 3, 1, 4))], [("y", F)], axes=[0, 2]),
        case("syn_reducesum_attr", "ReduceSum", [7, 11], [("x", x(2, 3, 4))], [("y", F)], axes=[1], keepdims=1),
        case("syn_slice_attr", "Slice", [7], [("x", x(4, 5))], [("y", F)], starts=[1, 0], ends=[3, 4], axes=[0, 1]),
        case("syn_resize10", "Resize", [10], [("x", x(1, 1, 2, 2)), ("scales", np.array([1, 1, 2, 2], np.float32))],
             [("y", F)], mode="nearest"),
        case("syn_resize11", "Resize", [11], [("x", x(1, 1, 2, 2)), ("roi", np.zeros([0], np.float32)),
                                              ("scales", np.array([1, 1, 2, 2], np.float32))], [("y", F)], mode="linear"),
        case("syn_pad_attr", "Pad", [7], [("x", x(2, 3))], [("y", F)], pads=[0, 1, 0, 1], value=0.5),
        case("syn_clip_attr", "Clip", [7], [("x", x(3, 4))], [("y", F)], min=-0.5, max=0.5),
        case("syn_topk_attr", "TopK", [7], [("x", x(3, 4))], [("v", F), ("i", I64)], k=2),
        case("syn_upsample7", "Upsample", [7], [("x", x(1, 1, 2, 2))], [("y", F)], scales=[1.0, 1.0, 2.0, 2.0]),
        case("syn_depthtospace1", "DepthToSpace", [7], [("x", x(1, 4, 2, 2))], [("y", F)], blocksize=2),
        case("syn_roialign10", "RoiAlign", [10], [("x", x(1, 1, 4, 4)), ("rois", np.array([[0, 0, 3, 3]], np.float32)),
                                                 ("b", np.zeros([1], np.int64))], [("y", F)],
             output_height=2, output_width=2),
        case("syn_castlike_from_float", "CastLike", [15], [("x", x(3)), ("like", np.zeros([1], np.int32))],
             [("y", TensorProto.INT32)]),
        case("syn_castlike_to_float", "CastLike", [15], [("x", np.arange(3, dtype=np.int32)), ("like", x(1))], [("y", F)]),
        case("syn_dropout_ratio_attr", "Dropout", [7], [("x", x(3, 4))], [("y", F)], ratio=0.5),
        case("syn_equal", "Equal", [11, 13], [("a", np.array([1, 2, 3], np.float32)), ("b", np.array([1, 0, 3], np.float32))],
             [("c", TensorProto.BOOL)]),
        case("syn_lpnormalization", "LpNormalization", [7], [("x", x(3, 4))], [("y", F)], axis=1, p=2),
        case("syn_lppool", "LpPool", [7, 11], [("x", x(1, 2, 4, 4))], [("y", F)], kernel_shape=[2, 2], p=2),
        case("syn_globallppool", "GlobalLpPool", [7], [("x", x(1, 2, 4, 4))], [("y", F)], p=2),
        case("syn_nonzero", "NonZero", [9, 13], [("x", np.array([[0, 1.5], [2, 0]], np.float32))], [("y", I64)]),
        case("syn_gemm_no_c", "Gemm", [7, 9, 11, 13], [("a", x(2, 3)), ("b", x(3, 4))], [("y", F)]),
    ]


def savez(path, arrays):
    """np.savez, except that numpy 1.24 swallows a keyword argument named 'like'."""
    with zipfile.ZipFile(path, "w") as z:
        for k, a in arrays.items():
            with z.open(k + ".npy", "w") as f:
                np.lib.format.write_array(f, np.ascontiguousarray(a))


def stamp(model, opset):
    m = onnx.ModelProto()
    m.CopyFrom(model)
    del m.opset_import[:]
    m.opset_import.append(helper.make_opsetid("", opset))
    return m


def convert_node(node, ins, outs, target):
    new = onnx.NodeProto()
    new.CopyFrom(node)
    new.name = "probe"
    if node.op_type == "ConstantOfShape":
        value = next((a for a in new.attribute if a.name == "value"), None)
        arr = numpy_helper.to_array(value.t) if value else np.zeros([1], np.float32)
        for a in list(new.attribute):
            if a.name == "value":
                new.attribute.remove(a)
        new.attribute.append(helper.make_attribute(
            "value", helper.make_tensor("value", TARGETS[target], [1], [float(arr.reshape(-1)[0])])))
    return new


def wrapped_variant(model, node, ins, outs, target, opset):
    """The converted node behind float32 Casts (graph interface unchanged)."""
    g = model.graph
    new = convert_node(node, ins, outs, target)
    before, after = [], []
    for i in ins:
        before.append(helper.make_node("Cast", [node.input[i]], [node.input[i] + "__lp"], to=TARGETS[target]))
        new.input[i] = node.input[i] + "__lp"
    for i in outs:
        new.output[i] = node.output[i] + "__lp"
        after.append(helper.make_node("Cast", [new.output[i]], [node.output[i]], to=TensorProto.FLOAT))
    graph = helper.make_graph(before + [new] + after, "probe", list(g.input), list(g.output))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = model.ir_version
    return m


def direct_variant(model, node, ins, outs, target, opset):
    """The converted node with float16 graph inputs/outputs (float16 only: ORT's node binding
    cannot feed bfloat16)."""
    g = model.graph
    new = convert_node(node, ins, outs, target)
    names = {node.input[i] for i in ins} | {node.output[i] for i in outs}
    inputs, outputs = [], []
    for src, dst in ((g.input, inputs), (g.output, outputs)):
        for v in src:
            c = onnx.ValueInfoProto()
            c.CopyFrom(v)
            if v.name in names:
                c.type.tensor_type.elem_type = TARGETS[target]
            dst.append(c)
    graph = helper.make_graph([new], "probe", inputs, outputs)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = model.ir_version
    return m, names


def ort_inserted_casts(opt_path):
    """True when ORT's optimized graph has a Cast besides the probed node (the direct variant has
    none of its own)."""
    try:
        m = onnx.load(opt_path)
    except Exception:
        return None
    return any(n.op_type == "Cast" and n.name != "probe" for n in m.graph.node)


def run_probe(manifest, result):
    cases = json.load(open(manifest))["cases"]
    done = {}
    if os.path.exists(result):
        os.remove(result)
    start = 0
    while start < len(cases):
        subprocess.run(["node", os.path.join(HERE, "ort_float16_probe.js"), manifest, result, "--start", str(start)],
                       check=False)
        last_started = -1
        for line in open(result):
            r = json.loads(line)
            if r["status"] == "started":
                last_started = r["index"]
            else:
                done[r["index"]] = r
        if len(done) == len(cases) or last_started < 0:
            break
        if last_started not in done:  # the process died in this case
            done[last_started] = {"index": last_started, "id": cases[last_started]["id"], "status": "crash"}
            with open(result, "a") as f:
                f.write(json.dumps(done[last_started]) + "\n")
        start = max(done) + 1
    return done


def rel_err(a_path, b_path):
    a, b = np.load(a_path), np.load(b_path)
    worst = 0.0
    for k in b.files:
        x, y = a[k].astype(np.float64) if a[k].dtype.kind == "f" else a[k], b[k]
        if y.dtype.kind == "f":
            fin = np.isfinite(y) & np.isfinite(x)
            if fin.any():
                worst = max(worst, float(np.max(np.abs(x[fin] - y[fin]) / (1 + np.abs(y[fin])))))
        elif x.shape != y.shape or not np.array_equal(x, y):
            worst = max(worst, 1.0)
    return worst


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/usr/share/libonnx-testdata/data/node")
    ap.add_argument("--work", default="/tmp/mopt_fp16_probe")
    ap.add_argument("--out", default=None)
    ap.add_argument("--cpp", action="store_true")
    ap.add_argument("--filter", default="", help="only tests whose name contains this")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)

    sources = []
    for test in sorted(os.listdir(args.data)):
        if test.endswith("_expanded") or args.filter not in test:
            continue
        loaded = load_backend_case(os.path.join(args.data, test))
        if loaded:
            sources.append((test, loaded[0], loaded[1], None))
    sources += [c for c in synthetic_cases() if args.filter in c[0]]

    cases = []  # manifest entries
    checks = []  # one per (case, opset, target)
    for test, model, arrays, opsets in sources:
        node = model.graph.node[0]
        versions = schema_versions(node.op_type)
        if opsets:
            versions = [(defs.get_schema(node.op_type, o, "").since_version, o) for o in opsets]
        for since, opset in versions:
            schema = defs.get_schema(node.op_type, opset, "")
            m, arr = retype(schema, node, model, arrays)
            types = tensor_types(m)
            plans = {t: plan(schema, node, types, t) for t in TARGETS}
            if not any(plans.values()):
                continue
            base = os.path.join(args.work, "%s.op%d" % (test, opset))
            savez(base + ".in.npz", arr)

            def add(kind, model_proto, inputs):
                onnx.save(model_proto, "%s.%s.onnx" % (base, kind))
                cases.append({"id": "%s@%d/%s" % (test, opset, kind), "model": "%s.%s.onnx" % (base, kind),
                              "inputs": inputs, "outputs": "%s.%s.out.npz" % (base, kind),
                              "optimized": "%s.%s.opt.onnx" % (base, kind)})
                return len(cases) - 1

            ctrl = add("f32", stamp(m, opset), base + ".in.npz")
            for t, p in plans.items():
                check = {"op": node.op_type, "since": since, "target": t, "test": test, "ctrl": ctrl,
                         "types": types, "node": node}
                if p == "schema" or p is None:
                    check["status"] = p or "none"
                    checks.append(check)
                    continue
                ins, outs = p
                check["wrapped"] = add(t, wrapped_variant(m, node, ins, outs, t, opset), base + ".in.npz")
                if t in NP_TARGET:
                    dm, names = direct_variant(m, node, ins, outs, t, opset)
                    savez("%s.%s_direct.in.npz" % (base, t),
                          {k: (a.astype(NP_TARGET[t]) if k in names else a) for k, a in arr.items()})
                    check["direct"] = add(t + "_direct", dm, "%s.%s_direct.in.npz" % (base, t))
                checks.append(check)
    manifest = os.path.join(args.work, "manifest.json")
    json.dump({"cases": cases}, open(manifest, "w"))
    print("%d sessions to probe" % len(cases), file=sys.stderr)
    results = run_probe(manifest, os.path.join(args.work, "result.jsonl"))

    per = collections.defaultdict(list)
    for c in checks:
        if c.get("status") == "none":
            continue
        entry = {"test": c["test"]}
        if c.get("status") == "schema":
            entry["status"] = "schema"
            per[(c["op"], c["since"], c["target"])].append(entry)
            continue
        ctrl = results.get(c["ctrl"], {"status": "missing"})
        w = results.get(c["wrapped"], {"status": "missing"})
        d = results.get(c["direct"], {"status": "missing"}) if "direct" in c else None
        exc = EXCEPTIONS.get(c["op"])
        if ctrl["status"] != "ran":
            entry["status"] = "invalid"
        elif w["status"] != "ran" or (d and d["status"] != "ran"):
            bad = w if w["status"] != "ran" else d
            entry["status"] = "fails"
            entry["message"] = bad.get("message", bad["status"])
            if exc and exc[1](c["node"], c["types"]):
                entry["status"] = "exception"
        else:
            inserted = ort_inserted_casts(cases[c["direct"]]["optimized"]) if d else False
            entry["status"] = "ort-cast" if inserted else "native"
            if c["op"] not in NO_COMPARE:
                entry["rel_err"] = rel_err(cases[c["wrapped"]]["outputs"], cases[c["ctrl"]]["outputs"])
        per[(c["op"], c["since"], c["target"])].append(entry)

    summary = {}
    for (op, since, t), entries in sorted(per.items()):
        st = [e["status"] for e in entries]
        if all(s == "schema" for s in st):
            verdict = "schema"
        elif "fails" in st:
            verdict = "fails"
        elif "ort-cast" in st:
            verdict = "ort-cast"
        elif "native" in st:
            verdict = "native"
        else:
            verdict = "untested"
        summary.setdefault(op, {}).setdefault(str(since), {})[t] = {"verdict": verdict, "cases": entries}
    if args.out:
        json.dump(summary, open(args.out, "w"), indent=1, sort_keys=True)
    for op in sorted(summary):
        for since in sorted(summary[op], key=int):
            cells = []
            for t in TARGETS:
                v = summary[op][since].get(t)
                if not v:
                    continue
                msg = next((e.get("message", "") for e in v["cases"] if e["status"] == "fails"), "")
                exc = " (except when %s)" % EXCEPTIONS[op][0] if any(e["status"] == "exception" for e in v["cases"]) else ""
                err = max([e.get("rel_err", 0) for e in v["cases"]] or [0])
                cells.append("%s=%s%s%s%s" % (t, v["verdict"], " err=%.2g" % err if err else "", exc,
                                              " [%s]" % msg[:110] if msg else ""))
            print("%-26s %3s  %s" % (op, since, "  ".join(cells)))
    if args.cpp:
        for t in TARGETS:
            print("// %s: op, the schema versions (since_version) that load and run; * = ORT computes it in" % t)
            print("// float32 behind Casts it inserts itself")
            for op in sorted(summary):
                vs = [(int(s), summary[op][s][t]["verdict"]) for s in summary[op] if t in summary[op][s]
                      and summary[op][s][t]["verdict"] in ("native", "ort-cast")]
                if vs:
                    print('    {"%s", "%s"},' % (op, " ".join("%d%s" % (v, "*" if k == "ort-cast" else "")
                                                            for v, k in sorted(vs))))

if __name__ == "__main__":
    main()
