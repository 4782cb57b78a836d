#!/usr/bin/env python3
"""The peer for mopt's global magnitude pruning: PyTorch's torch.nn.utils.prune.global_unstructured
(L1, i.e. by |w|) on the same weights mopt prunes in the ONNX file: the constant right operand of
every MatMul and the B input of every Gemm (embedding tables and biases excluded, as in mopt).

    /usr/bin/python3 bench/torch_prune_global.py MODEL.onnx [--amount 0.5]
Prints JSON: seconds for global_unstructured alone (weights already in memory; PyTorch's default
threads, as a user runs it), the number of weights and zeros after, and the process's peak RSS.
"""
import argparse
import json
import resource
import time

import onnx
import torch
from onnx import numpy_helper
from torch.nn.utils import prune


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("--amount", type=float, default=0.5)
    args = p.parse_args()
    model = onnx.load(args.model)
    inits = {t.name: t for t in model.graph.initializer}
    names = []
    for node in model.graph.node:
        if node.op_type in ("MatMul", "Gemm") and len(node.input) > 1 and node.input[1] in inits:
            if node.input[1] not in names:
                names.append(node.input[1])
    holders = []
    for name in names:
        m = torch.nn.Module()
        m.weight = torch.nn.Parameter(torch.from_numpy(numpy_helper.to_array(inits[name]).copy()))
        holders.append(m)
    del model, inits
    params = [(m, "weight") for m in holders]
    t0 = time.perf_counter()
    prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=args.amount)
    seconds = time.perf_counter() - t0
    total = sum(m.weight.numel() for m in holders)
    zeros = sum(int((m.weight == 0).sum()) for m in holders)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": round(seconds, 3), "weights": total, "zeros": zeros,
                      "tensors": len(holders), "peak_rss_bytes": rss}))


if __name__ == "__main__":
    main()
