#!/usr/bin/env python3
"""Writes large ONNX inputs that once took quadratic time or memory far beyond their size (too big
to commit as regression files):
  python3 make_large_inputs.py OUT_DIR [N]
The ctests fuzz.replay.fuzz_onnx.large (OUT_DIR, with a time limit) and
fuzz.replay.fuzz_onnx.memory (OUT_DIR/memory, under an address-space limit) replay them. Plain
Python, no onnx."""
import os
import sys


def varint(n):
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        if not n:
            return out + bytes([b])
        out += bytes([b | 0x80])


def ld(tag, payload):  # a length-delimited field: tag byte, length, payload
    return bytes([tag]) + varint(len(payload)) + payload


def model(graph, extra=b""):  # ir_version 8, opset 17
    return b"\x08\x08" + ld(0x3A, graph) + ld(0x42, b"\x10\x11") + extra


def node(inputs, outputs, op, attrs=b""):
    return ld(0x0A, b"".join(ld(0x0A, i) for i in inputs) + b"".join(ld(0x12, o) for o in outputs)
              + ld(0x22, op) + attrs)


def value(name):  # ValueInfoProto: a float tensor of unknown shape
    return ld(0x0A, name) + ld(0x12, ld(0x0A, b"\x08\x01"))


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
    os.makedirs(os.path.join(out, "memory"), exist_ok=True)
    files = {}
    # N unnamed nodes in a chain: the verifier named each node by counting from the start.
    chain = b"".join(node([b"v%d" % i], [b"v%d" % (i + 1)], b"Relu") for i in range(n))
    files["chain_unnamed.onnx"] = model(chain + ld(0x5A, value(b"v0")) + ld(0x62, value(b"v%d" % n)))
    # One input read by N nodes: use lists were searched and erased from the front.
    fan = b"".join(node([b"x"], [b"o%d" % i], b"Relu") for i in range(n))
    outs = b"".join(ld(0x62, value(b"o%d" % i)) for i in range(n))
    files["fanout.onnx"] = model(fan + ld(0x5A, value(b"x")) + outs)
    # One node of a custom domain with N distinct attributes: setAttr scanned the list each time.
    attrs = b"".join(ld(0x2A, ld(0x0A, b"a%d" % i) + b"\x18\x01\xa0\x01\x02") for i in range(n))
    custom = ld(0x0A, ld(0x0A, b"x") + ld(0x12, b"y") + ld(0x22, b"Op") + ld(0x3A, b"x.y") + attrs)
    files["many_attributes.onnx"] = model(custom + ld(0x5A, value(b"x")) + ld(0x62, value(b"y")),
                                          ld(0x42, ld(0x0A, b"x.y") + b"\x10\x01"))
    # One node with 2 MB of empty attributes (2 bytes each): each once cost 1.7 KB of parsed
    # structure (1.8 GB in all); replayed under a 1 GB address-space limit (memory/ folder).
    empty = ld(0x0A, ld(0x22, b"Relu") + ld(0x2A, b"") * (1 << 20))
    files["memory/empty_attributes.onnx"] = model(empty)
    for name, data in files.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


main()
