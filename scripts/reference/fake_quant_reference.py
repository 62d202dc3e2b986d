#!/usr/bin/env python3
"""Writes the PyTorch reference values that Quanta's affine quantization tests compare against.

Usage (run by hand; the output is checked in, the tests never run this):
    fake_quant_reference.py [--fixture PATH]

Default fixture: Tests/QuantCoreTests/Fixtures/fake_quant_reference.json (next to this repository's root).

What it does, on fixed vectors made by deterministic formulas (a ramp through zero, a smooth wave with a few large
outliers, non-negative values, exact rounding ties):
1. Per tensor: for each configuration (int8/uint8, int4/uint4 through quant_min/quant_max, symmetric and affine,
   narrow range), `torch.ao.quantization.MinMaxObserver(...).calculate_qparams()` gives scale and zero point, and
   `torch.fake_quantize_per_tensor_affine` the fake-quantized values.
2. Per channel: `PerChannelMinMaxObserver(ch_axis=axis)` and `torch.fake_quantize_per_channel_affine` on a [6, 37]
   matrix along axis 0 and axis 1.
3. Fixed parameters: `fake_quantize_per_tensor_affine` with a scale of 0.25 on values (k + 0.5) / 4, so every
   input is an exact tie: PyTorch rounds them half to even (std::nearbyint), with zero points 0 and 3. Also values
   next to ties for scales that are not powers of two, where PyTorch's `x * (1 / scale)` and `x / scale` round
   differently.

Tested with Python 3.11.7, torch 2.13.0+cpu and numpy 2.4.6 (`pip install torch numpy`).
"""

import argparse
import json
import math
from pathlib import Path

import numpy as np
import torch
from torch.ao.quantization import MinMaxObserver, PerChannelMinMaxObserver

ROOT = Path(__file__).resolve().parents[2]


def f32(values):
    """Shortest decimal strings that round-trip each value as float32, as JSON numbers."""
    return [float(np.format_float_positional(np.float32(v), unique=True, trim="0")) for v in values]


def vectors():
    n = 64
    ramp = [np.float32((i - 31) * 0.0371) for i in range(n)]
    wave = [np.float32(0.6 * math.sin(0.7 * i) + 0.2 * math.cos(2.3 * i)) for i in range(n)]
    for i, v in ((5, 9.5), (40, -7.25), (63, 12.0)):  # outliers
        wave[i] = np.float32(v)
    positive = [np.float32(abs(math.sin(0.37 * i)) * 3.1) for i in range(n)]
    ties = [np.float32((k + 0.5) / 4) for k in range(-32, 32)]
    return {"ramp": ramp, "wave_outliers": wave, "positive": positive, "ties_quarter": ties}


# (name, torch dtype, qscheme family, quant_min, quant_max, Quanta dtype, symmetric, narrow_range)
CONFIGS = [
    ("int8_sym", torch.qint8, "symmetric", -128, 127, "int8", True, False),
    ("int8_sym_narrow", torch.qint8, "symmetric", -127, 127, "int8", True, True),
    ("int8_affine", torch.qint8, "affine", -128, 127, "int8", False, False),
    ("uint8_affine", torch.quint8, "affine", 0, 255, "uint8", False, False),
    ("uint8_sym", torch.quint8, "symmetric", None, None, "uint8", True, False),
    ("int4_sym", torch.qint8, "symmetric", -8, 7, "int4", True, False),
    ("int4_sym_narrow", torch.qint8, "symmetric", -7, 7, "int4", True, True),
    ("int4_affine", torch.qint8, "affine", -8, 7, "int4", False, False),
    ("uint4_affine", torch.quint8, "affine", 0, 15, "uint4", False, False),
    ("uint4_sym", torch.quint8, "symmetric", 0, 15, "uint4", True, False),
]


def range_of(dtype, qmin, qmax):
    if qmin is not None:
        return qmin, qmax
    return (0, 255) if dtype == torch.quint8 else (-128, 127)


def per_tensor_cases(vecs):
    cases = []
    for name, dtype, family, qmin, qmax, quanta_dtype, symmetric, narrow in CONFIGS:
        qscheme = torch.per_tensor_symmetric if family == "symmetric" else torch.per_tensor_affine
        kwargs = {} if qmin is None else {"quant_min": qmin, "quant_max": qmax}
        lo, hi = range_of(dtype, qmin, qmax)
        for vec_name, values in vecs.items():
            x = torch.tensor(np.array(values, dtype=np.float32))
            observer = MinMaxObserver(dtype=dtype, qscheme=qscheme, **kwargs)
            observer(x)
            scale, zero_point = observer.calculate_qparams()
            y = torch.fake_quantize_per_tensor_affine(x, float(scale), int(zero_point), lo, hi)
            cases.append({
                "name": f"{name}/{vec_name}", "vector": vec_name, "dtype": quanta_dtype, "symmetric": symmetric,
                "narrow_range": narrow, "qmin": lo, "qmax": hi,
                "scale": f32([scale.item()])[0], "zero_point": int(zero_point), "output": f32(y.tolist()),
            })
    return cases


