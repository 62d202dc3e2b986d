#!/usr/bin/env python3
"""MX shared-exponent selection: the mxfp8, mxfp6 and mxfp4 presets under each `scale_mode` (floor, even, search).

For each preset and mode: the preset's recipe (from `quanta recipes --json`) with `scale_mode` set on its weights and
its (dynamic, per-call) inputs, `quanta quantize MODEL --recipe R --calib CALIB --samples 128 --seq-len 512 --seed 0`
(MX needs no calibration: the flags only keep the protocol of the other tables), then
`quanta eval OUT --text TEXT --windows 40 --reference MODEL` (perplexity, KL(float || quantized), top-1 agreement).
The evaluation's wall time shows what `search` costs, since inputs are re-quantized on every call.

Usage, from the repository root after `swift build -c release --product quanta`:
    python3 benchmarks/mx_scale_modes.py [--presets mxfp8,mxfp6,mxfp4] [--modes floor,even,search] [--windows 40]
Writes benchmarks/results/mx-scale-modes-MODEL.{json,md} (rows of an earlier run are kept unless measured again).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

from quanta_runs import add_common_arguments, float_baseline, preset_recipe, quantize_and_evaluate, results_stem, write_recipe

PRESETS = ["mxfp8", "mxfp6", "mxfp4"]
MODES = ["floor", "even", "search"]


def recipe_file(folder, quanta, preset, mode):
    """A JSON recipe: `preset` with `scale_mode: mode` on every MX scheme (weight, input)."""
    body = preset_recipe(quanta, preset)
    body["name"] = f"{preset} {mode}"
    for key in ("weight", "input"):
        if body.get(key):
            body[key]["scale_mode"] = mode
    return write_recipe(folder, f"{preset}-{mode}", body)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--presets", default=",".join(PRESETS))
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--float-perplexity", type=float, default=None,
                        help="the float model's perplexity on the same windows, if already measured (skips that eval)")
    args = parser.parse_args()
    stem = results_stem(args, "mx-scale-modes")

    rows = {}
    if os.path.exists(stem + ".json"):
        with open(stem + ".json") as f:
            rows = {(r["preset"], r["mode"]): r for r in json.load(f)["rows"]}
    baseline = {"perplexity": args.float_perplexity} if args.float_perplexity else float_baseline(args)
    print(f"float: perplexity {baseline['perplexity']:.4f}", file=sys.stderr)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory() as scratch:
        for preset in args.presets.split(","):
            for mode in args.modes.split(","):
                out = os.path.join(scratch, "model")
                subprocess.run(["rm", "-rf", out], check=True)
                summary, quantize_wall, evaluation, eval_wall = quantize_and_evaluate(
                    args, out, recipe_file(scratch, args.quanta, preset, mode))
                row = {"preset": preset, "mode": mode, "perplexity": evaluation["perplexity"],
                       "kl": evaluation["kl_divergence"], "top1": evaluation["top1_agreement"],
                       "bits_per_weight": summary["bits_per_weight"],
                       "quantization_seconds": summary["quantization_seconds"],
                       "quantize_wall_seconds": quantize_wall, "eval_wall_seconds": eval_wall, "commit": commit}
                rows[(preset, mode)] = row
                print(f"{preset} {mode}: ppl {row['perplexity']:.4f} KL {row['kl']:.5f} top-1 {row['top1']:.2%} "
                      f"(quantize {quantize_wall:.1f} s, eval {eval_wall:.0f} s)", file=sys.stderr)
                write(stem, baseline, rows, args)


def write(stem, baseline, rows, args):
    order = lambda r: (PRESETS.index(r["preset"]) if r["preset"] in PRESETS else 99,
                       MODES.index(r["mode"]) if r["mode"] in MODES else 99)
    ordered = sorted(rows.values(), key=order)
    with open(stem + ".json", "w") as f:
        json.dump({"float_perplexity": baseline["perplexity"], "windows": args.windows, "rows": ordered,
                   "argv": sys.argv}, f, indent=1, sort_keys=True)
    lines = [f"Float perplexity: {baseline['perplexity']:.4f} ({args.windows} x 512 tokens of wiki.test.raw). "
             "Weights and inputs (dynamic, per call) use the same scale_mode; the best perplexity per preset is bold. "
             "Times are wall clock on a shared, loaded machine (the eval of the reference and the quantized model "
             "together): compare them only roughly.",
             "", "| preset | scale_mode | perplexity | Δ vs float | KL(float‖q) | top-1 | weight quantization | eval time |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    best = {}
    for r in ordered:
        if r["preset"] not in best or r["perplexity"] < best[r["preset"]]:
            best[r["preset"]] = r["perplexity"]
    for r in ordered:
        ppl = f"{r['perplexity']:.3f}"
        if r["perplexity"] == best[r["preset"]]:
            ppl = f"**{ppl}**"
        delta = (r["perplexity"] / baseline["perplexity"] - 1) * 100
        lines.append(f"| {r['preset']} | {r['mode']} | {ppl} | {delta:+.2f}% | {r['kl']:.4f} | {r['top1']:.2%} | "
                     f"{r['quantization_seconds']:.2f} s | {r['eval_wall_seconds']:.0f} s |")
    with open(stem + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
