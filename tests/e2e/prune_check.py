#!/usr/bin/env python3
"""Fixtures and assertions for the pruning end-to-end tests (run with Debian's /usr/bin/python3).

  prune_check.py net DIR            a CNN with a residual block (with a grouped conv), a Concat of
                                    two conv branches, a depthwise conv (and one with multiplier 2),
                                    a Split whose parts
                                    are added, a ConvTranspose, BatchNorms and a Flatten -> Gemm
                                    head, in which
                                    exactly half of every prunable group's channels are dead (zero
                                    weights, biases, BN gamma/beta/mean): DIR/net.onnx,
                                    DIR/net.traced.pt, DIR/net_in.npz, DIR/net_ref.npz (torch)
  prune_check.py zeros MODEL REPORT.json     the report's zero counts are the model's
  prune_check.py nm BEFORE AFTER N M         every changed weight has >= M-N zeros per group of M
  prune_check.py valid MODEL ORIGINAL        onnx full check (strict shape inference); same
                                             graph inputs and outputs as ORIGINAL
  prune_check.py macs REPORT.json --min-factor F
  prune_check.py channels MODEL NODE=COUNT,...   output channels of those nodes' weights
  prune_check.py close A.npz B.npz --max-abs X   first outputs agree
Each prints one line saying what it measured; exit 1 when the check fails.
"""
import argparse
import json
import sys

import numpy as np


def load(path):
    import onnx
    return onnx.load(path)


def weights(model):
    from onnx import numpy_helper
    return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}


