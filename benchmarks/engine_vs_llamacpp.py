#!/usr/bin/env python3
"""Prefill and decode speed of Quanta against llama.cpp (llama-cpp-python), measured side by side in one run.

For each model (an F32 copy of --model, then --model itself) both engines run a 512-token prefill of the start of
--text (no BOS) followed by 64 single-token decode steps. The two engines alternate (order swapped every repetition),
each gets one unmeasured warm-up run, and the table reports medians and the ratio Quanta / llama.cpp.

- llama.cpp: Llama(model_path, n_ctx=1024, n_threads=2, n_threads_batch=2, n_batch=512), loaded once per model;
  tokens from llm.tokenize(text, add_bos=False). A run is llm.reset() (eval then drops the whole KV cache), one
  llm.eval() of the 512 prompt tokens (prefill), then 64 llm.eval([t]) calls on the next 64 text tokens (decode).
- Quanta: `QUANTA_BIN bench MODEL --prompt-tokens 512 --decode-tokens 64 --text TEXT --repetitions 1 --json` (its own
  warm-up, then one timed run), which prints one JSON object with prefill_tokens_per_second and
  decode_tokens_per_second (its own timings, model load excluded).
- The F32 model is made once with scripts/make_f32_gguf.py and cached next to --model as NAME.F32.gguf.

--packed compares quantized models instead, each engine computing from its own packed weights (Quanta loads a
quantized folder straight into packed layers): Quanta W8A8 (static and dynamic) and W8A16 against llama.cpp Q8_0,
Quanta W4A16 symmetric g32 against Q4_0 and asymmetric g32 against Q4_1, and --model in both engines. A W4A8 row (int4 g32
weights, int8 inputs per token) stands beside Q4_0 too, because llama.cpp's Q4_0 multiplies by activations quantized
to 8 bits (Q8_0) while W4A16 keeps them in float: it is the like-for-like arithmetic. The GGUFs are
made from the F32 copy with llama.cpp's own quantizer (llama_cpp.llama_model_quantize) and cached next to --model as
NAME.llama-TYPE.gguf; the Quanta folders with `quanta quantize F32 --recipe benchmarks/recipes/packed-*.yaml --calib
CALIB` (the presets with the LM head quantized as llama.cpp's files quantize it), cached as NAME.quanta-RECIPE/. Then
`quanta eval --windows W` gives each model's peak memory (ru_maxrss) against the F32 model's, and the perplexity of
the packed run against the fake-quant run of the same folder (QUANTA_PACKED=0). Results go to
benchmarks/results/engine-packed-NAME.json and .md.

Usage (in the venv that has llama-cpp-python and gguf, from the repository root):
    python benchmarks/engine_vs_llamacpp.py [--quanta .build/release/quanta] [--model M.gguf] [--text T] [--reps 3]
    python benchmarks/engine_vs_llamacpp.py --llama-only      # llama.cpp alone
    python benchmarks/engine_vs_llamacpp.py --packed --quiet 120 [--windows 40] [--groups Q4_0,default]
    --groups reruns only those llama.cpp types' rows and keeps the other rows of the saved results.
    --quiet 120 (for a shared machine) waits up to 120 s for 3 idle seconds before each measured run and repeats a
    run that another process disturbed: llama.cpp's OpenMP threads slow down several-fold when anything else runs.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from llama_cpp import Llama

PROMPT, DECODE = 512, 64
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUANT_SUFFIXES = {"F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K_M", "Q4_K_S", "Q6_K"}


def f32_path(model: str) -> str:
    """NAME.Q4_1.gguf -> NAME.F32.gguf next to it, creating it once with make_f32_gguf.py."""
    stem = model[:-len(".gguf")] if model.endswith(".gguf") else model
    base, _, last = stem.rpartition(".")
    if base and last.upper() in QUANT_SUFFIXES:
        stem = base
    out = stem + ".F32.gguf"
    if not os.path.exists(out):
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "make_f32_gguf.py"), model, out], check=True)
    return out


class LlamaCpp:
    name = "llama.cpp"

    def __init__(self, model: str, text: str):
        self.llm = Llama(model_path=model, n_ctx=1024, n_threads=2, n_threads_batch=2, n_batch=512, verbose=False)
        with open(text, encoding="utf-8") as f:
            head = f.read(20_000)  # plenty for 576 tokens
        tokens = self.llm.tokenize(head.encode("utf-8"), add_bos=False)
        assert len(tokens) >= PROMPT + DECODE
        self.prompt, self.decode = tokens[:PROMPT], tokens[PROMPT:PROMPT + DECODE]

    def run(self) -> tuple[float, float]:
        self.llm.reset()
        t0 = time.perf_counter()
        self.llm.eval(self.prompt)
        t1 = time.perf_counter()
        for tok in self.decode:
            self.llm.eval([tok])
        t2 = time.perf_counter()
        return PROMPT / (t1 - t0), DECODE / (t2 - t1)


class Quanta:
    name = "Quanta"

    def __init__(self, binary: str, model: str, text: str, name: str = "Quanta"):
        self.name = name
        self.cmd = [binary, "bench", model, "--prompt-tokens", str(PROMPT), "--decode-tokens", str(DECODE),
                    "--text", text, "--repetitions", "1", "--json"]

    def run(self) -> tuple[float, float]:
        out = subprocess.run(self.cmd, check=True, capture_output=True, text=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
        return float(result["prefill_tokens_per_second"]), float(result["decode_tokens_per_second"])


def busy_cpu_seconds() -> float:
    """CPU seconds all processes have spent busy (not idle/iowait), from the first line of /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU seconds of this process and its finished children (the Quanta subprocess)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def quiet_run(engine, quiet_s: float) -> tuple[float, float]:
    """engine.run(); with quiet_s > 0, first wait (up to quiet_s) for 3 idle seconds, and repeat the run (at most 3
    more times) when other processes used more than 5% of a core during it. On 2 cores llama.cpp's OpenMP threads
    slow down several-fold as soon as anything else runs, so a shared machine needs this."""
    for attempt in range(4):
        deadline = time.monotonic() + quiet_s
        while time.monotonic() < deadline:
            busy0 = busy_cpu_seconds()
            time.sleep(3)
            if busy_cpu_seconds() - busy0 < 0.3:
                break
        busy0, own0, t0 = busy_cpu_seconds(), own_cpu_seconds(), time.monotonic()
        result = engine.run()
        others = (busy_cpu_seconds() - busy0) - (own_cpu_seconds() - own0)
        if quiet_s <= 0 or others < 0.05 * (time.monotonic() - t0):
            return result
        print(f"  ({engine.name}: other processes used {others:.1f} CPU-s during the run; repeating)", file=sys.stderr)
    return result


