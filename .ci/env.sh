# Shared by .ci/test and .ci/main: create .venv (once) and install optnas into it.
# torch/torchvision resolve to the 2.14.1 / 0.29.1 wheels on this machine's local index.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
EXTRA="${1:-}"
STAMP=".venv/.optnas-installed${EXTRA}"
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".${EXTRA}"
  touch "$STAMP"
fi
export NO_ALBUMENTATIONS_UPDATE=1
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
