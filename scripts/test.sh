#!/usr/bin/env bash
# Runs Quanta's test suite: installs dependencies, fetches the models the real-model tests read, then `swift test`.
# Tests that need the models or ../shared/data find them on their own and are skipped (with a message) without them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/fetch-models.sh >/dev/null
swift build --build-tests
swift test --skip-build --disable-xctest "$@"
