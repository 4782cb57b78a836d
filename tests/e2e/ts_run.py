"""Runs a TorchScript file in Python's torch on the arrays of an .npz (forward's arguments in the
order of --args, or the .npz's own order) and writes its outputs to an .npz (output_0, ...)."""
import argparse

import numpy as np
import torch

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("model")
parser.add_argument("inputs")
parser.add_argument("output")
parser.add_argument("--args", help="comma-separated array names, in forward()'s order")
args = parser.parse_args()

torch.set_num_threads(1)
module = torch.jit.load(args.model).eval()
data = np.load(args.inputs)
names = args.args.split(",") if args.args else list(data.keys())
with torch.no_grad():
    out = module(*[torch.from_numpy(np.ascontiguousarray(data[n])) for n in names])
if isinstance(out, torch.Tensor):
    out = (out,)
flat = []
for o in out:
    flat.extend(o if isinstance(o, (tuple, list)) else [o])
np.savez(args.output, **{f"output_{i}": o.numpy() for i, o in enumerate(flat)})
