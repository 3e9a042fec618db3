#!/usr/bin/env bash
# Create (or reuse) the virtual environment with the pinned stack of
# requirements.txt and this package installed in editable mode.
# Usage: bash _ci/make_venv.sh [VENV_DIR]   (default: .venv)
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-.venv}"
python="${PYTHON:-python3}"
stamp="$venv/.requirements.sha256"
# Test-only packages installed with --no-deps after requirements.txt, because
# their declared dependencies cannot be installed here: pytorch-grad-cam (the
# oracle of tests/pytorch/test_pytorch_methods_oracle.py) declares torchvision,
# which cannot import beside the CPU torch wheel; its other dependencies
# (ttach, opencv-python-headless, ...) are pinned in requirements.txt.  quantus (the
# oracle of tests/metrics/test_pointing.py) declares opencv-python, which would clash
# with opencv-python-headless; its other dependency, cachetools, is pinned there too.
# bench/setup.sh installs the same pin for venvs not made here.
no_deps=(grad-cam==1.5.7 quantus==0.6.0)
want="$({ sha256sum requirements.txt pyproject.toml; echo "no-deps: ${no_deps[*]}"; } | sha256sum | cut -d' ' -f1)"
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "[make_venv] reusing $venv"
    exit 0
fi
echo "[make_venv] creating $venv with $("$python" --version 2>&1)"
"$python" -m venv "$venv"
quiet_pip() {
    # pip warns once per package about this machine's absent local index mirrors: drop that noise.
    { "$venv/bin/python" -m pip "$@"; } 2>&1 | { grep -v 'is ignored: it is neither a file nor a directory' || true; }
}
quiet_pip install --quiet --upgrade pip
quiet_pip install --quiet -r requirements.txt
quiet_pip install --quiet --no-deps "${no_deps[@]}"
# setuptools announces every editable install of a flat layout with a warning banner
# ("Editable installation. Please be careful with folders in your working directory
# ..."); it carries no news for this project: drop that one warning.
PYTHONWARNINGS="ignore:Editable installation.:UserWarning" \
    quiet_pip install --quiet --no-deps --no-build-isolation -e .
echo "$want" > "$stamp"
echo "[make_venv] ready: $venv"
