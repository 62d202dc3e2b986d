#!/usr/bin/env python3
"""Quanta's perplexity of a quantized folder next to llama.cpp's perplexity of the GGUF `quanta export` writes from it.

For each recipe: `quanta quantize` the model, `quanta export --format gguf`, then
  - Quanta:    `quanta eval FOLDER` (protocol P1: 40 windows of 512 tokens, every token after the first scored),
  - fp16 cost: `quanta eval GGUF --reference FOLDER` (Quanta's own forward on the exported file: what storing the
               block scales in float16 costs, as KL and perplexity ratio),
  - llama.cpp: llama-cpp-python on the same GGUF, the same windows and the same scoring (P1, not llama-perplexity's
               second-half protocol), with llama.cpp's own tokenizer reading the exported tokenizer.ggml.* keys.
The source model itself is measured the same way first, as the baseline of how far the two engines differ.

  python3 benchmarks/export_gguf.py [--model GGUF] [--text wiki.test.raw] [--windows 40] [--recipes w4a16-g32 int4-g32-sym w8a16]

Needs the release binary (swift build -c release) and scripts/install-deps.sh's llama-cpp-python.
Results: benchmarks/results/export_gguf-<model>.{json,md}.
"""
import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUANTA = os.path.join(ROOT, ".build/release/quanta")
RECIPES = {
    # symmetric int4 groups of 32: Q4_0's grid
    "int4-g32-sym": {"name": "int4-g32-sym",
                     "weight": {"dtype": "int4", "granularity": "per_group", "group_size": 32, "symmetric": True}},
    # rotation without the online down_proj Hadamard (which llama.cpp cannot run), then GPTQ: Q4_1 from GPTQ's codes
    "w4a16-g32-rotation-gptq": {"name": "w4a16-g32-rotation-gptq",
                                "weight": {"dtype": "uint4", "granularity": "per_group", "group_size": 32,
                                           "symmetric": False},
                                "algorithms": [{"name": "rotation", "online_down_projection": False}, "gptq"]},
}
# Calibration for recipes with algorithms (the others are round-to-nearest and ignore it).
CALIBRATION = ["--calib", os.path.join(ROOT, "../shared/data/wikitext-2/wiki.valid.tokens"), "--samples", "32"]


def quanta(*args):
    result = subprocess.run([QUANTA, *args], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"quanta {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def llama_cpp_perplexity(path, text, windows, length):
    import numpy as np
    from llama_cpp import Llama

    model = Llama(model_path=path, n_ctx=length, n_batch=length, n_threads=2, logits_all=True, verbose=False)
    tokens = model.tokenize(text.encode("utf-8"), add_bos=False, special=False)
    total, count = 0.0, 0
    for w in range(windows):
        window = tokens[w * length:(w + 1) * length]
        model.reset()
        model.eval(window)
        logits = np.asarray(model.scores[:length], dtype=np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        logprobs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        total -= sum(logprobs[t, window[t + 1]] for t in range(length - 1))
        count += length - 1
    return math.exp(total / count), len(tokens), tokens[:5]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=os.path.expanduser("~/.cache/quanta/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    parser.add_argument("--text", default=os.path.join(ROOT, "../shared/data/wikitext-2/wiki.test.raw"))
    parser.add_argument("--windows", type=int, default=40)
    parser.add_argument("--recipes", nargs="+", default=["w4a16-g32", "int4-g32-sym", "w8a16", "w4a16-g128"])
    parser.add_argument("--skip-kl", action="store_true", help="skip Quanta's eval of the GGUF against the folder")
    args = parser.parse_args()
    text = open(args.text, encoding="utf-8").read()
    work = tempfile.mkdtemp(prefix="export-gguf-")
    rows = []

    def evaluate(label, recipe, folder, gguf, export_report):
        row = {"recipe": label}
        start = time.time()
        row["quanta_ppl"] = json.loads(quanta("eval", folder or gguf, "--text", args.text, "--windows", str(args.windows),
                                              "--json"))["perplexity"]
        if folder and not args.skip_kl:
            fp16 = json.loads(quanta("eval", gguf, "--text", args.text, "--windows", str(args.windows), "--reference",
                                     folder, "--json"))
            row["quanta_ppl_of_gguf"] = fp16["perplexity"]
            row["kl_fp16_scales"] = fp16.get("kl_divergence")
        row["llama_cpp_ppl"], row["llama_cpp_text_tokens"], row["first_tokens"] = llama_cpp_perplexity(
            gguf, text, args.windows, 512)
        row["ratio"] = row["llama_cpp_ppl"] / row["quanta_ppl"]
        if export_report:
            row["tensor_types"] = export_report["tensor_types"]
            row["scale_rounding"] = export_report["scale_rounding"]
            row["file_mb"] = export_report["file_bytes"] / 1e6
        row["seconds"] = time.time() - start
        rows.append(row)
        print(json.dumps(row), flush=True)

    evaluate("source GGUF (baseline)", None, None, args.model, None)
    for recipe in args.recipes:
        recipe_arg = recipe
        if recipe in RECIPES:
            recipe_arg = os.path.join(work, recipe + ".json")
            json.dump(RECIPES[recipe], open(recipe_arg, "w"))
        folder, gguf = os.path.join(work, recipe), os.path.join(work, recipe + ".gguf")
        calibration = CALIBRATION if "algorithms" in RECIPES.get(recipe, {}) else ["--samples", "1", "--seq-len", "32"]
        quanta("quantize", args.model, "--recipe", recipe_arg, *calibration, "--out", folder, "--allow-requantize",
               "--overwrite")
        report = json.loads(quanta("export", folder, "--format", "gguf", "--out", gguf, "--overwrite", "--json"))
        evaluate(recipe, recipe, folder, gguf, report)

    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    lines = [f"# quanta export --format gguf: Quanta vs llama.cpp perplexity ({os.path.basename(args.model)})", "",
             f"Commit {commit}, {platform.machine()}, {args.windows} windows × 512 tokens (P1) of {os.path.basename(args.text)}.",
             f"Command: python3 benchmarks/export_gguf.py --windows {args.windows} --recipes {' '.join(args.recipes)}"
             + (" --skip-kl" if args.skip_kl else ""), "",
             "| recipe | GGML types | Quanta ppl (folder) | Quanta ppl (GGUF) | KL fp16 scales | llama.cpp ppl (GGUF) | llama.cpp / Quanta |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        types = ", ".join(f"{v}×{k}" for k, v in sorted(r.get("tensor_types", {}).items())) or "source"
        kl = r.get("kl_fp16_scales")
        of_gguf = r.get("quanta_ppl_of_gguf")
        lines.append(f"| {r['recipe']} | {types} | {r['quanta_ppl']:.4f} | {'—' if of_gguf is None else f'{of_gguf:.4f}'} | "
                     f"{'—' if kl is None else f'{kl:.2e}'} | {r['llama_cpp_ppl']:.4f} | {r['ratio']:.4f} |")
    print("\n".join(lines))
    os.makedirs(os.path.join(ROOT, "benchmarks/results"), exist_ok=True)
    stem = os.path.join(ROOT, "benchmarks/results", "export_gguf-" + os.path.basename(args.model).split(".")[0])
    json.dump(rows, open(stem + ".json", "w"), indent=1)
    open(stem + ".md", "w").write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
