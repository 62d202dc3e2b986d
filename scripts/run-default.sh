#!/usr/bin/env bash
# The main job end to end on the default model: install dependencies, fetch SmolLM2-135M-Instruct, build Quanta in
# release mode, show the model, evaluate its perplexity (40 windows × 512 tokens), and answer a chat question.
# Evaluation text: $QUANTA_TEXT, else wikitext-2's test split when it sits beside the repository (../shared/data).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
model=$(bash scripts/fetch-models.sh)
swift build -c release --product quanta
quanta=.build/release/quanta
text="${QUANTA_TEXT:-../shared/data/wikitext-2/wiki.test.raw}"
[ -f "$text" ] || { echo "error: evaluation text $text not found; set QUANTA_TEXT to a UTF-8 text file" >&2; exit 1; }
"$quanta" info "$model"
"$quanta" eval "$model" --text "$text" --seq-len 512 --windows 40
"$quanta" generate "$model" --prompt "What is the capital of France, and what is it famous for?" --max-tokens 96
