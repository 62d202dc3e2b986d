#!/usr/bin/env python3
"""Checks Quanta's compressed-tensors export with the `compressed-tensors` package and transformers; run by hand.

  python3 scripts/interop/compressed_tensors_check.py [--venv /tmp/ct-venv] [--keep DIR]

1. Makes a venv under /tmp (if missing) with pinned compressed-tensors, torch, transformers, safetensors, numpy
   (PyPI; torch is large). CI does not run this: it needs torch.
2. Runs the Swift test `writeTheExportsTheScriptChecks` with QUANTA_CT_INTEROP_DIR set: it exports the tiny
   deterministic models of Tests/ExportTests (ExportFixtures, seed 1) for each case, with Quanta's dequantized weights
   and logits beside them. Build the tests first: swift build -c release -Xswiftc -enable-testing --build-tests
3. In the venv: validates config.json's quantization_config with compressed-tensors' `QuantizationConfig`, and
   decompresses every quantized layer with the compressor registered for its format (the per-module step of
   `ModelCompressor.decompress_model`); records each weight's float64 sum and its max |difference| from Quanta's.
   Then loads the folder with `AutoModelForCausalLM.from_pretrained` and compares logits with Quanta's.
4. Writes Tests/ExportTests/Fixtures/compressed_tensors_check.json, which CompressedTensorsInteropTests asserts.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

PINS = ["compressed-tensors==0.20.1", "torch==2.15.0", "transformers==5.25.0", "safetensors==0.8.0", "numpy==2.4.6"]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURE = os.path.join(ROOT, "Tests/ExportTests/Fixtures/compressed_tensors_check.json")


def check_case(folder):
    """Runs inside the venv: one exported case -> its fixture entry."""
    import numpy as np
    import torch
    from compressed_tensors.compressors.base import BaseCompressor
    from compressed_tensors.quantization import QuantizationConfig
    from compressed_tensors.utils.match import match_name
    from safetensors.torch import load_file

    config = json.load(open(folder + "/config.json"))
    q = QuantizationConfig.model_validate(config["quantization_config"])
    state = load_file(folder + "/model.safetensors")
    reference = load_file(folder + "/quanta_dequantized.safetensors")
    modules = sorted({k.rsplit(".", 1)[0] for k in reference})
    tensors = {}
    for module in modules:
        if any(match_name(module, t) for t in q.ignore or []):
            continue
        scheme = next(s for s in q.config_groups.values() if any(t == "Linear" or match_name(module, t) for t in s.targets))
        compressor = BaseCompressor.get_value_from_registry(scheme.format or q.format)
        local = {k[len(module) + 1:]: v for k, v in state.items() if k.startswith(module + ".")}
        weight = compressor.decompress(local, scheme)["weight"]
        ours = reference[module + ".weight"]
        tensors[module + ".weight"] = {
            "sum": float(weight.to(torch.float64).sum()),
            "max_abs_difference": float((weight.to(torch.float32) - ours).abs().max()),
        }
    entry = {"tensors": tensors}
    quanta = json.load(open(folder + "/quanta_logits.json"))
    try:
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
        with torch.no_grad():
            logits = model(torch.tensor([quanta["tokens"]])).logits[0].to(torch.float64).numpy()
        ours = np.array(quanta["logits"]).reshape(logits.shape)
        entry["transformers"] = {
            "argmax": [int(i) for i in logits.argmax(axis=1)],
            "row_sums": [float(s) for s in logits.sum(axis=1)],
            "max_abs_difference": float(np.abs(logits - ours).max()),
        }
    except Exception as error:  # recorded, not hidden: the fixture says why transformers did not load it
        entry["transformers_error"] = f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"
        if not all(s.weights.symmetric for s in q.config_groups.values()):
            # transformers builds the empty model through compressed-tensors' meta-device path, which leaves the
            # zero point unpacked [out, groups] while the package's own compress() packs it [ceil(out*b/32), groups]
            # (the layout decompress() reads): asymmetric pack-quantized checkpoints do not load this way
            # (vllm-project/llm-compressor#1618). The decompression above is the check for these cases.
            entry["transformers_note"] = "asymmetric pack-quantized zero points: meta-device shape mismatch in transformers"
    return entry


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--venv", default="/tmp/ct-venv")
    parser.add_argument("--keep", help="write the exports here instead of a temporary folder")
    parser.add_argument("--case", help=argparse.SUPPRESS)  # internal: run one case inside the venv
    args = parser.parse_args()
    if args.case:
        json.dump(check_case(args.case), sys.stdout)
        return
    python = os.path.join(args.venv, "bin", "python")
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", args.venv], check=True)
        subprocess.run([python, "-m", "pip", "install", "--quiet"] + PINS, check=True)
    versions = subprocess.run(
        [python, "-c", "import compressed_tensors, torch, transformers; "
         "print(compressed_tensors.__version__, torch.__version__, transformers.__version__)"],
        check=True, capture_output=True, text=True).stdout.split()
    directory = args.keep or tempfile.mkdtemp(prefix="quanta-ct-")
    environment = dict(os.environ, QUANTA_CT_INTEROP_DIR=directory)
    subprocess.run(
        ["swift", "test", "-c", "release", "-Xswiftc", "-enable-testing", "--skip-build", "--disable-xctest",
         "--filter", "writeTheExportsTheScriptChecks"], cwd=ROOT, env=environment, check=True, capture_output=True)
    cases = {}
    for name in sorted(os.listdir(directory)):
        out = subprocess.run([python, __file__, "--case", os.path.join(directory, name)], check=True,
                             capture_output=True, text=True).stdout
        cases[name] = json.loads(out)
        worst = max(t["max_abs_difference"] for t in cases[name]["tensors"].values())
        logits = cases[name].get("transformers", {}).get("max_abs_difference", cases[name].get("transformers_error"))
        print(f"{name}: {len(cases[name]['tensors'])} layers, max |weight difference| {worst}, transformers logits: {logits}")
    fixture = {
        "command": "python3 scripts/interop/compressed_tensors_check.py",
        "compressed_tensors_version": versions[0],
        "torch_version": versions[1],
        "transformers_version": versions[2],
        "cases": cases,
    }
    with open(FIXTURE, "w") as f:
        json.dump(fixture, f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote", FIXTURE)


if __name__ == "__main__":
    main()