def net(args):
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(s):
            super().__init__()
            s.stem = nn.Conv2d(3, 16, 3, padding=1)
            s.bn0 = nn.BatchNorm2d(16)
            s.r1 = nn.Conv2d(16, 16, 3, padding=1)
            s.bn1 = nn.BatchNorm2d(16)
            s.gc = nn.Conv2d(16, 16, 3, padding=1, groups=2)
            s.r2 = nn.Conv2d(16, 16, 3, padding=1)
            s.bn2 = nn.BatchNorm2d(16)
            s.b1 = nn.Conv2d(16, 12, 1)
            s.b2 = nn.Conv2d(16, 20, 3, padding=1)
            s.dw = nn.Conv2d(32, 32, 3, padding=1, groups=32)
            s.bn3 = nn.BatchNorm2d(32)
            s.pw = nn.Conv2d(32, 24, 1)
            s.dw2 = nn.Conv2d(12, 24, 3, padding=1, groups=12)
            s.up = nn.ConvTranspose2d(24, 16, 2, stride=2)
            s.fc1 = nn.Linear(16 * 16, 32)
            s.fc2 = nn.Linear(32, 10)

        def forward(s, x):
            x = torch.relu(s.bn0(s.stem(x)))
            y = torch.relu(s.gc(torch.relu(s.bn1(s.r1(x)))))         # grouped conv
            x = torch.relu(s.bn2(s.r2(y)) + x)                      # residual
            x = torch.relu(torch.cat([s.b1(x), s.b2(x)], 1))         # two branches
            x = torch.relu(s.bn3(s.dw(x)))                           # depthwise
            a, b = s.pw(x).split([12, 12], dim=1)                    # split, parts added
            x = nn.functional.max_pool2d(a + b, 2)
            x = torch.relu(s.dw2(x))                                 # depthwise, multiplier 2
            x = nn.functional.max_pool2d(torch.relu(s.up(x)), 2)     # transposed conv
            x = torch.relu(s.fc1(torch.flatten(x, 1)))               # Flatten -> Gemm
            return s.fc2(x)

    torch.manual_seed(0)
    m = Net().eval()

    def dead(layer, idx):
        with torch.no_grad():
            layer.weight[list(idx)] = 0
            layer.bias[list(idx)] = 0

    def dead_bn(bn, idx):
        with torch.no_grad():
            for t in (bn.weight, bn.bias, bn.running_mean):
                t[list(idx)] = 0

    with torch.no_grad():
        for bn in (m.bn0, m.bn1, m.bn2, m.bn3):  # distinct statistics (no shared initializers)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.normal_(0, 0.1)
            bn.running_mean.normal_(0, 0.1)
            bn.running_var.uniform_(0.5, 1.5)
    odd16 = range(1, 16, 2)
    for layer in (m.stem, m.r2, m.r1, m.gc):  # gc: groups of 8, so odd channels pair up
        dead(layer, odd16)
    for bn in (m.bn0, m.bn2, m.bn1):
        dead_bn(bn, odd16)
    dead(m.b1, range(1, 12, 2))
    dead(m.b2, range(1, 20, 2))
    cat = list(range(1, 12, 2)) + [12 + c for c in range(1, 20, 2)]
    dead(m.dw, cat)
    dead_bn(m.bn3, cat)
    dead(m.pw, [k for k in range(1, 12, 2)] + [k + 12 for k in range(1, 12, 2)])
    dead(m.dw2, [o for k in range(1, 12, 2) for o in (2 * k, 2 * k + 1)])
    with torch.no_grad():  # ConvTranspose weights are [in, out, kH, kW]
        m.up.weight[:, 1::2] = 0
        m.up.bias[1::2] = 0
    dead(m.fc1, range(1, 32, 2))

    x = torch.randn(4, 3, 8, 8)
    with torch.no_grad():
        ref = m(x)
        torch.onnx.export(m, x[:1], f"{args.dir}/net.onnx", opset_version=17,
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
                          training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
        torch.jit.save(torch.jit.trace(m, x[:1]), f"{args.dir}/net.traced.pt")
    np.savez(f"{args.dir}/net_in.npz", input=x.numpy())
    np.savez(f"{args.dir}/net_ref.npz", logits=ref.numpy())
    print(f"wrote net.onnx, net.traced.pt, net_in.npz, net_ref.npz into {args.dir}")
    return True


def zeros(args):
    w = weights(load(args.model))
    report = json.load(open(args.report))
    ok = True
    total = real_total = params = 0
    for layer in report["layers"]:
        t = w[layer["weight"]]
        real = int((t == 0).sum())
        total += layer["zeros_after"]
        real_total += real
        params += t.size
        if real != layer["zeros_after"] or t.size != layer["params"]:
            print(f"{layer['weight']}: report says {layer['zeros_after']} zeros of "
                  f"{layer['params']}, the model has {real} of {t.size}")
            ok = False
    s = report["total"]["sparsity"]
    ok = ok and total == report["total"]["zeros_after"] and abs(s - real_total / params) < 1e-12
    print(f"{len(report['layers'])} layers: reported {total} zeros (sparsity {s:.6f}), "
          f"counted {real_total} of {params} ({real_total / params:.6f})")
    return ok


def nm(args):
    import onnx
    before, after = load(args.before), load(args.after)
    wb, wa = weights(before), weights(after)
    n, m = args.n, args.m
    checked, ok = 0, True
    for node in after.graph.node:
        if node.op_type not in ("Conv", "ConvTranspose", "Gemm", "MatMul"):
            continue
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        for i, name in enumerate(node.input[:2]):
            if name not in wa or name not in wb or np.array_equal(wa[name], wb[name]):
                continue
            t = wa[name]
            if node.op_type == "Conv":
                axis = 1           # input channels, per output channel and kernel position
            elif node.op_type == "ConvTranspose":
                axis = 0
            elif node.op_type == "Gemm":
                axis = 1 if attrs.get("transB", 0) else 0
            else:
                axis = t.ndim - 2 if i == 1 else t.ndim - 1
            g = np.moveaxis(t, axis, -1)
            if g.shape[-1] % m:
                print(f"{name}: reduction axis {g.shape[-1]} is not a multiple of {m}")
                ok = False
                continue
            groups = g.reshape(-1, m)
            worst = int((groups == 0).sum(axis=1).min())
            checked += 1
            if worst < m - n:
                print(f"{name}: a group of {m} along axis {axis} has only {worst} zeros")
                ok = False
    print(f"{checked} pruned weights checked for {n}:{m} along their reduction axis")
    return ok and checked > 0


def valid(args):
    import onnx
    m, o = load(args.model), load(args.original)
    onnx.checker.check_model(m, full_check=True)

    def io(model):
        def one(v):
            dims = [d.dim_value if d.HasField("dim_value") else d.dim_param
                    for d in v.type.tensor_type.shape.dim]
            return (v.name, v.type.tensor_type.elem_type, dims)
        return [one(v) for v in model.graph.input], [one(v) for v in model.graph.output]

    same = io(m) == io(o)
    print(f"onnx full check passed; graph inputs/outputs {'unchanged' if same else 'CHANGED'}: "
          f"{io(m)}")
    return same


def macs(args):
    r = json.load(open(args.report))["total"]
    f = r["macs_before"] / r["macs_after"]
    print(f"MACs {r['macs_before'] / 1e6:.1f} M -> {r['macs_after'] / 1e6:.1f} M ({f:.2f}x, "
          f"limit {args.min_factor}x); parameters {r['params_before']} -> {r['params_after']}")
    return f >= args.min_factor


def channels(args):
    m = load(args.model)
    w = weights(m)
    ok = True
    got = []
    for item in args.expect.split(","):
        name, want = item.rsplit("=", 1)
        node = next((n for n in m.graph.node if n.name == name), None)
        if node is None:
            print(f"no node {name}")
            return False
        t = w.get(node.input[1])
        attrs = {a.name: a.i for a in node.attribute}
        if node.op_type == "Gemm":
            out = t.shape[0] if attrs.get("transB", 0) else t.shape[1]
        elif node.op_type == "ConvTranspose":
            out = t.shape[1] * attrs.get("group", 1)
        else:
            out = t.shape[0]
        got.append(f"{name}={out}")
        ok = ok and out == int(want)
    print("output channels: " + ", ".join(got) + f" (expected {args.expect})")
    return ok


def close(args):
    a, b = np.load(args.a), np.load(args.b)
    x = a[list(a.keys())[0]].astype(np.float64)
    y = b[list(b.keys())[0]].astype(np.float64)
    if x.shape != y.shape:
        print(f"shapes differ: {x.shape} vs {y.shape}")
        return False
    d = float(np.abs(x - y).max())
    print(f"max abs diff {d:.3g} (limit {args.max_abs}) over {x.shape}")
    return d <= args.max_abs


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("net")
    s.add_argument("dir")
    s = sub.add_parser("zeros")
    s.add_argument("model")
    s.add_argument("report")
    s = sub.add_parser("nm")
    s.add_argument("before")
    s.add_argument("after")
    s.add_argument("n", type=int)
    s.add_argument("m", type=int)
    s = sub.add_parser("valid")
    s.add_argument("model")
    s.add_argument("original")
    s = sub.add_parser("macs")
    s.add_argument("report")
    s.add_argument("--min-factor", type=float, required=True)
    s = sub.add_parser("channels")
    s.add_argument("model")
    s.add_argument("expect")
    s = sub.add_parser("close")
    s.add_argument("a")
    s.add_argument("b")
    s.add_argument("--max-abs", type=float, required=True)
    args = p.parse_args()
    fn = {"net": net, "zeros": zeros, "nm": nm, "valid": valid, "macs": macs,
          "channels": channels, "close": close}[args.cmd]
    sys.exit(0 if fn(args) else 1)


if __name__ == "__main__":
    main()
