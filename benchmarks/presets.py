#!/usr/bin/env python3
"""Every quantization preset on one model: quantize (calibration + weights) and evaluate against the float model.

For each preset: `quanta quantize MODEL --recipe P --calib CALIB --samples 128 --seq-len 512 --seed 0` (time and
peak memory from its JSON summary), then `quanta eval OUT --text TEXT --seq-len 512 --windows 40 --reference MODEL`
(perplexity, KL(float || quantized), top-1 agreement). Prints a Markdown table and writes it with the raw JSON to
--out (default benchmarks/results/presets-<model>.json and .md).

Usage, from the repository root after `swift build -c release --product quanta`:
    python3 benchmarks/presets.py [--model ~/.cache/quanta/models/SmolLM2-135M-Instruct.Q4_1.gguf]
        [--calib ../shared/data/wikitext-2/wiki.valid.tokens] [--text ../shared/data/wikitext-2/wiki.test.raw]
        [--presets w8a16,w4a16-g128] [--samples 128] [--windows 40]
"""
import argparse
import json
import os
import sys
import tempfile

from quanta_runs import add_common_arguments, float_baseline, quantize_and_evaluate, results_stem

PRESETS = ["w8a16", "w8a8-int8-static", "w8a8-int8-dynamic", "w4a16-g128", "w4a16-g64", "w4a16-g32",
           "fp8", "mxfp8", "mxfp6", "mxfp4"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--presets", default=",".join(PRESETS))
    args = parser.parse_args()

    rows = []
    baseline = float_baseline(args)
    print(f"float: perplexity {baseline['perplexity']:.4f}", file=sys.stderr)
    with tempfile.TemporaryDirectory() as scratch:
        for preset in args.presets.split(","):
            out = os.path.join(scratch, preset)
            summary, quantize_wall, evaluation, eval_wall = quantize_and_evaluate(args, out, preset)
            row = {"preset": preset, "quantize": summary, "eval": evaluation,
                   "quantize_wall_seconds": quantize_wall, "eval_wall_seconds": eval_wall}
            rows.append(row)
            print(f"{preset}: ppl {evaluation['perplexity']:.4f}, KL {evaluation['kl_divergence']:.5f}, "
                  f"top-1 {evaluation['top1_agreement']:.4f}, quantize {quantize_wall:.1f} s", file=sys.stderr)

    lines = [
        f"Float (dequantized GGUF) perplexity: {baseline['perplexity']:.4f} ({baseline['tokens']} tokens).",
        "",
        "| preset | bits/weight | perplexity | Δ vs float | KL(float‖q) | top-1 agreement | calibration + quantization | peak memory |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        q, e = row["quantize"], row["eval"]
        delta = (e["perplexity"] / baseline["perplexity"] - 1) * 100
        lines.append(
            f"| {row['preset']} | {q['bits_per_weight']:.2f} | {e['perplexity']:.3f} | {delta:+.2f}% | "
            f"{e['kl_divergence']:.4f} | {e['top1_agreement'] * 100:.2f}% | "
            f"{q['calibration_seconds'] + q['quantization_seconds']:.1f} s | {q['peak_memory_mb']:.0f} MB |")
    table = "\n".join(lines)
    print(table)
    stem = results_stem(args, "presets")
    with open(stem + ".json", "w") as f:
        json.dump({"baseline": baseline, "rows": rows, "argv": sys.argv}, f, indent=1, sort_keys=True)
    with open(stem + ".md", "w") as f:
        f.write(table + "\n")


if __name__ == "__main__":
    main()
