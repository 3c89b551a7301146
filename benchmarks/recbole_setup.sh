#!/usr/bin/env bash
# Create RecBole 1.2.1's own virtual environment, pinned and idempotent.
#
# Usage (from anywhere):   benchmarks/recbole_setup.sh
#   RECBOLE_VENV=/path/to/venv benchmarks/recbole_setup.sh   # another location
#
# Default location: .bench/recbole-venv in the repository root (ignored by git). RecBole needs older
# numpy/pandas than equirec, so it never shares equirec's .venv. Uses plain python3 -m venv + pip.
#
# Order matters: torch is installed FIRST and pinned (torch==2.13.0 resolves to the local CPU wheel;
# an unpinned or other torch pulls a multi-GB CUDA build), then everything else from
# benchmarks/recbole-requirements.txt with --no-deps, so pip can never swap torch for another build.
# Every package is pinned there (a pip freeze of the working environment).
#
# With torch 2.13 RecBole's checkpoint reload needs TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1;
# benchmarks/recbole_run.py sets it itself.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${RECBOLE_VENV:-$ROOT/.bench/recbole-venv}"
REQ="$ROOT/benchmarks/recbole-requirements.txt"
TORCH_PIN="torch==2.13.0"
STAMP="$VENV/.installed"

# Idempotent: done if the stamp matches the current requirements file.
if [ -f "$STAMP" ] && cmp -s "$STAMP" "$REQ"; then
    echo "recbole venv ready: $VENV"
    exit 0
fi
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip)
"${PIP[@]}" install -q "$TORCH_PIN"
"${PIP[@]}" install -q --no-deps -r "$REQ"
"${PIP[@]}" check
"$VENV/bin/python" - <<'PY'
import numpy, pandas, recbole, torch
assert torch.__version__.startswith("2.13.0") and "+cu" not in torch.__version__, torch.__version__
assert recbole.__version__ == "1.2.1" and numpy.__version__ == "1.26.4" and pandas.__version__ == "2.2.3"
print("recbole", recbole.__version__, "torch", torch.__version__, "numpy", numpy.__version__,
      "pandas", pandas.__version__)
PY
cp "$REQ" "$STAMP"
echo "recbole venv ready: $VENV"
