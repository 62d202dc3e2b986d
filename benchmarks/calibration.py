#!/usr/bin/env python3
"""Static activation scales against calibration size and observer, for the presets that calibrate.

Min-max ranges only grow with more data, so a static preset may do better on fewer samples; the observers trade
clipping for resolution differently. For each recipe below this quantizes with `--samples N` (N windows of 512 tokens
of --calib, seed 0) and each observer on the inputs, then evaluates against the float model on --windows x 512 tokens
of --text (the README's protocol):
- w8a8-int8-static: int8 weights and inputs per tensor (the preset);
- fp8: FP8 E4M3 weights per channel, inputs per tensor, static (the preset);
- fp8-per-tensor: FP8 E4M3 weights per tensor, inputs per tensor, static.
Sweeps: every sample count in --counts with the minmax observer, then every observer in --observers at --observer-samples.

Usage, from the repository root after `swift build -c release --product quanta`:
    python3 benchmarks/calibration.py [--recipes w8a8-int8-static,fp8] [--counts 8,16,32,64,128]
        [--observers minmax,moving_average,percentile,histogram,hybrid] [--observer-samples 32]
Writes benchmarks/results/calibration-MODEL.{json,md} (rows of an earlier run are kept unless measured again).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

from quanta_runs import add_common_arguments, float_baseline, preset_recipe, quantize_and_evaluate, results_stem, write_recipe

RECIPES = ["w8a8-int8-static", "fp8", "fp8-per-tensor"]


def recipe_file(folder, quanta, recipe, observer):
    """A JSON recipe: the preset (fp8-per-tensor: fp8 with per-tensor weights) with `observer` on its inputs."""
    preset = "fp8" if recipe == "fp8-per-tensor" else recipe
    body = preset_recipe(quanta, preset)
    body["name"] = f"{recipe} {observer}"
    if recipe == "fp8-per-tensor":
        body["weight"]["granularity"] = "per_tensor"
    body["input"]["observer"] = {"method": observer}
    return write_recipe(folder, f"{recipe}-{observer}", body)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--recipes", default=",".join(RECIPES))
    parser.add_argument("--counts", default="8,16,32,64,128")
    parser.add_argument("--observers", default="minmax,moving_average,percentile,histogram,hybrid")
    parser.add_argument("--observer-samples", type=int, default=32)
    args = parser.parse_args()
    stem = results_stem(args, "calibration")

    previous = {}
    if os.path.exists(stem + ".json"):
        with open(stem + ".json") as f:
            previous = {(r["recipe"], r["observer"], r["samples"]): r for r in json.load(f)["rows"]}
    baseline = float_baseline(args)
    print(f"float: perplexity {baseline['perplexity']:.4f}", file=sys.stderr)
    plan = []
    for recipe in args.recipes.split(","):
        plan += [(recipe, "minmax", int(n)) for n in args.counts.split(",")]
        plan += [(recipe, o, args.observer_samples) for o in args.observers.split(",") if o != "minmax"]
    rows = dict(previous)
    with tempfile.TemporaryDirectory() as scratch:
        for recipe, observer, samples in plan:
            args.samples = samples
            out = os.path.join(scratch, "model")
            subprocess.run(["rm", "-rf", out], check=True)
            summary, quantize_wall, evaluation, _ = quantize_and_evaluate(
                args, out, recipe_file(scratch, args.quanta, recipe, observer))
            row = {"recipe": recipe, "observer": observer, "samples": samples,
                   "perplexity": evaluation["perplexity"], "kl": evaluation["kl_divergence"],
                   "top1": evaluation["top1_agreement"], "quantize_seconds": quantize_wall}
            rows[(recipe, observer, samples)] = row
            print(f"{recipe} {observer} {samples}: ppl {row['perplexity']:.4f} KL {row['kl']:.5f} "
                  f"top-1 {row['top1']:.2%} ({quantize_wall:.0f} s)", file=sys.stderr)
            write(stem, baseline, rows)


def write(stem, baseline, rows):
    ordered = sorted(rows.values(), key=lambda r: (RECIPES.index(r["recipe"]) if r["recipe"] in RECIPES else 99,
                                                    r["observer"] != "minmax", r["observer"], r["samples"]))
    with open(stem + ".json", "w") as f:
        json.dump({"float_perplexity": baseline["perplexity"], "rows": ordered}, f, indent=1)
    lines = [f"Float perplexity: {baseline['perplexity']:.4f}. Calibration: N x 512 tokens of wiki.valid.tokens, seed 0.",
             "", "| recipe | observer | samples | perplexity | KL(float‖q) | top-1 | quantize time |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in ordered:
        lines.append(f"| {r['recipe']} | {r['observer']} | {r['samples']} | {r['perplexity']:.3f} | {r['kl']:.4f} | "
                     f"{r['top1']:.2%} | {r['quantize_seconds']:.0f} s |")
    with open(stem + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
