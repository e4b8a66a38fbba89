#!/usr/bin/env bash
# Creates .venv (if missing) and installs the project with its test dependencies. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
quiet() { grep -v "^WARNING: Location" || true; }
# torch first, pinned: a bare torch requirement would pull a multi-GB CUDA build
.venv/bin/python -m pip install -q --disable-pip-version-check "torch==2.13.0" 2>&1 | quiet
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev,tasks,train,ray]" 2>&1 | quiet
.venv/bin/python -c "import mlagent_env, torch, pytest" >/dev/null
