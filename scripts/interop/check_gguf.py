#!/usr/bin/env python3
"""Reads a GGUF file Quanta exported with the reference consumers and prints one JSON object on stdout.

  check_gguf.py read FILE             gguf (PyPI, llama.cpp's gguf-py): metadata, and per tensor its GGML type name,
                                      shape (outermost first) and the float64 sum of its values dequantized by gguf-py
  check_gguf.py logits FILE ID,ID,... llama-cpp-python: the logits llama.cpp computes for those token ids, one row per
                                      position

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
    elif command == "logits":
        result = logits(path, [int(x) for x in sys.argv[3].split(",")])
    else:
        sys.exit(f"unknown command {command}")
    print(json.dumps(result))
