#!/usr/bin/env python3
"""Writes the ml_dtypes reference codes that Quanta's QuantCore number-format tests compare against.

Usage (run by hand; the fixture is checked in, the tests never run this):
    python3 -m venv ~/.cache/quanta/venv-formats
    ~/.cache/quanta/venv-formats/bin/pip install ml_dtypes numpy
    ~/.cache/quanta/venv-formats/bin/python scripts/reference/number_formats_reference.py \
        [--fixture Tests/QuantCoreTests/Fixtures/number_formats.json]

What it writes (every float is a float32 bit pattern, an unsigned integer, so nothing is lost in JSON):
- "formats": for FP8 E4M3 (`float8_e4m3fn`), FP8 E5M2 (`float8_e5m2`), FP6 E3M2 (`float6_e3m2fn`), FP6 E2M3
  (`float6_e2m3fn`) and FP4 E2M1 (`float4_e2m1fn`):
  - "decode": the float32 value of every code (`codes.view(dtype).astype(float32)`);
  - "cases": [input, code] for inputs with |x| <= max finite: every value of both signs, every midpoint between
    neighbouring positive values (both signs) and the float32 neighbours either side of it, half the smallest
    subnormal and its neighbours, float32 subnormals, and 64 seeded log-uniform values of either sign; plus NaN for
    the formats that have one. The code is ml_dtypes' cast (round to nearest, ties to even);
  - "overflow": [input, saturating code, plain cast code] for inputs beyond max finite and +-inf. ml_dtypes' casts
    do not saturate (E4M3 gives NaN, E5M2 gives inf), so the saturating code is the cast of the input clipped to
    +-max first (OFP8 SAT mode); the plain cast is what Quanta's `saturating: false` must give for E4M3 and E5M2.
- "e8m0": the float32 value of every E8M0 code (`float8_e8m0fnu`).
- "float16" and "bfloat16": [input, bits] for ties, overflow, subnormals, specials and seeded values, cast with
  numpy's float16 and ml_dtypes' bfloat16.

Tested with Python 3.11, ml_dtypes 0.6.0, numpy 2.4.6.
"""

import argparse
import json
from pathlib import Path

import ml_dtypes
import numpy as np

FORMATS = {
    "e4m3": ml_dtypes.float8_e4m3fn,
    "e5m2": ml_dtypes.float8_e5m2,
    "e3m2": ml_dtypes.float6_e3m2fn,
    "e2m3": ml_dtypes.float6_e2m3fn,
    "e2m1": ml_dtypes.float4_e2m1fn,
}
BIT_WIDTH = {"e4m3": 8, "e5m2": 8, "e3m2": 6, "e2m3": 6, "e2m1": 4}
HAS_NAN = {"e4m3": True, "e5m2": True, "e3m2": False, "e2m3": False, "e2m1": False}


def f32(values):
    return np.asarray(values, dtype=np.float32)


def bits(values):
    return [int(b) for b in f32(values).view(np.uint32)]


def codes_of(values, dtype):
    """ml_dtypes' cast of float32 inputs, as unsigned codes in the low bits of a byte."""
    return [int(c) for c in f32(values).astype(dtype).view(np.uint8)]


def neighbours(x):
    """The float32 values just below and just above x."""
    x = np.float32(x)
    return [np.nextafter(x, np.float32(-np.inf)), np.nextafter(x, np.float32(np.inf))]


