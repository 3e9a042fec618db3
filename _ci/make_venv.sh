#!/usr/bin/env bash
# Create (or reuse) the virtual environment with the pinned stack of
# requirements.txt and this package installed in editable mode.
# Usage: bash _ci/make_venv.sh [VENV_DIR]   (default: .venv)
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-.venv}"
python="${PYTHON:-python3}"
stamp="$venv/.requirements.sha256"
want="$(sha256sum requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)"
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
quiet_pip install --quiet --no-deps --no-build-isolation -e .
echo "$want" > "$stamp"
echo "[make_venv] ready: $venv"