def per_channel_cases():
    rows, cols = 6, 37
    m = np.zeros((rows, cols), dtype=np.float32)
    for r in range(rows):
        for c in range(cols):
            m[r, c] = np.float32((r + 1) * 0.3 * math.sin(0.41 * c + r) + 0.05 * (c - 18) * (r % 3 - 1))
    m[2, 9] = np.float32(6.5)   # outliers in one row and one column
    m[4, 30] = np.float32(-5.0)
    x = torch.tensor(m)
    cases = []
    for name, dtype, family, qmin, qmax, quanta_dtype, symmetric, narrow in CONFIGS:
        if name not in ("int8_sym", "int8_affine", "uint8_affine", "int4_sym", "int4_affine"):
            continue
        qscheme = torch.per_channel_symmetric if family == "symmetric" else torch.per_channel_affine
        lo, hi = range_of(dtype, qmin, qmax)
        for axis in (0, 1):
            observer = PerChannelMinMaxObserver(ch_axis=axis, dtype=dtype, qscheme=qscheme, quant_min=lo, quant_max=hi)
            observer(x)
            scales, zero_points = observer.calculate_qparams()
            y = torch.fake_quantize_per_channel_affine(
                x, scales.to(torch.float32), zero_points.to(torch.int32), axis, lo, hi)
            cases.append({
                "name": f"{name}/axis{axis}", "dtype": quanta_dtype, "symmetric": symmetric, "narrow_range": narrow,
                "axis": axis, "qmin": lo, "qmax": hi, "scales": f32(scales.tolist()),
                "zero_points": [int(z) for z in zero_points.tolist()], "output": f32(y.flatten().tolist()),
            })
    return {"shape": [rows, cols], "input": f32(m.flatten().tolist()), "cases": cases}


def fixed_cases(vecs):
    cases = []
    ties = torch.tensor(np.array(vecs["ties_quarter"], dtype=np.float32))
    for zp in (0, 3):
        y = torch.fake_quantize_per_tensor_affine(ties, 0.25, zp, -128, 127)
        cases.append({"name": f"ties_scale_0.25_zp{zp}", "scale": 0.25, "zero_point": zp, "qmin": -128, "qmax": 127,
                      "input": f32(ties.tolist()), "output": f32(y.tolist())})
    # Values one ulp either side of (k + 0.5) * scale: x * (1/scale) and x / scale disagree on some of them.
    for scale in (0.1, 0.3, 0.013):
        s = np.float32(scale)
        inv = np.float32(1) / s
        base = (np.arange(-40, 40, dtype=np.float32) + np.float32(0.5)) * s
        near = np.concatenate([np.nextafter(base, np.float32(np.inf)), base, np.nextafter(base, np.float32(-np.inf))])
        disagree = near[np.rint(near * inv) != np.rint(near / s)][:24].astype(np.float32)
        y = torch.fake_quantize_per_tensor_affine(torch.tensor(disagree), float(s), 0, -128, 127)
        cases.append({"name": f"mul_vs_div_scale_{scale}", "scale": f32([s])[0], "zero_point": 0, "qmin": -128,
                      "qmax": 127, "input": f32(disagree.tolist()), "output": f32(y.tolist())})
    return cases


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fixture", type=Path,
                        default=ROOT / "Tests" / "QuantCoreTests" / "Fixtures" / "fake_quant_reference.json")
    args = parser.parse_args()
    vecs = vectors()
    fixture = {
        "generator": {"script": "scripts/reference/fake_quant_reference.py", "torch": torch.__version__,
                      "numpy": np.__version__},
        "vectors": {name: f32(values) for name, values in vecs.items()},
        "per_tensor": per_tensor_cases(vecs),
        "per_channel": per_channel_cases(),
        "fixed": fixed_cases(vecs),
    }
    args.fixture.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(fixture, separators=(",", ":"))
    args.fixture.write_text(text + "\n")
    print(f"wrote {args.fixture} ({len(text)} bytes)")


if __name__ == "__main__":
    main()
