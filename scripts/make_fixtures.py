"""Generates the large seeded random-weight models that tests and benchmarks use (never committed).

Run with Debian's python (it has torch, torchvision and onnx):

    /usr/bin/python3 scripts/make_fixtures.py --out DIR [--only name1,name2] [--force]

A fixture whose files all exist already is skipped unless --force. Every ONNX file is opset 17 with
a dynamic batch axis `N` and passes onnx.checker. The fixtures:

  resnet18      torchvision ResNet-18: resnet18.onnx (input [N,3,224,224] -> logits),
                resnet18.traced.pt, resnet18.scripted.pt; the exporter (eval mode) has folded
                every BatchNorm into its Conv in the ONNX file, the TorchScript ones keep them
  resnet18_ext  the same ONNX model with its tensors in resnet18_ext.onnx.data
  mobilenet_v2  torchvision MobileNetV2, files named as for resnet18
  bert          a BERT-base-like encoder (input_ids, attention_mask [N,S] -> hidden [N,S,768]):
                bert.onnx, bert.traced.pt
  mlp350m       21 MatMul+Add(+Relu) layers of 4096x4096, 352 M parameters, written straight
                with onnx.helper: mlp350m.onnx + mlp350m.onnx.data (1.4 GB)
  mlp700m       the same with 42 layers: 705 M parameters, 2.8 GB, past protobuf's 2 GB limit
"""
import argparse
import fcntl
import io
import pathlib
import time

import numpy as np
import onnx
import torch
import torchvision
from onnx import TensorProto, helper
from torch import nn

SEED = 0
OPSET = 17


def export_onnx(model, args, f, input_names, output_names, dynamic_axes):
    torch.onnx.export(model, args, f, opset_version=OPSET, input_names=input_names,
                      output_names=output_names, dynamic_axes=dynamic_axes,
                      do_constant_folding=True)


# --- torchvision CNNs ---

def vision_model(name):
    """A torchvision model with seeded random weights, in eval mode.

    With fresh BatchNorm statistics (mean 0, variance 1) MobileNetV2's logits come out near 1e-9;
    one training-mode pass over random images gives every BatchNorm real statistics instead.
    """
    torch.manual_seed(SEED)
    model = getattr(torchvision.models, name)(weights=None)
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for bn in norms:
        bn.momentum = None  # running statistics = those of the batch below
    with torch.no_grad():
        model.train()(torch.randn(16, 3, 224, 224))
    for bn in norms:
        bn.momentum = 0.1
    return model.eval()


def vision_onnx(model, f):
    with torch.no_grad():
        export_onnx(model, torch.randn(1, 3, 224, 224), f, ["input"], ["logits"],
                    {"input": {0: "N"}, "logits": {0: "N"}})


def vision_fixture(name):
    def make(out):
        model = vision_model(name)
        vision_onnx(model, str(out / f"{name}.onnx"))
        with torch.no_grad():
            torch.jit.save(torch.jit.trace(model, torch.randn(1, 3, 224, 224)),
                           str(out / f"{name}.traced.pt"))
        torch.jit.save(torch.jit.script(model), str(out / f"{name}.scripted.pt"))
    return make


def make_resnet18_ext(out):
    buffer = io.BytesIO()
    vision_onnx(vision_model("resnet18"), buffer)
    data = out / "resnet18_ext.onnx.data"
    data.unlink(missing_ok=True)  # onnx appends to an existing data file
    onnx.save_model(onnx.load_from_string(buffer.getvalue()), str(out / "resnet18_ext.onnx"),
                    save_as_external_data=True, all_tensors_to_one_file=True,
                    location=data.name, size_threshold=1024)


# --- BERT-base-like encoder ---

class BertEncoder(nn.Module):
    """Token + learned position embeddings, LayerNorm, then a post-norm TransformerEncoder."""

    def __init__(self, vocab=30522, max_len=512, d=768, heads=12, ff=3072, layers=12):
        super().__init__()
        self.tokens = nn.Embedding(vocab, d)
        self.positions = nn.Embedding(max_len, d)
        self.norm = nn.LayerNorm(d)
        layer = nn.TransformerEncoderLayer(d, heads, ff, activation="gelu",
                                           batch_first=True, norm_first=False)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)

    def forward(self, input_ids, attention_mask):
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = self.norm(self.tokens(input_ids) + self.positions(positions))
        return self.encoder(x, src_key_padding_mask=attention_mask == 0)


def bert_model():
    """A BertEncoder in eval mode with BERT-style random weights, distinct in every tensor.

    nn.TransformerEncoder deep-copies one layer, so its 12 layers start identical, and the ONNX
    exporter then stores equal tensors once (a 28 MB file); LayerNorm ones and zero biases would be
    shared the same way. So every tensor is drawn afresh: N(1, 0.02) for LayerNorm scales, N(0,
    0.02) for the rest.
    """
    torch.manual_seed(SEED)
    model = BertEncoder()
    with torch.no_grad():
        for module in model.modules():
            for name, p in module.named_parameters(recurse=False):
                mean = 1.0 if isinstance(module, nn.LayerNorm) and name == "weight" else 0.0
                p.normal_(mean, 0.02)
    return model.eval()


def bert_inputs():
    gen = torch.Generator().manual_seed(SEED)
    input_ids = torch.randint(0, 30522, (2, 16), generator=gen)
    attention_mask = torch.ones(2, 16, dtype=torch.int64)
    attention_mask[1, 10:] = 0
    return input_ids, attention_mask


