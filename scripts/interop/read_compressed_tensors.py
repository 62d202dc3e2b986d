#!/usr/bin/env python3
"""Reads a compressed-tensors folder Quanta exported with the `safetensors` package (numpy) and prints one JSON object.

  read_compressed_tensors.py FOLDER

Independent of Quanta and of the compressed-tensors package: config.json's quantization_config says which layers are
quantized and how; the packed codes are unpacked here from the layout compressed-tensors documents
(`pack_to_int32`: value + 2^(b-1), element i of a row at bits [i*b, (i+1)*b) of the row's int32 words, zero points
packed the same way down the columns) and dequantized as (q - zp) * scale in float64. Per tensor: dtype and shape;
per quantized layer: its format, the signed codes (row-major), the zero points, and the sum of the dequantized
weight. FP8 (F8_E4M3) weights, which numpy cannot hold, are decoded from the file's bytes.

Used by Tests/ExportTests/CompressedTensorsInteropTests.swift.
"""
import json
import re
import struct
import sys

import numpy as np
from safetensors import safe_open


def unpack(words, bits, columns):
    """[rows, words] int32 -> [rows, columns] signed codes."""
    words = np.asarray(words, dtype=np.int64) & 0xFFFFFFFF
    rows = words.shape[0]
    out = np.zeros((rows, columns), dtype=np.int64)
    for i in range(columns):
        bit = i * bits
        word, shift = bit // 32, bit % 32
        value = words[:, word] >> shift
        if shift + bits > 32:
            value = value | (words[:, word + 1] << (32 - shift))
        out[:, i] = value & ((1 << bits) - 1)
    return out - (1 << (bits - 1))


def e4m3(byte):
    sign = -1.0 if byte & 0x80 else 1.0
    exponent, mantissa = (byte >> 3) & 0xF, byte & 0x7
    if exponent == 0xF and mantissa == 0x7:
        return float("nan")
    if exponent == 0:
        return sign * mantissa / 8.0 * 2.0 ** -6
    return sign * (1 + mantissa / 8.0) * 2.0 ** (exponent - 7)


def raw_fp8(path, name):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        entry = header[name]
        begin, end = entry["data_offsets"]
        f.seek(8 + n + begin)
        data = f.read(end - begin)
    table = np.array([e4m3(b) for b in range(256)])
    return table[np.frombuffer(data, dtype=np.uint8)].reshape(entry["shape"])


def matches(target, name):
    if target == "Linear":
        return True
    if target.startswith("re:"):
        return re.match(target[3:], name) is not None
    return target == name


def main(folder):
    config = json.load(open(folder + "/config.json"))
    q = config["quantization_config"]
    path = folder + "/model.safetensors"
    tensors, layers = {}, {}
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    for name, entry in header.items():
        if name != "__metadata__":
            tensors[name] = {"dtype": entry["dtype"], "shape": entry["shape"]}
    with safe_open(path, framework="np") as st:
        modules = sorted({k.rsplit(".", 1)[0] for k in header if k.endswith((".weight", ".weight_packed"))})
        for module in modules:
            if any(matches(t, module) for t in q.get("ignore") or []):
                continue
            group = next((g for g in q["config_groups"].values() if any(matches(t, module) for t in g["targets"])), None)
            if group is None or group.get("weights") is None or module.endswith(("embed_tokens", "norm", "layernorm")):
                continue
            args = group["weights"]
            fmt = group.get("format") or q["format"]
            bits = args["num_bits"]
            scale = st.get_tensor(module + ".weight_scale").astype(np.float64)
            if fmt == "pack-quantized":
                shape = [int(v) for v in st.get_tensor(module + ".weight_shape")]
                codes = unpack(st.get_tensor(module + ".weight_packed"), bits, shape[1])
            elif args["type"] == "float":
                codes = raw_fp8(path, module + ".weight")
                shape = list(codes.shape)
            else:
                codes = st.get_tensor(module + ".weight").astype(np.int64)
                shape = list(codes.shape)
            rows, columns = shape
            zp = np.zeros_like(scale)
            if not args["symmetric"]:
                stored = st.get_tensor(module + ".weight_zero_point")
                if fmt == "pack-quantized" and args["strategy"] != "tensor":
                    zp = unpack(np.asarray(stored).T, bits, scale.shape[0]).T.astype(np.float64)
                else:
                    zp = stored.astype(np.float64).reshape(scale.shape)
            strategy = args["strategy"]
            if strategy == "group":
                size = args["group_size"]
                s = np.repeat(scale.reshape(rows, -1), size, axis=1)
                z = np.repeat(zp.reshape(rows, -1), size, axis=1)
            elif strategy == "channel":
                s, z = scale.reshape(rows, 1), zp.reshape(rows, 1)
            else:
                s, z = scale.reshape(1, 1), zp.reshape(1, 1)
            weight = (codes.astype(np.float64) - z) * s
            layers[module] = {
                "format": fmt,
                "codes": [float(c) for c in codes.reshape(-1)] if args["type"] == "float" else [int(c) for c in codes.reshape(-1)],
                "zero_points": [int(v) for v in zp.reshape(-1)],
                "sum": float(weight.sum()),
            }
    json.dump({"tensors": tensors, "layers": layers}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