def measure(engines: list, reps: int, quiet_s: float) -> dict:
    """Warm up each engine once, then alternate them for `reps` rounds; returns per-engine lists of (prefill, decode)."""
    for engine in engines:
        engine.run()
    results = {e.name: [] for e in engines}
    for rep in range(reps):
        for engine in (engines if rep % 2 == 0 else engines[::-1]):
            results[engine.name].append(quiet_run(engine, quiet_s))
            prefill, decode = results[engine.name][-1]
            print(f"  rep {rep} {engine.name}: prefill {prefill:.1f} tok/s, decode {decode:.1f} tok/s", file=sys.stderr)
    return results


# --packed: (llama.cpp type, [(row label, Quanta recipe in benchmarks/recipes/)]).
PACKED_GROUPS = [
    ("Q8_0", [("W8A8 static", "packed-w8a8-int8-static"), ("W8A8 dynamic", "packed-w8a8-int8-dynamic"),
              ("W8A16", "packed-w8a16")]),
    ("Q4_0", [("W4A16 sym g32", "packed-w4a16-g32-sym"), ("W4A8 sym g32", "packed-w4a8-g32-sym")]),
    ("Q4_1", [("W4A16 asym g32", "packed-w4a16-g32-asym")]),
]


def model_stem(model: str) -> str:
    stem = model[:-len(".gguf")] if model.endswith(".gguf") else model
    base, _, last = stem.rpartition(".")
    return base if base and last.upper() in QUANT_SUFFIXES else stem


def llama_quantized(f32: str, type_name: str, stem: str) -> str:
    """The F32 GGUF quantized by llama.cpp's own llama_model_quantize to `type_name`, made once."""
    import ctypes
    import llama_cpp
    out = f"{stem}.llama-{type_name}.gguf"
    if not os.path.exists(out):
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{type_name}")
        params.nthread = 2
        if llama_cpp.llama_model_quantize(f32.encode(), (out + ".tmp").encode(), ctypes.byref(params)) != 0:
            sys.exit(f"llama_model_quantize {type_name} failed")
        os.rename(out + ".tmp", out)
    return out


def quanta_folder(binary: str, f32: str, recipe: str, calib: str, stem: str) -> str:
    """`quanta quantize F32 --recipe benchmarks/recipes/RECIPE.yaml --calib CALIB`, made once."""
    out = f"{stem}.quanta-{recipe}"
    if not os.path.exists(out):
        subprocess.run([binary, "quantize", f32, "--recipe", os.path.join(ROOT, "benchmarks", "recipes", recipe + ".yaml"),
                        "--calib", calib, "--out", out], check=True, stdout=subprocess.DEVNULL)
    return out