def make_bert(out):
    model = bert_model()
    inputs = bert_inputs()
    # No torch.no_grad() here: with autograd off, TransformerEncoderLayer takes its fused
    # fast path (torch._transformer_encoder_layer_fwd), which neither ONNX nor the tracer handle.
    axes = {0: "N", 1: "S"}
    export_onnx(model, inputs, str(out / "bert.onnx"), ["input_ids", "attention_mask"],
                ["hidden"], {"input_ids": axes, "attention_mask": axes, "hidden": axes})
    # The trace check reruns the model and compares; it is slow here and needlessly strict.
    traced = torch.jit.trace(model, inputs, check_trace=False)
    torch.jit.save(traced, str(out / "bert.traced.pt"))


# --- 352 M-parameter MLP, written without torch ---

MLP_WIDTH = 4096
ALIGN = 65536  # each tensor starts at a multiple of this in the .data file (mmap-friendly)


def mlp_fixture(name, layers):
    """A stack of `layers` 4096x4096 MatMul+Add(+Relu) layers stored as external data."""
    return lambda out: make_mlp(out, name, layers)


def make_mlp(out, name, layers):
    """Writes the weights layer by layer into NAME.onnx.data, so at most one is in memory."""
    rng = np.random.default_rng(SEED)
    data = out / f"{name}.onnx.data"
    initializers, nodes = [], []
    x = "x"
    with open(data, "wb") as f:
        def external(name, array):
            f.seek(-f.tell() % ALIGN, 1)  # pad to the next multiple of ALIGN
            offset = f.tell()
            f.write(memoryview(array))
            tensor = TensorProto(name=name, dims=array.shape, data_type=TensorProto.FLOAT,
                                 data_location=TensorProto.EXTERNAL)
            for key, value in (("location", data.name), ("offset", offset),
                               ("length", array.nbytes)):
                tensor.external_data.add(key=key, value=str(value))
            initializers.append(tensor)

        for i in range(layers):
            # He-style scale: with the ReLUs, activations keep about the input's magnitude.
            w = rng.standard_normal((MLP_WIDTH, MLP_WIDTH), dtype=np.float32)
            w *= np.float32(np.sqrt(2.0 / MLP_WIDTH))
            external(f"layer{i}.weight", w)
            del w
            external(f"layer{i}.bias", 0.01 * rng.standard_normal(MLP_WIDTH, dtype=np.float32))
            last = i == layers - 1
            mm, y = f"layer{i}/MatMul", "y" if last else f"layer{i}/Add"
            nodes += [helper.make_node("MatMul", [x, f"layer{i}.weight"], [mm], name=mm),
                      helper.make_node("Add", [mm, f"layer{i}.bias"], [y], name=f"layer{i}/Add")]
            if not last:
                x = f"layer{i}/Relu"
                nodes.append(helper.make_node("Relu", [y], [x], name=x))

    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", MLP_WIDTH])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", MLP_WIDTH])],
        initializers)
    model = helper.make_model(graph, producer_name="mopt make_fixtures.py",
                              opset_imports=[helper.make_opsetid("", OPSET)])
    onnx.save_model(model, str(out / f"{name}.onnx"))


# name: (files written, function writing them into the output folder)
FIXTURES = {
    "resnet18": (["resnet18.onnx", "resnet18.traced.pt", "resnet18.scripted.pt"],
                 vision_fixture("resnet18")),
    "resnet18_ext": (["resnet18_ext.onnx", "resnet18_ext.onnx.data"], make_resnet18_ext),
    "mobilenet_v2": (["mobilenet_v2.onnx", "mobilenet_v2.traced.pt", "mobilenet_v2.scripted.pt"],
                     vision_fixture("mobilenet_v2")),
    "bert": (["bert.onnx", "bert.traced.pt"], make_bert),
    "mlp350m": (["mlp350m.onnx", "mlp350m.onnx.data"], mlp_fixture("mlp350m", 21)),
    "mlp700m": (["mlp700m.onnx", "mlp700m.onnx.data"], mlp_fixture("mlp700m", 42)),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=pathlib.Path, help="output folder")
    parser.add_argument("--only", help="comma-separated fixture names (default: all): "
                        + ", ".join(FIXTURES))
    parser.add_argument("--force", action="store_true", help="remake fixtures that exist")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(FIXTURES)
    unknown = sorted(set(names) - set(FIXTURES))
    if unknown:
        parser.error(f"unknown fixture(s) {', '.join(unknown)}; known: {', '.join(FIXTURES)}")
    args.out.mkdir(parents=True, exist_ok=True)
    # ctest runs several tests that call this script at once: one writer at a time, and the others
    # wait for its files instead of reading them half-written.
    lock = open(args.out / ".lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)

    for name in names:
        files, make = FIXTURES[name]
        paths = [args.out / f for f in files]
        if not args.force and all(p.exists() for p in paths):
            print(f"{name}: exists, skipped")
            continue
        start = time.perf_counter()
        make(args.out)
        for path in paths:
            if path.suffix == ".onnx":
                onnx.checker.check_model(str(path))
        seconds = time.perf_counter() - start
        size = sum(p.stat().st_size for p in paths)
        print(f"{name}: {seconds:.1f} s, {size / 1e6:.1f} MB ({', '.join(files)})", flush=True)


if __name__ == "__main__":
    main()
