#!/usr/bin/env python3
"""PyTorch's side of the round trip checked by packages/nn/test/torch.test.ts.

1. Saves the state dict of a torch.nn.Sequential (Linear, ReLU, BatchNorm1d, Linear,
   Sigmoid, Dropout, Linear; running statistics from a training-mode pass) as safetensors in
   F32, F16 and BF16, with an input batch and PyTorch's logits for it in torch-io.safetensors.
   The test loads them into the neurite model of the same spec without renaming.
2. Loads test/fixtures/neurite-export.safetensors (written by the test with
   NEURITE_WRITE_FIXTURES=1: a neurite model's toTorchStateDict, with torchLayout's code in
   its metadata) into the module that code builds, with load_state_dict(strict=True), and
   prints the largest difference between PyTorch's logits and neurite's.

Needs only torch (no safetensors package): the format is an 8-byte little-endian header
length, a JSON header padded with spaces, and the raw little-endian data.

    python3 packages/nn/scripts/torch_round_trip.py
"""
import json
import os
import struct
import sys

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "test", "fixtures")

CODES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64",
         torch.float64: "F64", torch.int32: "I32"}
DTYPES = {v: k for k, v in CODES.items()}
SIZES = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8, "F64": 8, "I32": 4}


def raw_bytes(t):
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def save(tensors, path, metadata=None):
    # As the safetensors library lays them out: larger elements first, then by name.
    names = sorted(tensors, key=lambda n: (-SIZES[CODES[tensors[n].dtype]], n))
    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name in names:
        data = raw_bytes(tensors[name])
        header[name] = {"dtype": CODES[tensors[name].dtype], "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def load(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        chunk = bytearray(blob[8 + n + begin:8 + n + end])
        dtype = DTYPES[e["dtype"]]
        if dtype == torch.bfloat16:
            t = torch.frombuffer(chunk, dtype=torch.int16).view(torch.bfloat16)
        else:
            t = torch.frombuffer(chunk, dtype=dtype)
        tensors[name] = t.reshape(e["shape"]).clone()
    return tensors, metadata


def write_torch_fixtures():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.BatchNorm1d(8), nn.Linear(8, 5),
                          nn.Sigmoid(), nn.Dropout(0.25), nn.Linear(5, 3))
    model.train()
    for _ in range(3):
        model(torch.randn(16, 6) * 2 + 0.5)
    model.eval()
    x = torch.randn(4, 6)
    with torch.no_grad():
        logits = model(x)
    state = model.state_dict()
    save(dict(state), os.path.join(FIXTURES, "torch-f32.safetensors"), {"format": "pt"})
    for dtype, name in ((torch.float16, "f16"), (torch.bfloat16, "bf16")):
        half = {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in state.items()}
        save(half, os.path.join(FIXTURES, f"torch-{name}.safetensors"), {"format": "pt"})
    save({"input": x, "logits": logits}, os.path.join(FIXTURES, "torch-io.safetensors"))
    print("wrote", ", ".join(sorted(state)))


def check_neurite_export():
    path = os.path.join(FIXTURES, "neurite-export.safetensors")
    if not os.path.exists(path):
        print("no", path, "yet: run the nn test with NEURITE_WRITE_FIXTURES=1")
        return True
    tensors, metadata = load(path)
    scope = {}
    exec(metadata["torch.code"], scope)
    model = scope["model"]
    model.load_state_dict(tensors, strict=True)
    model.eval()
    io, _ = load(os.path.join(FIXTURES, "neurite-io.safetensors"))
    with torch.no_grad():
        logits = model(io["input"])
    worst = (logits - io["logits"]).abs().max().item()
    print(f"neurite export: load_state_dict(strict=True) ok, max |torch - neurite| = {worst:.3g}")
    return worst <= 1e-5


if __name__ == "__main__":
    write_torch_fixtures()
    sys.exit(0 if check_neurite_export() else 1)
