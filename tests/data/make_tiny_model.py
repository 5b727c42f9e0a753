#!/usr/bin/env python3
"""Write a tiny lnn model file by hand with struct + json + NumPy (no safetensors package).

The model: n = 2 with q_1 an angle and q_2 plain, hidden widths 3 and 2, tanh,
float64. Parameter k of the flat buffer (layers.0.weight row-major, layers.0.bias,
layers.1.weight, layers.1.bias, output.weight, output.bias) is (k - 10) / 16, so
a reader can check every value exactly. The tensor data is written in reverse
order to show that offsets, not order, locate a tensor.

Usage: python3 make_tiny_model.py [output.safetensors]
This script generates tests/data/tiny_model_f64.safetensors (docs/file-formats.md).
"""
import json
import struct
import sys

import numpy as np

n = 2
hidden = [3, 2]
activation = "tanh"
embedding = ["angle", "plain"]  # one entry per position coordinate

# Width of z_0 = [phi(q_1), ..., phi(q_n), qdot_1, ..., qdot_n]: an angle
# coordinate contributes (cos q_j, sin q_j), a plain one q_j.
input_width = sum(2 if e == "angle" else 1 for e in embedding) + n

# Shapes in file order; weights are [outputs, inputs], row-major.
shapes = {}
widths = [input_width] + hidden
for l, m in enumerate(hidden):
    shapes[f"layers.{l}.weight"] = (m, widths[l])
    shapes[f"layers.{l}.bias"] = (m,)
shapes["output.weight"] = (1, hidden[-1])
shapes["output.bias"] = (1,)

tensors = {}
k = 0
for name, shape in shapes.items():
    count = int(np.prod(shape))
    tensors[name] = ((np.arange(k, k + count, dtype=np.float64) - 10) / 16).reshape(shape)
    k += count

metadata = {
    "lnn.format": "lnn-model",
    "lnn.format_version": "1",
    "lnn.n": str(n),
    "lnn.hidden": ",".join(str(m) for m in hidden),
    "lnn.activation": activation,
    "lnn.embedding": ",".join(embedding),
    "source": "make_tiny_model.py",
}

header = {"__metadata__": metadata}
blobs = []
offset = 0
for name in reversed(list(tensors)):
    blob = np.ascontiguousarray(tensors[name], dtype="<f8").tobytes()  # little-endian float64
    header[name] = {
        "dtype": "F64",
        "shape": list(tensors[name].shape),
        "data_offsets": [offset, offset + len(blob)],
    }
    blobs.append(blob)
    offset += len(blob)

text = json.dumps(header, separators=(",", ":")).encode("utf-8")
text += b" " * (-(8 + len(text)) % 8)  # pad so the data starts 8-byte aligned

path = sys.argv[1] if len(sys.argv) > 1 else "tiny_model_f64.safetensors"
with open(path, "wb") as f:
    f.write(struct.pack("<Q", len(text)))  # header length, u64 little-endian
    f.write(text)
    for blob in blobs:
        f.write(blob)
