#!/usr/bin/env python3
"""`quanta tune` against the manual fixes it automates, on one model and one evaluation.

Rows (all evaluated on the same --windows x 512 tokens of --text against the float model, calibration from --calib):
- tune: `quanta tune MODEL --recipe R --calib CALIB --eval TEXT --budget B --out DIR` for (w8a8-int8-static, ppl<=+1%)
  and (w4a16-g128, ppl<=+2%), each timed; then the w8a8 tune again into the same DIR with ppl<=+2% (reusing the
  cached sensitivity and evaluations), timed.
- msModelSlim's manual advice for w8a8-int8-static: every mlp.down_proj kept in float (`--keep-float '*.mlp.down_proj'`);
  rollback by count (`--rollback N --rank range`, its `disable_level='LN'` on range_parm) for N in 5, 10, 20, 30;
  rotation alone (`--algorithm rotation`).
Bits per weight count the linears the recipe quantizes, float ones at 16 (as `quanta tune` reports them).

Usage, from the repository root after `swift build -c release --product quanta`:
    python3 benchmarks/tune.py [--only tune-w8a8,rollback-10 --scratch DIR] [--out benchmarks/results/tune-SmolLM2-135M-Instruct]
With --only, rows of an earlier run at the same --out are kept (the named ones replaced); --scratch keeps the tune
folders, so that tune-w8a8-rerun can run later against tune-w8a8's cache.
"""
import argparse
import json
import os
import sys
import tempfile
import time
from contextlib import nullcontext

from quanta_runs import add_common_arguments, float_baseline, results_stem, run_json


def bits_per_weight(folder, summary):
    """Bits per weight over every linear except lm_head, float layers at 16."""
    with open(os.path.join(folder, "quantization.json")) as f:
        layers = json.load(f)["layers"]
    quantized = sum(l["shape"][0] * l["shape"][1] for l in layers.values() if l.get("weight"))
    floats = sum(l["shape"][0] * l["shape"][1] for name, l in layers.items() if not l.get("weight") and name != "lm_head")
    return (summary["bits_per_weight"] * quantized + 16 * floats) / (quantized + floats)


def manual_row(args, scratch, name, recipe, extra):
    out = os.path.join(scratch, name)
    command = [args.quanta, "quantize", args.model, "--recipe", recipe, "--calib", args.calib, "--samples",
               str(args.samples), "--seq-len", "512", "--seed", "0", "--out", out, "--json", "--allow-requantize"] + extra
    summary, wall = run_json(command)
    evaluation, _ = run_json([args.quanta, "eval", out, "--text", args.text, "--windows", str(args.windows),
                              "--reference", args.model, "--json"])
    floats = [l for l in summary["excluded_layers"] if l != "lm_head"]
    return {"row": name, "command": " ".join(["quanta quantize MODEL --recipe", recipe] + extra),
            "perplexity": evaluation["perplexity"], "kl": evaluation["kl_divergence"],
            "top1": evaluation["top1_agreement"], "bits_per_weight": bits_per_weight(out, summary),
            "float_layers": len(floats), "raised_layers": 0, "seconds": wall}


