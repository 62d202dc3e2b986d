#!/usr/bin/env python3
"""Reference perplexity for Quanta's evaluation protocol P1, computed with PyTorch + transformers.

Protocol P1 (see /work/shared/REFERENCE.md): the whole text is encoded once without BOS, cut into non-overlapping
windows of --seq-len tokens, and the first --windows windows are scored independently (a fresh forward pass each);
every token after the first in a window is predicted, so 40 windows of 512 give 40 x 511 = 20,440 scored tokens.
perplexity = exp(mean NLL). The model is the GGUF dequantized to float32 by transformers (it un-permutes the q/k
rows that llama.cpp's converter interleaved and ties the LM head to token_embd).

Usage (in a venv with torch, transformers, accelerate, gguf, tokenizers):
    python scripts/reference/perplexity_reference.py \
        --model /root/.cache/quanta/models/SmolLM2-135M-Instruct.Q4_1.gguf \
        --text /work/shared/data/wikitext-2/wiki.test.raw \
        --seq-len 512 --windows 40 \
        --out Tests/PipelineTests/Fixtures/reference_perplexity_smollm2.json
"""
import argparse
import json
import math
import os
import shlex
import sys

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

# Facts about SmolLM2 + wiki.test.raw from REFERENCE.md; checked only when the text is wiki.test.raw.
EXPECTED_PREFIX = [446, 6356, 389, 9226, 352]
EXPECTED_COUNT = 301_948


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="path to the .gguf file")
    parser.add_argument("--text", required=True, help="raw text file (wiki.test.raw)")
    parser.add_argument("--seq-len", type=int, default=512)
    parser.add_argument("--windows", type=int, default=40)
    parser.add_argument("--out", help="write the JSON result here as well as to stdout")
    args = parser.parse_args()

    torch.set_num_threads(2)
    model_dir, model_file = os.path.split(os.path.abspath(args.model))
    tokenizer = AutoTokenizer.from_pretrained(model_dir, gguf_file=model_file)
    model = AutoModelForCausalLM.from_pretrained(model_dir, gguf_file=model_file, dtype=torch.float32)
    model.eval()

    with open(args.text, encoding="utf-8") as f:
        text = f.read()
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    # SmolLM2 has add_bos_token = false: the default encoding must equal the no-special-tokens one.
    probe = text[:2000]
    assert tokenizer(probe)["input_ids"] == tokenizer(probe, add_special_tokens=False)["input_ids"], "tokenizer adds BOS"
    if os.path.basename(args.text) == "wiki.test.raw":
        assert ids[:5] == EXPECTED_PREFIX, ids[:5]
        assert len(ids) == EXPECTED_COUNT, len(ids)

    n = args.seq_len
    assert len(ids) >= n * args.windows, "text too short for the requested windows"
    per_window = []
    top1 = logits_sample = None
    with torch.no_grad():
        for w in range(args.windows):
            window = torch.tensor([ids[w * n:(w + 1) * n]], dtype=torch.long)
            logits = model(window).logits[0].float()  # [n, vocab]
            logp = torch.log_softmax(logits[:-1].double(), dim=-1)
            nll = -logp.gather(1, window[0, 1:, None]).squeeze(1)
            per_window.append(nll.mean().item())
            if w == 0:
                top1 = logits.argmax(dim=-1)[:16].tolist()
                logits_sample = logits[0, :8].tolist()
            print(f"window {w}: mean nll {per_window[-1]:.6f}", file=sys.stderr)

    scored = n - 1
    mean_nll = sum(per_window) / len(per_window)  # equal token counts per window
    result = {
        "perplexity": math.exp(mean_nll),
        "mean_nll": mean_nll,
        "tokens": scored * args.windows,
        "windows": args.windows,
        "seq_len": n,
        "per_window_nll": per_window,
        "first_window_top1_ids": top1,
        "first_window_logits_sample": logits_sample,
        "text_tokens": len(ids),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "command": " ".join(shlex.quote(a) for a in ["python"] + sys.argv),
    }
    out = json.dumps(result, indent=2)
    print(out)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            f.write(out + "\n")


if __name__ == "__main__":
    main()
