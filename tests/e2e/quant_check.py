#!/usr/bin/env python3
"""Assertions for the quantization end-to-end tests (run with Debian's /usr/bin/python3).

  quant_check.py accuracy REF.npz OUT.npz DATA.npz:LABELS --max-drop PT
  quant_check.py agree A.npz B.npz --max-abs X --min-top1 F     (two runtimes, same model)
  quant_check.py ops MODEL.onnx [--require OP,..] [--forbid OP,..]
  quant_check.py size SMALL BIG --max-ratio R                     (files, external data included)
  quant_check.py better REF.npz A.npz B.npz                        (B's output is closer to REF's)
Each prints one line saying what it measured; exit 1 when the check fails.
"""
import argparse
import collections
import os
import sys

import numpy as np


def first(npz):
    d = np.load(npz)
    return d[list(d.keys())[0]]


def accuracy(args):
    path, key = args.labels.rsplit(":", 1)
    y = np.load(path)[key]
    a = (first(args.ref).argmax(-1) == y).mean() * 100
    b = (first(args.out).argmax(-1) == y).mean() * 100
    drop = a - b
    print(f"accuracy {a:.2f}% -> {b:.2f}% (drop {drop:.2f} pt, limit {args.max_drop} pt)")
    return drop <= args.max_drop + 1e-9


def agree(args):
    a, b = first(args.a).astype(np.float64), first(args.b).astype(np.float64)
    if a.shape != b.shape:
        print(f"shapes differ: {a.shape} vs {b.shape}")
        return False
    diff = np.abs(a - b).max() if a.size else 0.0
    top1 = (a.argmax(-1) == b.argmax(-1)).mean() if a.ndim >= 2 else 1.0
    cos = float((a * b).sum() / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-30))
    print(f"max abs diff {diff:.3g} (limit {args.max_abs}), top-1 agreement {top1:.4f} "
          f"(limit {args.min_top1}), cosine {cos:.6f} (limit {args.min_cosine})")
    return diff <= args.max_abs and top1 >= args.min_top1 and cos >= args.min_cosine


def ops(args):
    import onnx
    m = onnx.load(args.model, load_external_data=False)
    count = collections.Counter(n.op_type for n in m.graph.node)
    print("ops: " + ", ".join(f"{k} {v}" for k, v in sorted(count.items())))
    ok = True
    for op in filter(None, (args.require or "").split(",")):
        if count[op] == 0:
            print(f"missing {op}")
            ok = False
    for op in filter(None, (args.forbid or "").split(",")):
        if count[op]:
            print(f"still has {count[op]} {op}")
            ok = False
    return ok


def size_of(path):
    total = os.path.getsize(path)
    data = path + ".data"
    return total + (os.path.getsize(data) if os.path.exists(data) else 0)


def size(args):
    s, b = size_of(args.small), size_of(args.big)
    print(f"{s} / {b} bytes = {s / b:.3f} (limit {args.max_ratio})")
    return s / b <= args.max_ratio


def sqnr(ref, out):
    r, o = first(ref).astype(np.float64), first(out).astype(np.float64)
    return 10 * np.log10((r * r).sum() / max(((r - o) ** 2).sum(), 1e-30))


def better(args):
    a, b = sqnr(args.ref, args.a), sqnr(args.ref, args.b)
    print(f"SQNR against the reference: {a:.2f} dB -> {b:.2f} dB")
    return b > a


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("accuracy")
    a.add_argument("ref")
    a.add_argument("out")
    a.add_argument("labels")
    a.add_argument("--max-drop", type=float, required=True)
    g = sub.add_parser("agree")
    g.add_argument("a")
    g.add_argument("b")
    g.add_argument("--max-abs", type=float, required=True)
    g.add_argument("--min-top1", type=float, default=0.0)
    g.add_argument("--min-cosine", type=float, default=-1.0)
    o = sub.add_parser("ops")
    o.add_argument("model")
    o.add_argument("--require")
    o.add_argument("--forbid")
    s = sub.add_parser("size")
    s.add_argument("small")
    s.add_argument("big")
    s.add_argument("--max-ratio", type=float, required=True)
    b = sub.add_parser("better")
    b.add_argument("ref")
    b.add_argument("a")
    b.add_argument("b")
    args = p.parse_args()
    ok = {"accuracy": accuracy, "agree": agree, "ops": ops, "size": size, "better": better}[args.cmd](args)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