def quanta_eval(binary: str, model: str, text: str, windows: int, packed: bool) -> dict:
    """`quanta eval MODEL --windows W --json` (QUANTA_PACKED=0 for the fake-quant path): perplexity, peak memory."""
    env = dict(os.environ, QUANTA_PACKED="1" if packed else "0")
    out = subprocess.run([binary, "eval", model, "--text", text, "--windows", str(windows), "--json"], check=True,
                         capture_output=True, text=True, env=env).stdout
    result = json.loads(out)
    return {"perplexity": result["perplexity"], "peak_memory_mb": result["peak_memory_mb"], "seconds": result["seconds"]}


def packed_main(args, load: float) -> None:
    stem = model_stem(args.model)
    f32 = f32_path(args.model)
    speed, folders = [], {}
    groups = [(t, [(label, quanta_folder(args.quanta, f32, recipe, args.calib, stem)) for label, recipe in rows])
              for t, rows in PACKED_GROUPS if not args.groups or t in args.groups]
    if not args.groups or "default" in args.groups:
        groups.append((os.path.basename(args.model), [("default GGUF", args.model)]))
    for type_name, rows in groups:
        gguf = args.model if type_name == os.path.basename(args.model) else llama_quantized(f32, type_name, stem)
        print(f"{os.path.basename(gguf)} against {', '.join(label for label, _ in rows)}:", file=sys.stderr)
        engines = [LlamaCpp(gguf, args.text)] + [Quanta(args.quanta, path, args.text, label) for label, path in rows]
        results = measure(engines, args.reps, args.quiet)
        for label, path in rows:
            folders[label] = path
            for i, metric in enumerate(("prefill", "decode")):
                llama = statistics.median(r[i] for r in results["llama.cpp"])
                quanta = statistics.median(r[i] for r in results[label])
                speed.append({"quanta": label, "llama_cpp": os.path.basename(gguf), "phase": metric,
                              "llama_cpp_tokens_per_second": llama, "quanta_tokens_per_second": quanta,
                              "ratio": quanta / llama})
        del engines

    print(f"peak memory and perplexity: quanta eval --windows {args.windows}", file=sys.stderr)
    float_eval = quanta_eval(args.quanta, f32, args.text, args.windows, packed=True)
    memory_float = {"model": "F32 (float)", **float_eval, "memory_ratio": 1.0}
    memory = [memory_float]
    for label, path in folders.items():
        packed = quanta_eval(args.quanta, path, args.text, args.windows, packed=True)
        fake = quanta_eval(args.quanta, path, args.text, args.windows, packed=False)
        memory.append({"model": label, **packed, "memory_ratio": packed["peak_memory_mb"] / float_eval["peak_memory_mb"],
                       "fake_quant_perplexity": fake["perplexity"], "fake_quant_peak_memory_mb": fake["peak_memory_mb"],
                       "perplexity_relative_difference": abs(packed["perplexity"] - fake["perplexity"]) / fake["perplexity"]})
        print(f"  {label}: {memory[-1]}", file=sys.stderr)
    memory_new = memory[1:]

    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    out = os.path.join(ROOT, "benchmarks", "results", f"engine-packed-{os.path.basename(stem)}")
    if args.groups and os.path.exists(out + ".json"):
        # Rows of the groups not run now come from the saved results (same table order: saved rows first).
        with open(out + ".json") as f:
            saved = json.load(f)
        ran = {r["quanta"] for r in speed}
        speed = [r for r in saved["speed"] if r["quanta"] not in ran] + speed
        memory = [m for m in saved["memory"] if m["model"] not in folders and m["model"] != "F32 (float)"]
        memory = [memory_float] + memory + memory_new
        order = [label for _, rows in PACKED_GROUPS for label, _ in rows] + ["default GGUF"]
        speed.sort(key=lambda r: order.index(r["quanta"]) if r["quanta"] in order else len(order))
        memory.sort(key=lambda m: -1 if m["model"] == "F32 (float)" else order.index(m["model"]) if m["model"] in order else len(order))
    lines = [f"Quanta (packed weights) against llama.cpp, {os.path.basename(stem)}: medians of {args.reps} alternating runs, "
             f"{PROMPT}-token prefill, {DECODE} decode steps, 2 threads; load average {load:.2f} at start; commit {commit}",
             "", "| Quanta | llama.cpp | phase | llama.cpp tok/s | Quanta tok/s | Quanta / llama.cpp |", "|---|---|---|---:|---:|---:|"]
    for r in speed:
        lines.append(f"| {r['quanta']} | {r['llama_cpp']} | {r['phase']} | {r['llama_cpp_tokens_per_second']:.1f} | "
                     f"{r['quanta_tokens_per_second']:.1f} | {r['ratio']:.2f} |")
    if args.groups:
        lines += ["", f"This run measured the {', '.join(args.groups)} rows; the others are kept from the saved results."]
    lines += ["", f"`quanta eval --windows {args.windows}`: peak memory (ru_maxrss) against the F32 model, perplexity of the "
              "packed run against the fake-quant run (QUANTA_PACKED=0) of the same folder", "",
              "| model | peak MB | of F32 | perplexity | fake-quant perplexity | relative difference | fake-quant peak MB |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for m in memory:
        fake = (f"{m['fake_quant_perplexity']:.4f} | {100 * m['perplexity_relative_difference']:.4f}% | "
                f"{m['fake_quant_peak_memory_mb']:.0f}") if "fake_quant_perplexity" in m else "- | - | -"
        lines.append(f"| {m['model']} | {m['peak_memory_mb']:.0f} | {100 * m['memory_ratio']:.0f}% | {m['perplexity']:.4f} | {fake} |")
    table = "\n".join(lines)
    print("\n" + table)
    with open(out + ".json", "w") as f:
        json.dump({"speed": speed, "memory": memory, "argv": sys.argv, "commit": commit, "load_average": load,
                   "reps": args.reps, "windows": args.windows}, f, indent=1, sort_keys=True)
    with open(out + ".md", "w") as f:
        f.write(table + "\n\nCommand: `python " + " ".join(["benchmarks/engine_vs_llamacpp.py"] + sys.argv[1:]) + "`\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quanta", default=os.path.join(ROOT, ".build", "release", "quanta"))
    parser.add_argument("--model", default=os.path.expanduser("~/.cache/quanta/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    parser.add_argument("--text", default="/work/shared/data/wikitext-2/wiki.test.raw")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--llama-only", action="store_true", help="measure llama.cpp alone")
    parser.add_argument("--quiet", type=float, default=0, metavar="S",
                        help="shared machine: wait up to S s for idle CPUs before each run and repeat disturbed runs")
    parser.add_argument("--packed", action="store_true",
                        help="quantized models from packed weights against llama.cpp Q8_0/Q4_0/Q4_1, with peak memory")
    parser.add_argument("--calib", default="/work/shared/data/wikitext-2/wiki.valid.tokens",
                        help="--packed: calibration text for the static recipe")
    parser.add_argument("--windows", type=int, default=40, help="--packed: windows of quanta eval (memory, perplexity)")
    parser.add_argument("--groups", type=lambda s: s.split(","), default=None, metavar="Q8_0,Q4_0,Q4_1,default",
                        help="--packed: run only these llama.cpp types' rows; the other rows stay as saved")
    args = parser.parse_args()

    load = os.getloadavg()[0]
    if load > 0.5:
        print(f"warning: 1-minute load average is {load:.2f}; other processes will distort the timings", file=sys.stderr)
    if args.packed:
        packed_main(args, load)
        return
    rows = []
    for model in (f32_path(args.model), args.model):
        print(f"{os.path.basename(model)}:", file=sys.stderr)
        engines = [LlamaCpp(model, args.text)]
        if not args.llama_only:
            engines.append(Quanta(args.quanta, model, args.text))
        results = measure(engines, args.reps, args.quiet)
        for i, metric in enumerate(("prefill", "decode")):
            med = {name: statistics.median(r[i] for r in runs) for name, runs in results.items()}
            rows.append((os.path.basename(model), metric, med["llama.cpp"], med.get("Quanta")))
        del engines  # free the llama.cpp model before loading the next one

    print(f"\nmedians of {args.reps} runs, {PROMPT}-token prefill, {DECODE} decode steps, 2 threads, "
          f"load average {load:.2f} at start\n")
    print("| model | phase | llama.cpp tok/s | Quanta tok/s | Quanta / llama.cpp |")
    print("|---|---|---:|---:|---:|")
    for model, metric, llama, quanta in rows:
        q = f"{quanta:.1f}" if quanta is not None else "-"
        ratio = f"{quanta / llama:.2f}" if quanta is not None else "-"
        print(f"| {model} | {metric} | {llama:.1f} | {q} | {ratio} |")


if __name__ == "__main__":
    main()
