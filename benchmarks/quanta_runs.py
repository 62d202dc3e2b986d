"""What the accuracy benchmarks (presets.py, algorithms.py) share: their command-line defaults, running `quanta` for
JSON, the float baseline, and one quantize-then-evaluate row."""
import json
import os
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def add_common_arguments(parser):
    """--quanta, --model, --calib, --text, --samples, --windows, --out (the protocol of the README tables)."""
    parser.add_argument("--quanta", default=os.path.join(ROOT, ".build/release/quanta"))
    parser.add_argument("--model", default=os.path.expanduser("~/.cache/quanta/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    parser.add_argument("--calib", default=os.path.join(ROOT, "../shared/data/wikitext-2/wiki.valid.tokens"))
    parser.add_argument("--text", default=os.path.join(ROOT, "../shared/data/wikitext-2/wiki.test.raw"))
    parser.add_argument("--samples", type=int, default=128)
    parser.add_argument("--windows", type=int, default=40)
    parser.add_argument("--out", default=None)


def results_stem(args, prefix):
    """--out, else benchmarks/results/PREFIX-MODEL (folder created)."""
    stem = args.out or os.path.join(ROOT, "benchmarks", "results", prefix + "-" + os.path.basename(args.model).split(".")[0])
    os.makedirs(os.path.dirname(stem) or ".", exist_ok=True)
    return stem


def run_json(command):
    """Runs a `quanta ... --json` command; returns its JSON output and wall time."""
    started = time.time()
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(result.stdout), time.time() - started


def float_baseline(args):
    """Perplexity of the float model on the evaluation windows."""
    baseline, _ = run_json([args.quanta, "eval", args.model, "--text", args.text, "--windows", str(args.windows), "--json"])
    return baseline


def quantize_and_evaluate(args, out, recipe, algorithms=()):
    """`quanta quantize` by `recipe` (plus `--algorithm`s) into `out`, then `quanta eval` against the float model.
    Returns (quantize summary, its wall seconds, evaluation, its wall seconds)."""
    command = [args.quanta, "quantize", args.model, "--recipe", recipe, "--calib", args.calib,
               "--samples", str(args.samples), "--seq-len", "512", "--seed", "0", "--out", out, "--json"]
    for algorithm in algorithms:
        command += ["--algorithm", algorithm]
    summary, quantize_wall = run_json(command)
    evaluation, eval_wall = run_json([
        args.quanta, "eval", out, "--text", args.text, "--windows", str(args.windows), "--reference", args.model, "--json"])
    return summary, quantize_wall, evaluation, eval_wall


def preset_recipe(quanta, name):
    """The recipe of preset `name` as `quanta recipes --json` prints it (a dict to edit)."""
    shown = json.loads(subprocess.run([quanta, "recipes", "--json"], check=True, capture_output=True, text=True).stdout)
    entries = shown["presets"] if isinstance(shown, dict) else shown
    return next(p["recipe"] for p in entries if p["name"] == name)


def write_recipe(folder, stem, body):
    """Writes `body` as FOLDER/STEM.json and returns its path."""
    path = os.path.join(folder, f"{stem}.json")
    with open(path, "w") as f:
        json.dump(body, f)
    return path
