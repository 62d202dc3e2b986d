#!/usr/bin/env python3
"""Writes calibration token windows for `quanta quantize/analyze/tune --calib-tokens FILE`, so that Quanta and another
toolkit calibrate on identical data.

Two samplers, both over the text of --text tokenized with a Hugging Face tokenizer.json (the `tokenizers` package; no
special tokens added):

- `gptq` (default): the seeded sampler of the GPTQ reference code, which AMD Quark's LLM examples copy for their
  `wikitext_for_gptq_benchmark` dataset (and llmc, AutoGPTQ-style scripts): Python's `random.seed(seed)`, then for
  each window `i = random.randint(0, n_tokens - seq_len - 1)` and the tokens [i, i + seq_len). Quark's default seed
  there is 0. Quark tokenizes `"\\n\\n".join(rows)` of the Hugging Face `wikitext-2-raw-v1` train split; `--join
  rows` reads --text as such rows (one per line, each keeping its newline) and joins them the same way, which equals
  Quark's text only if the file's lines are the dataset's rows (not checked here: no `datasets` download);
  `--join none` tokenizes the file as it is. Either way, the point is to give BOTH tools this one file.
- `quanta`: the windows `quanta quantize --calib TEXT --samples N --seq-len T --seed S` draws itself
  (CalibrationData.swift): the file read as UTF-8 with CRLF and CR turned into LF (a `.jsonl` file's "text" fields
  joined by blank lines), tokenized whole, then for each window `start = SplitMix64(seed).next() % (n_tokens - T + 1)`.
  Feeding these to `--calib-tokens` reproduces `--calib` exactly when the tokenizer.json encodes as Quanta's does.

Output: `.npy` (int32, shape [N, T], C order) or `.json` (`[[id, ...], ...]`), chosen by the --out extension.
Another toolkit reads the same file back (numpy.load, then torch.from_numpy per row) to calibrate on it.

A tokenizer.json for a GGUF model: `quanta export MODEL.gguf --format hf --out DIR` writes DIR/tokenizer.json (ids
equal the GGUF vocabulary); a Hugging Face model folder has one already.

Usage:
    python3 scripts/calib_windows.py --tokenizer DIR/tokenizer.json --text wiki.valid.tokens \\
        --samples 128 --seq-len 512 --seed 0 [--sampler gptq|quanta] [--join rows|none] --out windows.npy
Needs only numpy and tokenizers (pip install numpy tokenizers).
"""
import argparse
import json
import os
import random
import sys

import numpy as np
from tokenizers import Tokenizer

MASK64 = (1 << 64) - 1


class SplitMix64:
    """TensorCore/SplitMix64.swift: Steele, Lea and Flood's SplitMix64 on a 64-bit state."""

    def __init__(self, seed):
        self.state = seed & MASK64

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)


def read_quanta_text(path):
    """CalibrationText.swift + TextFile.swift: UTF-8, universal newlines; `.jsonl` texts joined by blank lines."""
    with open(path, "rb") as f:
        text = f.read().decode("utf-8")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not path.lower().endswith(".jsonl"):
        return text
    texts = [json.loads(line)["text"] for line in text.split("\n") if line.strip()]
    return "\n\n".join(texts)


def encode(tokenizer, text):
    return tokenizer.encode(text, add_special_tokens=False).ids


def gptq_windows(ids, samples, seq_len, seed):
    """random.seed(seed); i = random.randint(0, len - seq_len - 1); ids[i:i + seq_len]."""
    if len(ids) < seq_len + 1:
        sys.exit(f"error: the text has {len(ids)} tokens, fewer than seq_len + 1 = {seq_len + 1}")
    random.seed(seed)
    windows = []
    for _ in range(samples):
        i = random.randint(0, len(ids) - seq_len - 1)
        windows.append(ids[i:i + seq_len])
    return windows


def quanta_windows(ids, samples, seq_len, seed):
    """CalibrationData.windows: start = SplitMix64(seed).next() % (len - seq_len + 1)."""
    if len(ids) < seq_len:
        sys.exit(f"error: the text has {len(ids)} tokens, fewer than one window of {seq_len}")
    rng = SplitMix64(seed)
    span = len(ids) - seq_len + 1
    windows = []
    for _ in range(samples):
        start = rng.next() % span
        windows.append(ids[start:start + seq_len])
    return windows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokenizer", required=True, help="tokenizer.json, or a folder holding one")
    parser.add_argument("--text", required=True)
    parser.add_argument("--samples", type=int, default=128)
    parser.add_argument("--seq-len", type=int, default=512)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sampler", choices=["gptq", "quanta"], default="gptq")
    parser.add_argument("--join", choices=["rows", "none"], default="rows",
                        help="gptq sampler: join the file's lines with blank lines as Quark joins dataset rows")
    parser.add_argument("--out", required=True, help="windows.npy or windows.json")
    args = parser.parse_args()
    if args.samples < 1 or args.seq_len < 1:
        sys.exit("error: --samples and --seq-len must be >= 1")
    path = args.tokenizer
    if os.path.isdir(path):
        path = os.path.join(path, "tokenizer.json")
    tokenizer = Tokenizer.from_file(path)

    if args.sampler == "quanta":
        ids = encode(tokenizer, read_quanta_text(args.text))
        windows = quanta_windows(ids, args.samples, args.seq_len, args.seed)
    else:
        with open(args.text, encoding="utf-8", newline="") as f:
            text = f.read()
        if args.join == "rows":
            text = "\n\n".join(text.splitlines(keepends=True))
        ids = encode(tokenizer, text)
        windows = gptq_windows(ids, args.samples, args.seq_len, args.seed)

    array = np.asarray(windows, dtype=np.int32)
    if args.out.endswith(".json"):
        with open(args.out, "w") as f:
            json.dump(array.tolist(), f, separators=(",", ":"))
    else:
        np.save(args.out, np.ascontiguousarray(array))
    print(f"{args.out}: {array.shape[0]} windows x {array.shape[1]} tokens ({args.sampler} sampler, seed {args.seed}, "
          f"{len(ids)} tokens of text)", file=sys.stderr)


if __name__ == "__main__":
    main()
