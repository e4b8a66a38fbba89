#!/usr/bin/env bash
# The GPU check of issue 14 on the device machine (nvidia-h200: Python 3.12, torch 2.11 CUDA, no
# package index): installs the carried wheels offline, prints the versions and whether every carried
# wheel's requirements are met, then runs benchmarks/gpu_check.py. The JSON and the logs come back
# in $OUT (run here without the tool, they go to benchmarks/results/).
#
# 1. Here, once (19.6 MiB of wheels into .whl/, ignored by git; it prints the total against 64 MiB):
#        .venv/bin/python benchmarks/gpu_check_wheels.py prepare
#    The device sends the checkout the session started in (the integrator's, even from a helper's
#    worktree): merge first, and prepare .whl/ in that checkout.
# 2. One call of the device tool `run`:
#        command:   bash benchmarks/gpu_check.sh
#        carry:     [".whl"]
#        timeout_s: 510
#    The script's own budget is 420 s (budget_s, cut at 450 s); pip and the version check take
#    about half a minute.
#    A rerun inside the same 15 device minutes must be shorter: add arguments, e.g.
#        command:   bash benchmarks/gpu_check.sh --budget_s 240 --lora_7b false
# 3. Copy files_at/gpu_check-<date>-nvidia-h200.json to benchmarks/results/ and commit it; the
#    figures for the closing note are in it and in files_at/gpu_check.log.
#
# If the version check reports datasets' pyarrow >= 24 unmet, the device's pyarrow is too old:
# prepare again with `--with pyarrow --without transformers` (see benchmarks/gpu_check_wheels.py).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-benchmarks/results}"
mkdir -p "$OUT"
PY="${PYTHON:-python3}"

if ! compgen -G ".whl/*.whl" >/dev/null; then
    echo "gpu_check.sh: no wheels in .whl/: run 'python benchmarks/gpu_check_wheels.py prepare' here and carry .whl" >&2
    exit 2
fi
"$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 2
export PYTHONPATH="/tmp/site:$PWD" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false MLAGENT_DATA_DIR=/tmp/mlagent-data

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | tee "$OUT/gpu_check_versions.txt"
# the check runs even when a requirement is reported unmet: the report says which, and an import
# that really fails stops the script in seconds
"$PY" benchmarks/gpu_check_wheels.py check 2>&1 | tee -a "$OUT/gpu_check_versions.txt"

timeout 450 "$PY" benchmarks/gpu_check.py --allow_readable_answers true --out_dir "$OUT" "$@" 2>&1 \
    | tee "$OUT/gpu_check.log"
exit "${PIPESTATUS[0]}"
