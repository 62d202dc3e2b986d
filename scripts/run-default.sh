#!/usr/bin/env bash
# The main job end to end on the default model: install dependencies, fetch SmolLM2-135M-Instruct, build Quanta in
# release mode, show the model and its float perplexity, then the whole loop: quantize (w8a8-int8-static), evaluate
# against float, write the debugger's report, tune the recipe to a budget (ppl <= +3% over float), evaluate the tuned
# model and chat with it. About 15 minutes on 2 cores.
# Text: $QUANTA_TEXT (evaluation) and $QUANTA_CALIB (calibration), else wikitext-2 when it sits beside the repository
# (../shared/data); without either, text the float model writes itself (seeded; evaluation and calibration samples
# from different seeds), and the job says so.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
model=$(bash scripts/fetch-models.sh)
swift build -c release --product quanta
quanta=.build/release/quanta
work=.build/main-job
mkdir -p "$work"
data=../shared/data/wikitext-2
text="${QUANTA_TEXT:-$data/wiki.test.raw}"
calib="${QUANTA_CALIB:-$data/wiki.valid.tokens}"
windows=40
if [ ! -f "$text" ] || [ ! -f "$calib" ]; then
  echo "== wikitext-2 is not beside this clone (and QUANTA_TEXT/QUANTA_CALIB are unset): calibrating and evaluating on"
  echo "   text SmolLM2 writes from seeded prompts (evaluation seeds 1-32, calibration seeds 1001-1016)"
  prompts=("The history of the city" "In physics, the" "The novel begins" "During the war," "The river flows"
           "Scientists discovered that" "The album was released" "In the village there")
  generate() {  # first seed, samples per prompt, file: each prompt's samples decode together as one batch
    : > "$3"
    for ((p = 0; p < ${#prompts[@]}; p++)); do
      "$quanta" generate "$model" --raw --prompt "${prompts[$p]}" --max-tokens 320 --temperature 0.8 \
        --seed $(($1 + p * $2)) --count "$2" >> "$3" 2>/dev/null
    done
  }
  [ -f "$text" ] || { text="$work/generated-eval.txt"; generate 1 4 "$text"; }
  [ -f "$calib" ] || { calib="$work/generated-calib.txt"; generate 1001 2 "$calib"; }
  windows=8
fi
echo "== evaluation text: $text; calibration text: $calib"
"$quanta" info "$model"
echo "== float model"
"$quanta" eval "$model" --text "$text" --seq-len 512 --windows "$windows"
echo "== w8a8-int8-static against float"
"$quanta" quantize "$model" --recipe w8a8-int8-static --calib "$calib" --samples 32 --out "$work/w8a8" --overwrite --allow-requantize
"$quanta" eval "$work/w8a8" --text "$text" --windows "$windows" --reference "$model"
echo "== the debugger's report: $work/report/index.html"
"$quanta" analyze "$model" --recipe w8a8-int8-static --calib "$calib" --samples 32 --no-sensitivity \
  --out "$work/report" --overwrite --allow-requantize
echo "== tune w8a8-int8-static to ppl <= +3% over float"
"$quanta" tune "$model" --recipe w8a8-int8-static --calib "$calib" --samples 32 --eval "$text" --windows "$windows" \
  --screen-windows 4 --rank range --budget 'ppl<=+3%' --out "$work/tuned" --allow-requantize
"$quanta" eval "$work/tuned/model" --text "$text" --windows "$windows" --reference "$model"
echo "== chat with the tuned model"
"$quanta" generate "$work/tuned/model" --prompt "What is the capital of France, and what is it famous for?" --max-tokens 96
