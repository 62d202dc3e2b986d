#!/usr/bin/env python3
"""Cross-checks Quanta's safetensors reader and writer against the reference `safetensors` package.

Usage:
    check_safetensors.py read PATH    # parse a file (e.g. one Quanta wrote) with the reference implementation and
                                      # print {"metadata": {...}, "tensors": {name: {"dtype", "shape", "sum"}}} as JSON
    check_safetensors.py write PATH   # write a file of known contents for Quanta to read; print its header as the
                                      # reference reads it back: {"metadata": {...}, "tensors": {name: {"dtype", "shape"}}}

Written values (element i of the flattened tensor, i = 0, 1, ...):
    F32, F16, BF16:  ((i * 37) % 101 - 50) / 4     (exact in every float type)
    I8, I32, I64:    (i * 37) % 101 - 50
    U8:              (i * 37) % 251

Tested with safetensors 0.8.0 and numpy 2.4.6 (`pip install safetensors numpy`). numpy has no bfloat16, so BF16
tensors are decoded here from the raw bytes that `safetensors.deserialize` returns (the top 16 bits of a float32)
and written through `safetensors.TensorSpec` (safetensors >= 0.7; skipped, and left out of the printed list, on
older versions). `safetensors.deserialize` runs the reference validator over the whole file (header, offsets,
no gaps or overlaps, data section fully covered), so a file Quanta wrote that it accepts is a valid safetensors file.
"""

import json
import sys

import numpy as np
import safetensors
from safetensors import deserialize, safe_open
from safetensors.numpy import save_file

NUMPY_DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
    "I16": np.int16, "I8": np.int8, "U64": np.uint64, "U32": np.uint32, "U16": np.uint16, "U8": np.uint8,
    "BOOL": np.bool_,
}

WRITTEN_SHAPES = {
    "float32.matrix": ("F32", [3, 7]),
    "float16.vector": ("F16", [31]),
    "int8.codes": ("I8", [2, 13]),
    "uint8.codes": ("U8", [127]),
    "int32.codes": ("I32", [5]),
    "int64.ids": ("I64", [1]),
    "scalar": ("F32", []),
    "empty": ("F32", [0, 4]),
}
WRITTEN_BF16 = {"bfloat16.matrix": ("BF16", [11, 3])}
WRITTEN_METADATA = {"format": "np", "source": "check_safetensors.py"}


def formula(dtype, count):
    i = np.arange(count, dtype=np.int64)
    if dtype == "U8":
        return (i * 37) % 251
    values = (i * 37) % 101 - 50
    return values / 4.0 if dtype in ("F32", "F16", "BF16") else values


def read(path):
    with open(path, "rb") as handle:
        entries = dict(deserialize(handle.read()))
    with safe_open(path, framework="numpy") as handle:
        metadata = handle.metadata() or {}
    tensors = {}
    for name, entry in sorted(entries.items()):
        dtype, shape, data = entry["dtype"], entry["shape"], bytes(entry["data"])
        if dtype == "BF16":
            values = (np.frombuffer(data, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        elif dtype in NUMPY_DTYPES:
            values = np.frombuffer(data, dtype=np.dtype(NUMPY_DTYPES[dtype]).newbyteorder("<"))
        else:
            raise SystemExit(f"{path}: tensor {name!r} has dtype {dtype}, which this script does not decode")
        tensors[name] = {"dtype": dtype, "shape": shape, "sum": float(values.astype(np.float64).sum())}
    print(json.dumps({"metadata": metadata, "tensors": tensors}, sort_keys=True))


def write(path):
    arrays = {}
    for name, (dtype, shape) in WRITTEN_SHAPES.items():
        count = int(np.prod(shape, dtype=np.int64))
        arrays[name] = formula(dtype, count).astype(NUMPY_DTYPES[dtype]).reshape(shape)
    written = dict(WRITTEN_SHAPES)
    if hasattr(safetensors, "TensorSpec"):
        from safetensors import TensorSpec, serialize_file

        specs, keep_alive = {}, []
        for name, array in arrays.items():
            array = np.ascontiguousarray(array)
            keep_alive.append(array)
            specs[name] = TensorSpec(dtype=array.dtype.name, shape=list(array.shape),
                                     data_ptr=array.ctypes.data, data_len=array.nbytes)
        for name, (dtype, shape) in WRITTEN_BF16.items():
            count = int(np.prod(shape, dtype=np.int64))
            bits = (formula(dtype, count).astype(np.float32).view(np.uint32) >> 16).astype("<u2")
            keep_alive.append(bits)
            specs[name] = TensorSpec(dtype="bfloat16", shape=shape, data_ptr=bits.ctypes.data, data_len=bits.nbytes)
        serialize_file(specs, path, metadata=WRITTEN_METADATA)
        written.update(WRITTEN_BF16)
    else:
        save_file(arrays, path, metadata=WRITTEN_METADATA)
    # Report the header as the reference reads it back: safetensors 0.8's TensorSpec stores shape [] as [1].
    with open(path, "rb") as handle:
        entries = dict(deserialize(handle.read()))
    assert sorted(entries) == sorted(written), (sorted(entries), sorted(written))
    tensors = {name: {"dtype": entry["dtype"], "shape": entry["shape"]} for name, entry in entries.items()}
    print(json.dumps({"metadata": WRITTEN_METADATA, "tensors": tensors}, sort_keys=True))


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("read", "write"):
        raise SystemExit(__doc__)
    (read if sys.argv[1] == "read" else write)(sys.argv[2])
