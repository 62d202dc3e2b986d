#!/usr/bin/env python3
"""Quanta's GPTQ exported to Q4_0 / Q4_1 next to llama.cpp's own `llama-quantize` Q4_0 / Q4_1 (with and without an
importance matrix), all measured by llama.cpp's `llama-perplexity` against llama.cpp's F32 file of the same model.

Steps (each command is printed before it runs and recorded in the JSON):
  1. F32 GGUF:    python3 scripts/make_f32_gguf.py MODEL f32.gguf   (every tensor dequantized to F32 by gguf-py)
  2. imatrix:     llama-imatrix -m f32.gguf -f wiki.valid.tokens -c 512 --chunks CALIB_CHUNKS -o imatrix.gguf
  3. llama.cpp:   llama-quantize [--imatrix imatrix.gguf] f32.gguf llama-TYPE[-imatrix].gguf TYPE    (TYPE Q4_0, Q4_1)
  4. Quanta:      quanta quantize MODEL --recipe benchmarks/recipes/R.yaml --calib wiki.valid.tokens --samples 128
                    --seq-len 512 --seed 0 --allow-requantize --out R
                  quanta export R --format gguf --type EMB --out quanta-R.gguf
                  (EMB: the type llama-quantize gave token_embd in the file of the same type, so that the only
                  difference between the files is how the 4-bit linear weights were chosen)
  5. base:        llama-perplexity -m f32.gguf -f wiki.test.raw -c 512 --chunks 40 --kl-divergence-base base.kld
  6. each file:   llama-perplexity -m FILE --kl-divergence-base base.kld --kl-divergence
                  (the same 40 windows of 512 tokens; llama-perplexity scores the second half of each window)

  python3 benchmarks/export_vs_llamaquantize.py [--llama-bin /work/llama.cpp-build/build/bin] [--work DIR] [--resume]
      [--rotation] [--only ROW,ROW]

llama.cpp's tools are built from the source llama-cpp-python 0.3.36 vendors (the version scripts/install-deps.sh
installs), outside the repository:
  pip download --no-deps --no-binary llama-cpp-python llama-cpp-python==0.3.36; tar xzf llama_cpp_python-0.3.36.tar.gz
  cmake -S llama_cpp_python-0.3.36/vendor/llama.cpp -B build -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
    -DLLAMA_CURL=OFF -DBUILD_SHARED_LIBS=OFF
  cmake --build build -j 2 --target llama-quantize llama-imatrix llama-perplexity
Results: benchmarks/results/export_vs_llamaquantize-<model>.{json,md}.
"""
import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "../shared/data/wikitext-2")
RECIPES = os.path.join(ROOT, "benchmarks", "recipes")
# (row id, GGML type, recipe) for Quanta's rows; llama.cpp's rows are TYPE with and without the imatrix.
QUANTA_ROWS = [
    ("quanta-gptq-int4-g32-sym", "Q4_0", "int4-g32-sym-gptq"),
    ("quanta-gptq-uint4-g32-asym", "Q4_1", "w4a16-g32-gptq"),
]
# With --rotation: the residual-stream rotation folded into the weights first (no online down_proj Hadamard).
ROTATION_ROWS = [
    ("quanta-rotation-gptq-int4-g32-sym", "Q4_0", "int4-g32-sym-rotation-gptq"),
    ("quanta-rotation-gptq-uint4-g32-asym", "Q4_1", "w4a16-g32-rotation-gptq"),
]
TYPES = ["Q4_0", "Q4_1"]


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(command, log_path=None, stdout_only=False):
    """Runs `command` (printed first); returns stdout + stderr (or stdout alone) as text; exits on failure."""
    log("$ " + " ".join(command))
    started = time.time()
    result = subprocess.run(command, capture_output=True, text=True)
    output = result.stdout + result.stderr
    if log_path:
        open(log_path, "w").write(output)
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}): {' '.join(command)}\n{output[-3000:]}")
    log(f"  done in {time.time() - started:.0f} s")
    return result.stdout if stdout_only else output


