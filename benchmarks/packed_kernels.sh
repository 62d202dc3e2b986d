#!/usr/bin/env bash
# Packed linear kernels against the float (OpenBLAS) product on SmolLM2-135M's linear shapes, decode (1 row) and
# 512-row prefill, at QUANTA_THREADS (default 2), on KernelPath(s) QUANTA_KERNEL (default: every path the CPU has).
# Runs the printing test PackedKernelBenchmarkTests (not part of `swift test`: it needs QUANTA_PACKED_BENCH=1) and
# writes its output, with the command, machine and commit, to benchmarks/results/packed_kernels.txt.
#     bash benchmarks/packed_kernels.sh            # all paths
#     QUANTA_KERNEL=vnni bash benchmarks/packed_kernels.sh
set -euo pipefail
cd "$(dirname "$0")/.."
flags=(-c release -Xswiftc -enable-testing)
swift build "${flags[@]}" --build-tests >/dev/null
out=benchmarks/results/packed_kernels.txt
{
  echo "# bash benchmarks/packed_kernels.sh (QUANTA_KERNEL=${QUANTA_KERNEL:-all} QUANTA_THREADS=${QUANTA_THREADS:-2}" \
       "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell})"
  echo "# commit $(git rev-parse --short HEAD), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
       "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
  QUANTA_PACKED_BENCH=1 QUANTA_THREADS="${QUANTA_THREADS:-2}" OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-Haswell}" \
    swift test "${flags[@]}" --skip-build --disable-xctest --filter PackedKernelBenchmark 2>&1 |
    grep -vE '^(◇|✔|↳)|^\[[0-9]+/|Test run|passed after'
} | tee "$out"
