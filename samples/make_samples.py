"""Trains the two small digits models committed in samples/ and exports them to TorchScript, ONNX.

Run with Debian's python (it has torch, onnx and sklearn):

    /usr/bin/python3 samples/make_samples.py [--out DIR]

Everything is seeded and single-threaded, and the script reruns itself with PYTHONHASHSEED=0 (see
pin_hash_seed), so a rerun writes byte-identical files. The traced .pt files are the exception once
this script has moved or its lines have: their debug records hold the Python call stack, with
paths and line numbers. It writes, into --out:

  digits_{mlp,cnn}.scripted.pt   TorchScript, torch.jit.script
  digits_{mlp,cnn}.traced.pt     TorchScript, torch.jit.trace
  digits_{mlp,cnn}.op{13,17}.onnx  ONNX, input `input` (batch axis `N`), output `logits`;
                                 the CNN keeps its BatchNormalization nodes (unfolded)
  digits_test.npz                the test split: x [N,64] and x_img [N,1,8,8] float32, y [N] int64
  samples.json                   accuracies, parameter counts, inputs and outputs, test-split size

Each ONNX file is checked with onnx.checker and run through a small interpreter (below, torch
kernels) on the whole test split against the PyTorch model; each TorchScript file is reloaded and
compared the same way.
"""
import argparse
import hashlib
import json
import os
import pathlib
import sys
import time
import warnings

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import helper, numpy_helper
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

SEED = 0
TEST_SIZE = 0.25
OPSETS = (13, 17)
MAX_DIFF = 1e-4
# Bytes, everything written into --out (it is committed). The eight model files alone hold
# 4 x (17,226 + 38,474) float32 numbers (0.89 MB); the compressed test split adds little.
SIZE_LIMIT = 1_000_000


def make_mlp():
    return nn.Sequential(
        nn.Linear(64, 128), nn.ReLU(),
        nn.Linear(128, 64), nn.ReLU(),
        nn.Linear(64, 10))


def make_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(32 * 4 * 4, 64), nn.ReLU(),
        nn.Linear(64, 10))


# name: (constructor, input key in digits_test.npz, epochs, learning rate)
MODELS = {
    "digits_mlp": (make_mlp, "x", 40, 1e-3),
    "digits_cnn": (make_cnn, "x_img", 20, 1e-3),
}
BATCH = 32


def load_split():
    """Digits scaled to [0,1], fixed stratified split: (train, test) dicts of numpy arrays."""
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=TEST_SIZE, stratify=y, random_state=SEED)

    def pack(x, y):
        return {"x": x, "x_img": x.reshape(-1, 1, 8, 8), "y": y}

    return pack(x_tr, y_tr), pack(x_te, y_te)


def train(model, x, y, epochs, lr):
    gen = torch.Generator().manual_seed(SEED)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=gen).split(BATCH):
            opt.zero_grad()
            F.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
    return model.eval()


# --- a tiny ONNX interpreter for the ops these two graphs use (no onnxruntime here) ---

def _pads2d(attrs):
    pads = list(attrs.get("pads", [0, 0, 0, 0]))
    if pads[:2] != pads[2:]:
        raise ValueError(f"asymmetric pads {pads}")
    return pads[:2]


def _gemm(ins, a):
    x, w = ins[0], ins[1]
    x = x.t() if a.get("transA", 0) else x
    w = w.t() if a.get("transB", 0) else w
    out = a.get("alpha", 1.0) * (x @ w)
    return out + a.get("beta", 1.0) * ins[2] if len(ins) > 2 else out


ONNX_OPS = {
    "Relu": lambda ins, a: torch.relu(ins[0]),
    "Flatten": lambda ins, a: ins[0].reshape(
        int(np.prod(ins[0].shape[:a.get("axis", 1)])), -1),
    "Gemm": _gemm,
    "Conv": lambda ins, a: F.conv2d(
        ins[0], ins[1], ins[2] if len(ins) > 2 else None, stride=a.get("strides", 1),
        padding=_pads2d(a), dilation=a.get("dilations", 1), groups=a.get("group", 1)),
    "BatchNormalization": lambda ins, a: F.batch_norm(
        ins[0], ins[3], ins[4], ins[1], ins[2], training=False, eps=a.get("epsilon", 1e-5)),
    "MaxPool": lambda ins, a: F.max_pool2d(
        ins[0], a["kernel_shape"], stride=a.get("strides", 1), padding=_pads2d(a),
        ceil_mode=bool(a.get("ceil_mode", 0))),
}


def run_onnx(model, x):
    graph = model.graph
    env = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in graph.initializer}
    env[graph.input[0].name] = x
    for node in graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        env[node.output[0]] = ONNX_OPS[node.op_type]([env[i] for i in node.input], attrs)
    return env[graph.output[0].name]


# --- export and checks ---

