#!/usr/bin/env bash
# The main job on a fresh machine: build .venv, then run the demo.
# Usage: bash _ci/demo.sh [OUTPUT_DIR]   (default: demo-output)
set -euo pipefail
cd "$(dirname "$0")/.."
bash _ci/make_venv.sh .venv
export TF_CPP_MIN_LOG_LEVEL=2
exec .venv/bin/eli5-gradcam demo --output "${1:-demo-output}"
