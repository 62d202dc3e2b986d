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
swift test "${flags[@]}" --skip-build --disable-xctest "$@"