def export(name, model, x_example, out):
    """Writes the TorchScript and ONNX files of one model; returns their paths."""
    paths = []
    for kind, module in (("scripted", torch.jit.script(model)),
                         ("traced", torch.jit.trace(model, x_example))):
        path = out / f"{name}.{kind}.pt"
        torch.jit.save(module, str(path))
        paths.append(path)
    for opset in OPSETS:
        path = out / f"{name}.op{opset}.onnx"
        # TrainingMode.EVAL folds every BatchNorm into the Conv before it (whatever
        # do_constant_folding says); PRESERVE on a model in eval mode keeps the
        # BatchNormalization nodes, in inference form, for fold-bn-into-conv to do. Its
        # warning against constant folding concerns models in training mode only.
        torch.onnx.export(
            model, x_example, str(path), opset_version=opset,
            input_names=["input"], output_names=["logits"],
            dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
            do_constant_folding=True, training=torch.onnx.TrainingMode.PRESERVE)
        paths.append(path)
    return paths


def check(path, x, expected):
    """Max abs difference between the file's outputs and the PyTorch model's, on x."""
    if path.suffix == ".onnx":
        onnx.checker.check_model(str(path))
        got = run_onnx(onnx.load(str(path)), x)
    else:
        got = torch.jit.load(str(path))(x)
    diff = (got - expected).abs().max().item()
    if not diff < MAX_DIFF:
        raise SystemExit(f"{path.name}: max abs diff {diff:.3g} >= {MAX_DIFF}")
    return diff


def pin_hash_seed():
    """Reruns this script with PYTHONHASHSEED=0 unless it is already set so.

    torch.jit.save writes a module's constants (`__constants__`, a set of names) in set order,
    which follows Python's per-process string hashing; a fixed seed makes the .pt files stable.
    """
    if os.environ.get("PYTHONHASHSEED") != "0":
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        os.execve(sys.executable, [sys.executable, *sys.argv], env)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=pathlib.Path(__file__).parent, type=pathlib.Path,
                        help="output folder (default: this script's folder, samples/)")
    args = parser.parse_args()
    pin_hash_seed()
    args.out.mkdir(parents=True, exist_ok=True)

    warnings.filterwarnings(
        "ignore", message="It is recommended that constant folding be turned off")
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    train_set, test_set = load_split()
    t = {k: torch.from_numpy(v) for k, v in train_set.items()}
    written = []
    summary = {"dataset": "sklearn digits (8x8, 10 classes), pixels / 16",
               "test_split": {"file": "digits_test.npz", "size": len(test_set["y"]),
                              "test_size": TEST_SIZE, "random_state": SEED, "stratified": True},
               "models": {}}

    for name, (make, key, epochs, lr) in MODELS.items():
        torch.manual_seed(SEED)
        start = time.perf_counter()
        model = train(make(), t[key], t["y"], epochs, lr)
        seconds = time.perf_counter() - start
        x = torch.from_numpy(test_set[key])
        with torch.no_grad():
            logits = model(x)
        correct = int((logits.argmax(1).numpy() == test_set["y"]).sum())
        accuracy = correct / len(x)
        print(f"{name}: trained {epochs} epochs in {seconds:.1f} s, "
              f"test accuracy {accuracy:.4f} ({correct}/{len(x)})")

        paths = export(name, model, x[:2], args.out)
        with torch.no_grad():
            for path in paths:
                print(f"  {path.name}: max abs diff {check(path, x, logits):.2e}")
        if name == "digits_cnn":
            for path in paths:
                if path.suffix == ".onnx":
                    ops = [n.op_type for n in onnx.load(str(path)).graph.node]
                    if ops.count("BatchNormalization") != 2:
                        raise SystemExit(f"{path.name}: expected 2 BatchNormalization, got {ops}")
        written += paths
        summary["models"][name] = {
            "test_accuracy": round(accuracy, 4),
            "test_correct": correct,
            "parameters": sum(p.numel() for p in model.parameters()),
            "inputs": [{"name": "input", "dtype": "float32", "shape": ["N", *x.shape[1:]],
                        "npz_key": key}],
            "outputs": [{"name": "logits", "dtype": "float32", "shape": ["N", 10]}],
            "files": [p.name for p in paths],
        }

    npz = args.out / "digits_test.npz"
    np.savez_compressed(npz, **test_set)  # pixels take 17 values: compresses ~10x
    summary_path = args.out / "samples.json"
    summary_path.write_text(json.dumps(summary, indent=2) + "\n")
    written += [npz, summary_path]

    total = 0
    for path in written:
        size = path.stat().st_size
        total += size
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        print(f"{size:>9,d}  {digest}  {path.name}")
    print(f"{total:>9,d}  total")
    if total >= SIZE_LIMIT:
        raise SystemExit(f"samples total {total} bytes >= {SIZE_LIMIT}")


if __name__ == "__main__":
    main()
