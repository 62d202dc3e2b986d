#!/usr/bin/env bash
# Installs what Quanta needs on Debian: OpenBLAS (dense math), unzip (model wheels), chromium (renders the debugger's
# HTML report in a test), g++ (builds llama.cpp for the GGUF export's interop test). Swift 6.1+ must be on PATH.
set -euo pipefail
command -v swift >/dev/null || { echo "error: swift (6.1 or newer) is not on PATH" >&2; exit 1; }
missing=()
[ -f /usr/include/x86_64-linux-gnu/cblas.h ] || [ -f /usr/include/cblas.h ] || [ -f /usr/include/aarch64-linux-gnu/cblas.h ] || missing+=(libopenblas-dev)
command -v unzip >/dev/null || missing+=(unzip)
command -v python3 >/dev/null || missing+=(python3 python3-pip)
command -v g++ >/dev/null || missing+=(g++)
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# Light Python consumers for the interop tests (real readers of what Quanta writes).
python3 -c "import tokenizers, safetensors, numpy" 2>/dev/null || python3 -m pip install --quiet tokenizers safetensors numpy
# The ONNX export's consumers: onnx (its checker) and onnxruntime (CPU provider) run what Quanta writes.
python3 -c "import onnx, onnxruntime" 2>/dev/null || python3 -m pip install --quiet onnx==1.19.1 onnxruntime==1.23.2
# The GGUF export's consumers: llama.cpp's gguf-py reads the file, llama-cpp-python runs it. llama-cpp-python builds
# llama.cpp from source (cmake and ninja come from PyPI as build requirements): a CPU-only build tuned to this machine,
# about 10 minutes on 2 cores, once.
python3 -c "import gguf" 2>/dev/null || python3 -m pip install --quiet gguf==0.19.0
python3 -c "import llama_cpp" 2>/dev/null || \
  CMAKE_ARGS="-DGGML_NATIVE=ON -DGGML_CUDA=OFF -DGGML_METAL=OFF -DGGML_VULKAN=OFF -DGGML_BLAS=OFF -DLLAMA_CURL=OFF" \
  CMAKE_BUILD_PARALLEL_LEVEL=2 python3 -m pip install --quiet llama-cpp-python==0.3.36
