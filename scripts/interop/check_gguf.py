#!/usr/bin/env python3
"""Reads a GGUF file Quanta exported with the reference consumers and prints one JSON object on stdout.

  check_gguf.py read FILE             gguf (PyPI, llama.cpp's gguf-py): metadata, and per tensor its GGML type name,
                                      shape (outermost first) and the float64 sum of its values dequantized by gguf-py
  check_gguf.py quantize F32 QUANT    gguf-py's quantizers (bit-exact ports of ggml's reference ones) applied to each F32
                                      tensor of F32 whose counterpart in QUANT is a block type: blocks compared bytewise
  check_gguf.py logits FILE ID,ID,... llama-cpp-python: the logits llama.cpp computes for those token ids, one row per
                                      position
  check_gguf.py dequantize FILE OUT   gguf-py's dequantization of every tensor, as raw little-endian float32 appended
                                      to OUT in file order; prints name → type, shape, element offset, count
  check_gguf.py quantize-ggml F32 QUANT  as `quantize`, for the K-quants gguf-py cannot quantize (Q4_K, Q5_K, Q6_K):
                                      llama.cpp's own quantize_row_*_ref from the libggml-base that llama-cpp-python
                                      ships, called through ctypes

Used by Tests/ExportTests/GGUFInteropTests.swift and benchmarks/export_gguf.py.
"""
import json
import sys


def read(path):
    import gguf
    import numpy as np

    reader = gguf.GGUFReader(path)
    metadata = {}
    for key, field in reader.fields.items():
        if key.startswith("GGUF."):
            continue
        value = field.contents()
        if isinstance(value, list) and len(value) > 8:
            value = {"count": len(value), "first": value[:4]}
        metadata[key] = value
    tensors = {}
    for tensor in reader.tensors:
        values = gguf.quants.dequantize(tensor.data, tensor.tensor_type)
        tensors[tensor.name] = {
            "type": tensor.tensor_type.name,
            "shape": [int(d) for d in reversed(tensor.shape)],
            "sum": float(np.asarray(values, dtype=np.float64).sum()),
        }
    return {"metadata": metadata, "tensors": tensors}


def quantize(float_path, quantized_path):
    import gguf
    import numpy as np

    floats = {t.name: t for t in gguf.GGUFReader(float_path).tensors}
    result = {}
    for tensor in gguf.GGUFReader(quantized_path).tensors:
        if tensor.tensor_type.name not in ("Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1"):
            continue
        source = floats[tensor.name]
        values = np.asarray(source.data, dtype=np.float32).reshape(-1, int(source.shape[0]))
        expected = gguf.quants.quantize(values, tensor.tensor_type).reshape(-1)
        actual = np.asarray(tensor.data).reshape(-1).view(np.uint8)
        block_bytes = gguf.GGML_QUANT_SIZES[tensor.tensor_type][1]
        equal = (expected.reshape(-1, block_bytes) == actual.reshape(-1, block_bytes)).all(axis=1)
        result[tensor.name] = {"type": tensor.tensor_type.name, "blocks": int(equal.size), "equal": int(equal.sum())}
    return {"tensors": result}


def dequantize(path, out_path):
    import gguf
    import numpy as np

    result = {}
    offset = 0
    with open(out_path, "wb") as out:
        for tensor in gguf.GGUFReader(path).tensors:
            values = np.ascontiguousarray(gguf.quants.dequantize(tensor.data, tensor.tensor_type), dtype="<f4")
            out.write(values.tobytes())
            result[tensor.name] = {"type": tensor.tensor_type.name, "shape": [int(d) for d in reversed(tensor.shape)],
                                   "offset": offset, "count": int(values.size)}
            offset += int(values.size)
    return {"tensors": result}


def ggml_reference_quantizers():
    """quantize_row_{q4_K,q5_K,q6_K}_ref from the libggml-base llama-cpp-python ships (compiled without -march, so
    plain IEEE float32 arithmetic with no fused multiply-adds)."""
    import ctypes
    import glob
    import os

    import llama_cpp

    lib_dir = os.path.join(os.path.dirname(llama_cpp.__file__), "lib")
    candidates = sorted(glob.glob(os.path.join(lib_dir, "libggml-base.*")))
    if not candidates:
        sys.exit(f"no libggml-base in {lib_dir}")
    lib = ctypes.CDLL(candidates[0])
    functions = {}
    for name in ("Q4_K", "Q5_K", "Q6_K"):
        function = getattr(lib, f"quantize_row_{name.lower().replace('_k', '_K')}_ref")
        function.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
        function.restype = None
        functions[name] = function
    return functions


def quantize_ggml(float_path, quantized_path):
    import gguf
    import numpy as np

    functions = ggml_reference_quantizers()
    floats = {t.name: t for t in gguf.GGUFReader(float_path).tensors}
    result = {}
    for tensor in gguf.GGUFReader(quantized_path).tensors:
        name = tensor.tensor_type.name
        if name not in functions:
            continue
        values = np.ascontiguousarray(floats[tensor.name].data, dtype=np.float32).reshape(-1)
        block_bytes = gguf.GGML_QUANT_SIZES[tensor.tensor_type][1]
        expected = np.zeros(values.size // 256 * block_bytes, dtype=np.uint8)
        functions[name](values.ctypes.data, expected.ctypes.data, values.size)
        actual = np.asarray(tensor.data).reshape(-1).view(np.uint8)
        equal = (expected.reshape(-1, block_bytes) == actual.reshape(-1, block_bytes)).all(axis=1)
        result[tensor.name] = {"type": name, "blocks": int(equal.size), "equal": int(equal.sum())}
    return {"tensors": result}


def logits(path, ids):
    from llama_cpp import Llama

    model = Llama(model_path=path, n_ctx=max(64, len(ids)), n_batch=max(64, len(ids)), n_threads=2,
                  logits_all=True, verbose=False)
    model.eval(ids)
    return {"logits": [[float(x) for x in row] for row in model.scores[: len(ids)]]}


if __name__ == "__main__":
    command, path = sys.argv[1], sys.argv[2]
    if command == "read":
        result = read(path)
    elif command == "quantize":
        result = quantize(path, sys.argv[3])
    elif command == "dequantize":
        result = dequantize(path, sys.argv[3])
    elif command == "quantize-ggml":
        result = quantize_ggml(path, sys.argv[3])
    elif command == "logits":
        result = logits(path, [int(x) for x in sys.argv[3].split(",")])
    else:
        sys.exit(f"unknown command {command}")
    print(json.dumps(result))