def tune_row(args, name, recipe, budget, out):
    command = [args.quanta, "tune", args.model, "--recipe", recipe, "--calib", args.calib, "--samples", str(args.samples),
               "--seq-len", "512", "--seed", "0", "--eval", args.text, "--windows", str(args.windows), "--budget", budget,
               "--out", out, "--json", "--allow-requantize"]
    started = time.time()
    import subprocess
    result = subprocess.run(command, capture_output=True, text=True)
    wall = time.time() - started
    if result.returncode not in (0, 3):
        sys.exit(f"{name}: quanta tune failed ({result.returncode}): {result.stderr[-2000:]}")
    report = json.loads(result.stdout)
    return {"row": name, "command": f"quanta tune MODEL --recipe {recipe} --budget '{budget}'",
            "perplexity": report["perplexity"], "kl": report["kl_divergence"], "top1": report["top1_agreement"],
            "bits_per_weight": report["bits_per_weight"], "float_layers": len(report["float_layers"]),
            "raised_layers": len(report["raised_layers"]), "seconds": wall, "meets_budget": report["meets_budget"],
            "best": report["best"], "steps": len(report["steps"]),
            "cached_steps": sum(1 for s in report["steps"] if s["cached"])}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--only", default="")
    parser.add_argument("--scratch", default=None,
                        help="folder kept between runs (the tune outputs; tune-w8a8-rerun reuses tune-w8a8's cache there)")
    args = parser.parse_args()
    only = set(filter(None, args.only.split(",")))
    stem = results_stem(args, "tune")
    baseline = float_baseline(args)
    print(f"float: perplexity {baseline['perplexity']:.4f}", file=sys.stderr)
    rows = []
    if only and os.path.exists(stem + ".json"):  # a partial run adds to (or replaces) rows of an earlier one
        with open(stem + ".json") as f:
            rows = [r for r in json.load(f)["rows"] if r["row"] not in only]
    with (tempfile.TemporaryDirectory() if args.scratch is None else nullcontext(args.scratch)) as scratch:
        os.makedirs(scratch, exist_ok=True)
        t8 = os.path.join(scratch, "t8")
        plan = [
            ("tune-w8a8", lambda: tune_row(args, "tune-w8a8", "w8a8-int8-static", "ppl<=+1%", t8)),
            ("w8a8-static", lambda: manual_row(args, scratch, "w8a8-static", "w8a8-int8-static", [])),
            ("down-proj-float", lambda: manual_row(args, scratch, "down-proj-float", "w8a8-int8-static", ["--keep-float", "*.mlp.down_proj"])),
            ("rotation", lambda: manual_row(args, scratch, "rotation", "w8a8-int8-static", ["--algorithm", "rotation"])),
            ("rollback-10", lambda: manual_row(args, scratch, "rollback-10", "w8a8-int8-static", ["--rollback", "10", "--rank", "range"])),
            ("tune-w8a8-rerun", lambda: tune_row(args, "tune-w8a8-rerun", "w8a8-int8-static", "ppl<=+2%", t8)),
            ("tune-w4a16", lambda: tune_row(args, "tune-w4a16", "w4a16-g128", "ppl<=+2%", os.path.join(scratch, "t4"))),
        ] + [
            (f"rollback-{n}", (lambda n=n: manual_row(args, scratch, f"rollback-{n}", "w8a8-int8-static", ["--rollback", str(n), "--rank", "range"])))
            for n in (5, 20, 30)
        ]
        for name, make in plan:
            if only and name not in only:
                continue
            row = make()
            rows.append(row)
            print(f"{name}: ppl {row['perplexity']:.4f}, KL {row['kl']:.4f}, bits {row['bits_per_weight']:.3f}, "
                  f"{row['seconds']:.0f} s", file=sys.stderr)
            write(stem, baseline, rows, args)  # after every row, so a long run keeps what it measured


ORDER = ["tune-w8a8", "tune-w8a8-rerun", "w8a8-static", "rotation", "down-proj-float", "rollback-5", "rollback-10",
         "rollback-20", "rollback-30", "tune-w4a16"]


def write(stem, baseline, rows, args):
    rows = sorted(rows, key=lambda r: ORDER.index(r["row"]) if r["row"] in ORDER else len(ORDER))
    lines = [f"Float perplexity: {baseline['perplexity']:.4f} ({args.windows} x 512 tokens).", "",
             "| row | how | perplexity | Δ vs float | KL(float‖q) | top-1 | bits/weight | layers float / raised | wall time |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        delta = (r["perplexity"] / baseline["perplexity"] - 1) * 100
        how = r["command"] + (f" → {r['best']}" if "best" in r else "")
        lines.append(f"| {r['row']} | `{how}` | {r['perplexity']:.3f} | {delta:+.2f}% | {r['kl']:.4f} | {r['top1'] * 100:.2f}% | "
                     f"{r['bits_per_weight']:.3f} | {r['float_layers']} / {r['raised_layers']} | {r['seconds']:.0f} s |")
    table = "\n".join(lines)
    print(table)
    with open(stem + ".json", "w") as f:
        json.dump({"float": baseline, "rows": rows}, f, indent=1)
    with open(stem + ".md", "w") as f:
        f.write(table + "\n")


if __name__ == "__main__":
    main()
