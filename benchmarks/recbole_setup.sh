#!/usr/bin/env bash
# Create RecBole 1.2.1's own virtual environment (idempotent). RecBole needs older numpy/pandas than
# equirec, so it never shares equirec's venv. torch is installed first, pinned, to keep the local
# CPU build (an unpinned torch pulls a multi-GB CUDA build).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${RECBOLE_VENV:-.bench/rb}
TORCH=${TORCH:-torch==2.13.0}
if [ -f "$VENV/.installed" ]; then exit 0; fi
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q "$TORCH"
"$VENV/bin/pip" install -q -r benchmarks/recbole-requirements.txt
touch "$VENV/.installed"
