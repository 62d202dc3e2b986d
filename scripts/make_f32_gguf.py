#!/usr/bin/env python3
"""Dequantize every tensor of a GGUF file to F32, keeping all metadata: llama.cpp's float baseline.

Usage:
    python scripts/make_f32_gguf.py IN.gguf OUT.gguf

Needs the `gguf` package (gguf-py from llama.cpp) and numpy. Metadata is copied field by field as gguf-py's own
gguf_new_metadata.py does (GGUF.* virtual fields and general.architecture are written by GGUFWriter itself), except
`general.file_type`, which becomes ALL_F32. Tensors are dequantized with gguf.quants.dequantize and streamed one at a
time, so memory stays near one tensor. The file is written to OUT.tmp and renamed to OUT when complete.
"""
import os
import sys

import numpy as np
import gguf


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, dst = sys.argv[1], sys.argv[2]
    tmp = dst + ".tmp"
    reader = gguf.GGUFReader(src, "r")
    arch = reader.fields[gguf.Keys.General.ARCHITECTURE].contents()
    writer = gguf.GGUFWriter(tmp, arch=arch, endianess=reader.endianess)
    alignment = reader.fields.get(gguf.Keys.General.ALIGNMENT)
    if alignment is not None:
        writer.data_alignment = alignment.contents()

    for field in reader.fields.values():
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue
        value = field.contents()
        if field.name == gguf.Keys.General.FILE_TYPE:
            value = int(gguf.LlamaFileType.ALL_F32)
        val_type = field.types[0]
        sub_type = field.types[-1] if val_type == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, value, val_type, sub_type=sub_type)

    # Tensor infos first (the header needs every shape and size), then the data, one tensor at a time.
    for t in reader.tensors:
        shape = tuple(int(d) for d in reversed(t.shape))  # GGUF lists dims innermost first; numpy wants outermost
        writer.add_tensor_info(t.name, shape, np.dtype(np.float32), int(t.n_elements) * 4)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for t in reader.tensors:
        shape = tuple(int(d) for d in reversed(t.shape))
        data = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32, copy=False).reshape(shape)
        writer.write_tensor_data(np.ascontiguousarray(data))
    writer.close()
    os.replace(tmp, dst)
    print(f"wrote {dst}: {len(reader.tensors)} tensors as F32")


if __name__ == "__main__":
    main()
