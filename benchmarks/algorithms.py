#!/usr/bin/env python3
"""Accuracy-recovery algorithms on one model, each next to the recipe it improves, same protocol as presets.py.

Every row: `quanta quantize MODEL --recipe R [--algorithm A ...] --calib CALIB --samples 128 --seq-len 512 --seed 0`
(its JSON summary gives the algorithms' own wall time), then `quanta eval OUT --text TEXT --windows 40 --reference
MODEL` (perplexity, KL(float || quantized), top-1 agreement). Rows are saved to the JSON as they finish, so a run can
be resumed (`--resume`) or limited (`--only gptq-g128,rtn-g128`). Run with QUANTA_THREADS=2 for the 2-thread figures.

Usage, from the repository root after `swift build -c release --product quanta`:
    QUANTA_THREADS=2 python3 benchmarks/algorithms.py [--model ...] [--calib ...] [--text ...] [--only a,b] [--resume]
"""
import argparse
import json
import os
import sys
import tempfile

from quanta_runs import ROOT, add_common_arguments, float_baseline, quantize_and_evaluate, results_stem

RECIPES = os.path.join(ROOT, "benchmarks", "recipes")
# (row id, recipe, algorithms, the row it is compared with)
ROWS = [
    ("rtn-g128", "w4a16-g128", [], None),
    ("gptq-g128", os.path.join(RECIPES, "w4a16-g128-gptq.yaml"), [], "rtn-g128"),
    ("awq-g128", "w4a16-g128", ["awq"], "rtn-g128"),
    ("rtn-g64", "w4a16-g64", [], None),
    ("gptq-g64", os.path.join(RECIPES, "w4a16-g64-gptq.yaml"), [], "rtn-g64"),
    ("awq-g64", "w4a16-g64", ["awq"], "rtn-g64"),
    ("w8a8-static", "w8a8-int8-static", [], None),
    ("smoothquant-w8a8-static", "w8a8-int8-static", ["smoothquant"], "w8a8-static"),
    ("smoothquant-search-w8a8-static", os.path.join(RECIPES, "w8a8-int8-static-smoothquant.yaml"), [], "w8a8-static"),
    ("rotation-w8a8-static", "w8a8-int8-static", ["rotation"], "w8a8-static"),
    ("kv-fp8", os.path.join(RECIPES, "kv-fp8.yaml"), [], "float"),
    ("kv-fp8-head", os.path.join(RECIPES, "kv-fp8-head.yaml"), [], "float"),
    ("kv-fp8-head-dynamic", os.path.join(RECIPES, "kv-fp8-head-dynamic.yaml"), [], "float"),
    ("w4a8", os.path.join(RECIPES, "w4a8-g128.yaml"), [], None),
    ("rotation-w4a8", os.path.join(RECIPES, "w4a8-g128.yaml"), ["rotation"], "w4a8"),
    ("gptq-w4a8", os.path.join(RECIPES, "w4a8-g128-gptq.yaml"), [], "w4a8"),
    ("rotation-gptq-w4a8", os.path.join(RECIPES, "w4a8-g128-rotation-gptq.yaml"), [], "gptq-w4a8"),
]


def table(baseline, rows):
    by_id = {row["id"]: row for row in rows}
    lines = [
        f"Float (dequantized GGUF) perplexity: {baseline['perplexity']:.4f} ({baseline['tokens']} tokens).",
        "",
        "| row | recipe | algorithms | perplexity | Δ vs float | gap to float closed | KL(float‖q) | top-1 agreement | algorithm time | total quantize time |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        e, q = row["eval"], row["quantize"]
        delta = (e["perplexity"] / baseline["perplexity"] - 1) * 100
        closed = ""
        base = by_id.get(row["compare"]) if row["compare"] not in (None, "float") else None
        if base:
            gap = base["eval"]["perplexity"] - baseline["perplexity"]
            closed = f"{(base['eval']['perplexity'] - e['perplexity']) / gap * 100:.0f}% of {row['compare']}'s" if gap > 0 else ""
        algorithms = " → ".join(row["quantize"].get("algorithms") or row["algorithms"]) or "—"
        lines.append(
            f"| {row['id']} | {os.path.basename(row['recipe'])} | {algorithms} | {e['perplexity']:.3f} | {delta:+.2f}% | {closed} | "
            f"{e['kl_divergence']:.4f} | {e['top1_agreement'] * 100:.2f}% | {q.get('algorithm_seconds', 0):.1f} s | "
            f"{row['quantize_wall_seconds']:.1f} s |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--only", default=None, help="comma-separated row ids")
    parser.add_argument("--resume", action="store_true", help="keep (and skip) rows already in the JSON")
    args = parser.parse_args()

    stem = results_stem(args, "algorithms")
    saved = {}
    if args.resume and os.path.exists(stem + ".json"):
        with open(stem + ".json") as f:
            saved = json.load(f)
    done = {row["id"]: row for row in saved.get("rows", [])}
    baseline = saved.get("baseline")
    if baseline is None:
        baseline = float_baseline(args)
    print(f"float: perplexity {baseline['perplexity']:.4f}", file=sys.stderr)
    wanted = set(args.only.split(",")) if args.only else None
    with tempfile.TemporaryDirectory() as scratch:
        for row_id, recipe, algorithms, compare in ROWS:
            if wanted is not None and row_id not in wanted:
                continue
            if args.resume and row_id in done:
                continue
            out = os.path.join(scratch, row_id)
            summary, quantize_wall, evaluation, eval_wall = quantize_and_evaluate(args, out, recipe, algorithms)
            summary.pop("algorithm_reports", None)
            done[row_id] = {"id": row_id, "recipe": recipe, "algorithms": algorithms, "compare": compare,
                            "quantize": summary, "eval": evaluation, "quantize_wall_seconds": quantize_wall,
                            "eval_wall_seconds": eval_wall, "threads": os.environ.get("QUANTA_THREADS", "all")}
            print(f"{row_id}: ppl {evaluation['perplexity']:.4f}, KL {evaluation['kl_divergence']:.5f}, "
                  f"algorithms {summary.get('algorithm_seconds', 0):.1f} s, quantize {quantize_wall:.1f} s", file=sys.stderr)
            rows = [done[r[0]] for r in ROWS if r[0] in done]
            with open(stem + ".json", "w") as f:
                json.dump({"baseline": baseline, "rows": rows, "argv": sys.argv}, f, indent=1, sort_keys=True)
    rows = [done[r[0]] for r in ROWS if r[0] in done]
    text = table(baseline, rows)
    print(text)
    with open(stem + ".md", "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