def format_entry(name, dtype, rng):
    count = 1 << BIT_WIDTH[name]
    decoded = np.arange(count, dtype=np.uint8).view(dtype).astype(np.float32)
    finite = decoded[np.isfinite(decoded)]
    positive = np.unique(finite[finite > 0])  # sorted
    max_finite = positive[-1]
    min_sub = positive[0]

    inputs = [np.float32(0.0), np.float32(-0.0)]
    inputs += list(positive) + list(-positive)
    midpoints = (positive[:-1].astype(np.float64) + positive[1:].astype(np.float64)) / 2
    assert np.all(midpoints.astype(np.float32) == midpoints), "midpoints must be exact in float32"
    for mid in midpoints.astype(np.float32):
        inputs += [mid, -mid] + neighbours(mid)
    half_min = np.float32(min_sub / 2)
    inputs += [half_min, -half_min] + neighbours(half_min)
    inputs += [np.float32(1e-40), np.float32(-1e-40), np.float32(1e-45)]
    exponents = rng.uniform(np.log2(min_sub) - 2, np.log2(max_finite), size=64)
    signs = rng.choice([-1.0, 1.0], size=64)
    inputs += list(f32(signs * np.exp2(exponents)))
    inputs = f32(inputs)
    assert np.all(np.abs(inputs) <= max_finite)
    cases = [[b, c] for b, c in zip(bits(inputs), codes_of(inputs, dtype))]
    if HAS_NAN[name]:
        nan = f32([np.nan, -np.nan])
        cases += [[b, c] for b, c in zip(bits(nan), codes_of(nan, dtype))]

    top_step = np.float32(positive[-1] - positive[-2])
    over = [max_finite + top_step / 2, max_finite + top_step, max_finite * 2, np.float32(1e30),
            np.finfo(np.float32).max, np.float32(np.inf)]
    over += neighbours(max_finite + top_step / 2)
    over += [neighbours(max_finite)[1]]
    over = f32(over)
    over = np.concatenate([over, -over])
    clipped = np.clip(over, -max_finite, max_finite)
    overflow = [[b, s, p] for b, s, p in zip(bits(over), codes_of(clipped, dtype), codes_of(over, dtype))]
    return {"decode": bits(decoded), "cases": cases, "overflow": overflow}


def cast_cases(dtype, rng):
    """Inputs for float16 / bfloat16: ties, overflow, subnormals, specials and seeded values."""
    info = ml_dtypes.finfo(dtype)
    values = [0.0, -0.0, 1.0, -1.0, float(info.max), float(info.tiny), float(info.smallest_subnormal),
              float(info.smallest_subnormal) / 2, np.inf, -np.inf, np.nan, 1e30, -1e30, 65520.0, 65519.0, 1e-8]
    one = np.float32(1.0)
    eps = np.float32(info.eps)
    values += [one + eps / 2, one + eps * 1.5, one + eps / 2 + np.float32(2**-23), -(one + eps * 1.5)]
    values += list(rng.standard_normal(48).astype(np.float32))
    values += list(f32(rng.choice([-1.0, 1.0], size=16) * np.exp2(rng.uniform(-30, 30, size=16))))
    values = f32(values)
    with np.errstate(over="ignore"):  # 1e30 and the like overflow to inf on purpose
        out = values.astype(dtype).view(np.uint16)
    return [[b, int(o)] for b, o in zip(bits(values), out)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    root = Path(__file__).resolve().parents[2]
    parser.add_argument("--fixture", default=root / "Tests/QuantCoreTests/Fixtures/number_formats.json")
    args = parser.parse_args()
    rng = np.random.default_rng(20240601)
    fixture = {
        "generator": {
            "script": "scripts/reference/number_formats_reference.py",
            "ml_dtypes": ml_dtypes.__version__,
            "numpy": np.__version__,
        },
        "formats": {name: format_entry(name, dtype, rng) for name, dtype in FORMATS.items()},
        "e8m0": {"decode": bits(np.arange(256, dtype=np.uint8).view(ml_dtypes.float8_e8m0fnu).astype(np.float32))},
        "float16": cast_cases(np.float16, rng),
        "bfloat16": cast_cases(ml_dtypes.bfloat16, rng),
    }
    text = json.dumps(fixture, separators=(",", ":"), sort_keys=True)
    Path(args.fixture).write_text(text + "\n")
    print(f"wrote {args.fixture} ({len(text)} bytes)")


if __name__ == "__main__":
    main()
