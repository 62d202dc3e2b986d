#!/usr/bin/env bash
# Runs Quanta's libFuzzer targets (Fuzz/, a separate SwiftPM package built with -sanitize=fuzzer,address).
#   scripts/fuzz.sh TARGET SECONDS [libFuzzer args...]   one target, on a scratch copy of Fuzz/Corpus/TARGET
#   scripts/fuzz.sh --smoke [SECONDS]                     every target for SECONDS (default 5); non-zero on a finding
#   scripts/fuzz.sh --list                                the targets
#   scripts/fuzz.sh --seeds                               rewrites the synthetic seeds of Fuzz/Corpus (make-fuzz-seeds)
# A crash, sanitizer report, leak, timeout (-timeout=10) or out-of-memory (-rss_limit_mb=2048) stops libFuzzer with
# a non-zero status and leaves the input as Fuzz/findings/<target>/crash-*, oom-*, timeout-* or leak-*.
# FUZZ_NICE=1 runs the build and the fuzzer under `nice -n 10`; FUZZ_SKIP_BUILD=1 runs what is already built.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

targets=(gguf safetensors safetensors-index tokenizer-json tokenizer-encode chat-template recipe saved-folder
  compressed-tensors onnx)
# Largest input per target, in bytes: a little above the largest seed, so mutations can grow it.
declare -A max_len=(
  [gguf]=65536 [safetensors]=16384 [safetensors-index]=16384 [tokenizer-json]=32768 [tokenizer-encode]=4096
  [chat-template]=4096 [recipe]=8192 [saved-folder]=65536 [compressed-tensors]=65536 [onnx]=65536
)
nice_cmd=()
[ "${FUZZ_NICE:-0}" = 1 ] && nice_cmd=(nice -n 10)

# Stops with a message when the toolchain lacks libFuzzer or ASan's runtime: CI must not skip the fuzzers silently.
check_runtime() {
  local resource
  resource=$(swiftc -print-target-info | python3 -c 'import json, sys; print(json.load(sys.stdin)["paths"]["runtimeResourcePath"])')
  for lib in fuzzer asan; do
    if ! compgen -G "$resource/clang/lib/*/libclang_rt.${lib}[-_]*" >/dev/null; then
      echo "error: no libclang_rt.$lib runtime under $resource/clang/lib: this Swift toolchain cannot build the fuzzers" >&2
      exit 3
    fi
  done
}

build() {
  [ "${FUZZ_SKIP_BUILD:-0}" = 1 ] && return 0
  check_runtime
  # gold, the default linker here, stops with an internal error on the larger targets; lld links them.
  (cd Fuzz && "${nice_cmd[@]}" swift build -c release -j "${FUZZ_BUILD_JOBS:-1}" --scratch-path .build \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -use-ld=lld)
}

binary() { echo "$root/Fuzz/.build/release/fuzz-$1"; }

# run TARGET SECONDS [args...]: prints libFuzzer's final stats; returns libFuzzer's status.
run() {
  local target=$1 seconds=$2
  shift 2
  [ -n "${max_len[$target]:-}" ] || { echo "error: unknown target '$target' (scripts/fuzz.sh --list)" >&2; return 2; }
  local work findings
  work=$(mktemp -d "${TMPDIR:-/tmp}/quanta-fuzz-$target.XXXXXX")
  findings="$root/Fuzz/findings/$target"
  mkdir -p "$findings" "$work/corpus" "$work/tmp"
  cp "$root/Fuzz/Corpus/$target/"* "$work/corpus/"
  local status=0
  # -print_final_stats prints stat::number_of_executed_units and friends; the log keeps everything else.
  # TMPDIR: the targets' scratch files (FuzzScratch) go under the work folder and leave with it.
  # SWIFT_BACKTRACE: Swift's crash handler and ASan's fight over a crash (the handler reads ASan's shadow gap);
  # libFuzzer's own report is the one wanted.
  # LSAN_OPTIONS: a leak inside Foundation itself, explained in the suppressions file.
  (cd "$work" && LSAN_OPTIONS="suppressions=$root/Fuzz/lsan-suppressions.txt" SWIFT_BACKTRACE=enable=no TMPDIR="$work/tmp" "${nice_cmd[@]}" "$(binary "$target")" corpus -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -max_len="${max_len[$target]}" -detect_leaks=1 -print_final_stats=1 \
    -artifact_prefix="$findings/" "$@" >"$work/log" 2>&1) || status=$?
  grep -E '^(stat::|Done|#[0-9]+.*DONE)' "$work/log" | sed "s/^/$target: /" || true
  if [ "$status" -ne 0 ]; then
    echo "$target: FINDING (libFuzzer exit $status); log: $work/log; input under $findings/" >&2
    grep -E 'ERROR|Fatal error|SUMMARY|panic|deadly' "$work/log" | head -5 >&2 || true
  else
    rm -rf "$work"
    rmdir "$findings" 2>/dev/null || true
  fi
  return "$status"
}

case "${1:-}" in
  --list) printf '%s\n' "${targets[@]}" ;;
  --seeds)
    build
    # The seed writer is built with the same sanitizers; leaks at its exit are not findings.
    SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 "$root/Fuzz/.build/release/make-fuzz-seeds" "$root/Fuzz/Corpus" \
      "${HOME}/.cache/quanta/models/SmolLM2-135M-Instruct.Q4_1.gguf"
    ;;
  --smoke)
    seconds=${2:-5}
    start=$(date +%s)
    build
    echo "fuzz build: $(( $(date +%s) - start )) s"
    failed=()
    for target in "${targets[@]}"; do run "$target" "$seconds" || failed+=("$target"); done
    echo "fuzz smoke: ${#targets[@]} targets x ${seconds} s in $(( $(date +%s) - start )) s"
    if [ "${#failed[@]}" -gt 0 ]; then echo "error: findings in: ${failed[*]}" >&2; exit 1; fi
    ;;
  ""|-h|--help) sed -n '2,9p' "$0"; exit 2 ;;
  *)
    [ $# -ge 2 ] || { sed -n '2,9p' "$0"; exit 2; }
    build
    run "$@"
    ;;
esac
