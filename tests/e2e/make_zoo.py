"""torchvision classifiers beyond the resnet18 / mobilenet_v2 fixtures, for the executor and the
TorchScript frontend: each traced to TorchScript and exported to ONNX, with its eager output.
Random weights, but BatchNorm statistics and affine terms drawn away from their identity init so
activations keep a useful scale (the default init gives logits near 1e-9 in some of these).

    /usr/bin/python3 tests/e2e/make_zoo.py OUT_DIR [NAME ...]
"""
import sys

import numpy as np
import torch
import torchvision

MODELS = ["mobilenet_v3_small", "efficientnet_b0", "shufflenet_v2_x0_5", "squeezenet1_0",
          "densenet121", "vgg11_bn"]


def main():
    out = sys.argv[1]
    names = sys.argv[2:] or MODELS
    torch.manual_seed(0)
    torch.set_num_threads(1)
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((1, 3, 224, 224), dtype=np.float32))
    np.savez(f"{out}/zoo_input.npz", input=x.numpy())
    for name in names:
        net = getattr(torchvision.models, name)(weights=None).eval()
        with torch.no_grad():
            for m in net.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.running_mean.uniform_(-0.1, 0.1)
                    m.running_var.uniform_(0.5, 1.5)
                    m.weight.uniform_(0.5, 1.5)
                    m.bias.uniform_(-0.1, 0.1)
            ref = net(x)
            traced = torch.jit.trace(net, x)
        traced.save(f"{out}/{name}.pt")
        torch.onnx.export(net, x, f"{out}/{name}.onnx", input_names=["input"], output_names=["logits"],
                          opset_version=13, dynamic_axes={"input": {0: "N"}})
        np.savez(f"{out}/{name}.ref.npz", logits=ref.numpy())


if __name__ == "__main__":
    main()