def parse_kld(output):
    """The summary llama-perplexity prints with --kl-divergence."""
    def number(label):
        match = re.search(re.escape(label) + r"\s*:\s*(-?[0-9.]+)(?:\s*±\s*([0-9.]+))?", output)
        if not match:
            sys.exit(f"llama-perplexity printed no '{label}':\n{output[-2000:]}")
        return float(match.group(1)), float(match.group(2)) if match.group(2) else None
    row = {}
    row["ppl"], row["ppl_uncertainty"] = number("Mean PPL(Q)")
    row["ppl_base"], _ = number("Mean PPL(base)")
    row["ppl_ratio"], _ = number("Mean PPL(Q)/PPL(base)")
    row["kld"], row["kld_uncertainty"] = number("Mean    KLD")
    row["kld_99"], _ = number("99.0%   KLD")
    row["same_top_p"], _ = number("Same top p")
    return row


def tensor_types(path):
    import gguf
    counts = {}
    embedding = None
    for tensor in gguf.GGUFReader(path).tensors:
        counts[tensor.tensor_type.name] = counts.get(tensor.tensor_type.name, 0) + 1
        if tensor.name == "token_embd.weight":
            embedding = tensor.tensor_type.name
    return counts, embedding


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=os.path.expanduser("~/.cache/quanta/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    parser.add_argument("--quanta", default=os.path.join(ROOT, ".build/release/quanta"))
    parser.add_argument("--llama-bin", default="/work/llama.cpp-build/build/bin")
    parser.add_argument("--work", default="/work/llama.cpp-build/bench")
    parser.add_argument("--text", default=os.path.join(DATA, "wiki.test.raw"))
    parser.add_argument("--calib", default=os.path.join(DATA, "wiki.valid.tokens"))
    parser.add_argument("--windows", type=int, default=40)
    parser.add_argument("--samples", type=int, default=128, help="Quanta's calibration windows of 512 tokens")
    parser.add_argument("--calib-chunks", type=int, default=128, help="llama-imatrix's chunks of 512 tokens")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", default=None, help="comma-separated row ids")
    parser.add_argument("--resume", action="store_true", help="keep rows already in the JSON")
    parser.add_argument("--rotation", action="store_true", help="also rotation → GPTQ rows")
    args = parser.parse_args()

    os.makedirs(args.work, exist_ok=True)
    stem = os.path.join(ROOT, "benchmarks/results",
                        "export_vs_llamaquantize-" + os.path.basename(args.model).split(".")[0])
    results = {"rows": {}}
    if args.resume and os.path.exists(stem + ".json"):
        results = json.load(open(stem + ".json"))
    tool = lambda name: os.path.join(args.llama_bin, name)
    work = lambda name: os.path.join(args.work, name)
    threads = ["-t", str(args.threads)]
    # The binary is copied so a rebuild of the worktree during the run cannot change it half way.
    quanta = work("quanta")
    shutil.copy2(args.quanta, quanta)

    def save():
        json.dump(results, open(stem + ".json", "w"), indent=1, sort_keys=True)

    f32 = work("f32.gguf")
    if not os.path.exists(f32):
        run([sys.executable, os.path.join(ROOT, "scripts/make_f32_gguf.py"), args.model, f32])
    imatrix = work("imatrix.gguf")
    imatrix_command = [tool("llama-imatrix"), "-m", f32, "-f", args.calib, "-c", "512", "--chunks",
                       str(args.calib_chunks), "-o", imatrix, *threads]
    if not os.path.exists(imatrix):
        run(imatrix_command, work("imatrix.log"))
    base = work("base.kld")
    base_command = [tool("llama-perplexity"), "-m", f32, "-f", args.text, "-c", "512", "--chunks", str(args.windows),
                    "--kl-divergence-base", base, *threads]
    if not os.path.exists(base):
        output = run(base_command, work("base.log"))
        match = re.search(r"Final estimate: PPL = ([0-9.]+)", output)
        results["f32_ppl"] = float(match.group(1)) if match else None
    results["commands"] = {"imatrix": imatrix_command, "kld_base": base_command}
    results["f32_bytes"] = os.path.getsize(f32)

    wanted = set(args.only.split(",")) if args.only else None
    plan = []
    for ggml_type in TYPES:
        for with_imatrix in (False, True):
            plan.append(("llama-quantize-" + ggml_type + ("-imatrix" if with_imatrix else ""), ggml_type,
                         None, with_imatrix))
    quanta_rows = QUANTA_ROWS + (ROTATION_ROWS if args.rotation else [])
    plan += [(row, ggml_type, recipe, False) for row, ggml_type, recipe in quanta_rows]
    embedding_types = {}
    for row_id, ggml_type, recipe, with_imatrix in plan:
        if wanted and row_id not in wanted:
            continue
        if row_id in results["rows"]:
            if recipe is None:
                embedding_types[ggml_type] = results["rows"][row_id]["embedding_type"]
            log(f"{row_id}: kept from the earlier run")
            continue
        log(f"--- {row_id}")
        path = work(row_id + ".gguf")
        commands = []
        if recipe is None:
            command = [tool("llama-quantize")] + (["--imatrix", imatrix] if with_imatrix else []) + [
                f32, path, ggml_type, str(args.threads)]
            run(command, work(row_id + ".quantize.log"))
            commands.append(command)
        else:
            folder = work(recipe)
            quantize = [quanta, "quantize", args.model, "--recipe", os.path.join(RECIPES, recipe + ".yaml"),
                        "--calib", args.calib, "--samples", str(args.samples), "--seq-len", "512", "--seed", "0",
                        "--allow-requantize", "--overwrite", "--out", folder, "--json"]
            started = time.time()
            run(quantize, work(row_id + ".quantize.log"))
            quantize_seconds = time.time() - started
            # token_embd as llama-quantize typed it in its own file of this type (Q8_0 for SmolLM2's Q4_0 / Q4_1).
            embedding = embedding_types.get(ggml_type) or "F16"
            export = [quanta, "export", folder, "--format", "gguf", "--type", embedding.lower(), "--overwrite",
                      "--out", path, "--json"]
            report = json.loads(run(export, stdout_only=True))
            commands += [quantize, export]
        measure = [tool("llama-perplexity"), "-m", path, "--kl-divergence-base", base, "--kl-divergence", *threads]
        output = run(measure, work(row_id + ".perplexity.log"))
        commands.append(measure)
        row = parse_kld(output)
        row["type"] = ggml_type
        row["source"] = "llama-quantize" + (" --imatrix" if with_imatrix else "") if recipe is None else "quanta " + recipe
        row["bytes"] = os.path.getsize(path)
        row["tensor_types"], row["embedding_type"] = tensor_types(path)
        if recipe is None:
            embedding_types[ggml_type] = row["embedding_type"]
        else:
            row["quantize_seconds"] = quantize_seconds
            row["linear_bits_per_weight"] = report["linear_bits_per_weight"]
            row["scale_rounding"] = report["scale_rounding"]
        row["commands"] = commands
        results["rows"][row_id] = row
        log(f"{row_id}: PPL {row['ppl']:.4f}, KLD {row['kld']:.5f}, same top {row['same_top_p']:.2f}%, "
            f"{row['bytes'] / 1e6:.1f} MB")
        save()

    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    results["machine"] = f"{platform.machine()}, {os.cpu_count()} cores"
    results["commit"] = commit
    save()
    lines = [f"# Quanta GPTQ → Q4_0 / Q4_1 vs llama-quantize ({os.path.basename(args.model)})", "",
             f"Commit {commit}, {results['machine']}. llama.cpp from llama-cpp-python 0.3.36's vendored source. "
             f"Every file measured by llama-perplexity against llama.cpp's F32 file ({results['f32_bytes'] / 1e6:.1f} MB"
             + (f", PPL {results['f32_ppl']:.4f}" if results.get("f32_ppl") else "") +
             f") on the same {args.windows} × 512-token windows of {os.path.basename(args.text)} (second half of each "
             f"window scored); imatrix from {args.calib_chunks} × 512 tokens of {os.path.basename(args.calib)}, "
             f"Quanta's GPTQ calibrated on {args.samples} × 512 tokens of the same file.", "",
             "| file | type | size (MB) | PPL | PPL / PPL(F32) | mean KLD | 99% KLD | same top token |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for row_id, ggml_type, recipe, _ in plan:
        row = results["rows"].get(row_id)
        if not row:
            continue
        lines.append(f"| {row['source']} | {ggml_type} (token_embd {row['embedding_type']}) | {row['bytes'] / 1e6:.2f} | "
                     f"{row['ppl']:.4f} ± {row['ppl_uncertainty']:.4f} | {row['ppl_ratio']:.4f} | "
                     f"{row['kld']:.5f} ± {row['kld_uncertainty']:.5f} | {row['kld_99']:.4f} | {row['same_top_p']:.2f}% |")
    lines += ["", "Commands: `" + " ".join(results["commands"]["imatrix"]) + "`; `" +
              " ".join(results["commands"]["kld_base"]) + "`; per row, in the JSON."]
    open(stem + ".md", "w").write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
