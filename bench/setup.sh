#!/usr/bin/env bash
# Install the benchmark's peers into a virtual environment that already has the
# repository's requirements (default: the .venv made by _ci/make_venv.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-.venv}"
quiet_pip() {
    { "$venv/bin/python" -m pip "$@"; } 2>&1 | { grep -v 'is ignored: it is neither a file nor a directory' || true; }
}
quiet_pip install --quiet -r bench/requirements.txt
# --no-deps: pytorch-grad-cam declares torchvision, which cannot be installed beside
# this torch. Same pin as _ci/make_venv.sh, which already installs it for the tests
# (then this line is a no-op); kept for venvs made otherwise (tox's bench env).
quiet_pip install --quiet --no-deps grad-cam==1.5.7
