"""Single-thread latency of a TorchScript model in LibTorch (Python's torch.jit.load), for the
executor benchmark: prints JSON with p50/p90 in milliseconds."""
import argparse
import json
import time

import numpy as np
import torch

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("model")
parser.add_argument("inputs")
parser.add_argument("--args", required=True, help="comma-separated array names in forward()'s order")
parser.add_argument("--warmup", type=int, default=5)
parser.add_argument("--runs", type=int, default=50)
args = parser.parse_args()
torch.set_num_threads(1)
module = torch.jit.load(args.model).eval()
data = np.load(args.inputs)
feed = [torch.from_numpy(np.ascontiguousarray(data[n][:1])) for n in args.args.split(",")]
times = []
with torch.no_grad():
    for i in range(args.warmup + args.runs):
        t0 = time.perf_counter()
        module(*feed)
        if i >= args.warmup:
            times.append((time.perf_counter() - t0) * 1000)
print(json.dumps({"p50_ms": float(np.percentile(times, 50)), "p90_ms": float(np.percentile(times, 90))}))
