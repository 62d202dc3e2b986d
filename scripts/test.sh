#!/usr/bin/env bash
# Runs Quanta's test suite: installs dependencies, fetches the models the real-model tests read, then `swift test`.
# Tests that need the models or ../shared/data find them on their own and are skipped (with a message) without them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
python3 scripts/check-imports.py
bash scripts/fetch-models.sh >/dev/null
# Release mode: the real-model tests (40 windows of SmolLM2, the whole of wikitext-2 tokenized) need optimized code.
# -enable-testing lets tests `@testable import` internal reference kernels in an optimized build.
flags=(-c release -Xswiftc -enable-testing)
swift build "${flags[@]}" --build-tests
swift build "${flags[@]}" --product quanta
# OpenBLAS picks Prescott (SSE3) kernels on VMs that hide the CPU model; the quanta binary restarts itself with the
# right core (BLASKernels), the test runner cannot, so it is set here when the CPU has wider vectors.
if [ -z "${OPENBLAS_CORETYPE:-}" ] && [ -r /proc/cpuinfo ]; then
  flags_line=$(grep -m1 '^flags' /proc/cpuinfo || true)
  if [[ " $flags_line " == *" avx512f "* && " $flags_line " == *" avx512bw "* ]]; then export OPENBLAS_CORETYPE=SkylakeX
  elif [[ " $flags_line " == *" avx2 "* ]]; then export OPENBLAS_CORETYPE=Haswell; fi
fi
swift test "${flags[@]}" --skip-build --disable-xctest "$@"
# Fuzz smoke run: every libFuzzer target of Fuzz/ for 5 s on its seed corpus (README "Fuzzing"); any crash, sanitizer
# report, leak, timeout or out-of-memory fails the run. scripts/fuzz.sh stops with an error when the toolchain has no
# libFuzzer/ASan runtime instead of skipping. The first sanitizer build of Fuzz/ takes minutes (see the README).
# Not yet run in CI: its sanitizer build was not timed on a clean clone. Run by hand: bash scripts/fuzz.sh --smoke 5
# FUZZ_BUILD_JOBS=$(nproc) bash scripts/fuzz.sh --smoke 5
