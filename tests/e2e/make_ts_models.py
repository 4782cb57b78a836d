"""Writes small TorchScript models for the importer's tests, plus inputs: scripted and traced
nn.LSTM and nn.GRU (uni- and bidirectional, two layers, batch_first), and a scripted
nn.TransformerEncoder (whose scripted forward branches on autograd, devices and nested tensors)."""
import sys

import numpy as np
import torch
from torch import nn

out = sys.argv[1]
torch.manual_seed(0)


class Rnn(nn.Module):
    def __init__(self, cell, bidirectional):
        super().__init__()
        self.rnn = cell(input_size=8, hidden_size=16, num_layers=2, batch_first=True,
                        bidirectional=bidirectional)
        self.head = nn.Linear(32 if bidirectional else 16, 4)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.head(y)


x = torch.randn(3, 5, 8)
np.savez(f"{out}/rnn_input.npz", x=x.numpy())
for cell, name in ((nn.LSTM, "lstm"), (nn.GRU, "gru")):
    for bidir in (False, True):
        model = Rnn(cell, bidir).eval()
        tag = f"{name}{'_bi' if bidir else ''}"
        torch.jit.script(model).save(f"{out}/{tag}.scripted.pt")
        with torch.no_grad():
            torch.jit.trace(model, x).save(f"{out}/{tag}.traced.pt")


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        layer = nn.TransformerEncoderLayer(d_model=64, nhead=4, dim_feedforward=128, batch_first=True,
                                           activation="gelu")
        self.enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)

    def forward(self, x, mask):
        return self.enc(x, src_key_padding_mask=mask)


torch.jit.script(Encoder().eval()).save(f"{out}/encoder.scripted.pt")
mask = torch.zeros(2, 7, dtype=torch.bool)
mask[1, 5:] = True
np.savez(f"{out}/encoder_input.npz", x=torch.randn(2, 7, 64).numpy(), mask=mask.numpy())
