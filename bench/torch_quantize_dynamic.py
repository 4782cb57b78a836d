#!/usr/bin/env python3
"""The peer for mopt's dynamic int8 quantization: PyTorch's own quantize_dynamic + save, on the
same MLP that scripts/make_fixtures.py writes as ONNX (weights read from its external data).

    /usr/bin/python3 bench/torch_quantize_dynamic.py MODEL.onnx OUT.pt
Prints JSON: seconds for quantize_dynamic + torch.save, and the process's peak RSS (which
includes the float model, as mopt's figure includes reading it).
"""
import json
import resource
import sys
import time

import numpy as np
import onnx
import torch

# Default threads: the peer runs as a user would run it.


def external(tensor, base):
    """A float32 initializer stored as external data, read straight from its file."""
    info = {e.key: e.value for e in tensor.external_data}
    count = int(np.prod(tensor.dims))
    with open(f"{base}/{info['location']}", "rb") as f:
        f.seek(int(info.get("offset", 0)))
        return np.frombuffer(f.read(count * 4), dtype=np.float32).reshape(tuple(tensor.dims))


def main():
    path, out = sys.argv[1], sys.argv[2]
    model = onnx.load(path, load_external_data=False)
    base = path.rsplit("/", 1)[0] if "/" in path else "."
    inits = {t.name: t for t in model.graph.initializer}
    layers = []
    for node in model.graph.node:
        if node.op_type != "MatMul":
            continue
        weight = external(inits[node.input[1]], base)  # [in, out]
        bias = external(inits[node.input[1].rsplit(".", 1)[0] + ".bias"], base)
        lin = torch.nn.Linear(weight.shape[0], weight.shape[1])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(weight.T.copy()))
            lin.bias.copy_(torch.from_numpy(bias.copy()))
        layers += [lin, torch.nn.ReLU()]
        del weight
    net = torch.nn.Sequential(*layers[:-1]).eval()
    t0 = time.perf_counter()
    q = torch.ao.quantization.quantize_dynamic(net, {torch.nn.Linear}, dtype=torch.qint8)
    torch.save(q.state_dict(), out)
    seconds = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": round(seconds, 3), "peak_rss_bytes": rss, "layers": len(layers) // 2}))


if __name__ == "__main__":
    main()
