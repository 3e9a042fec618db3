#!/usr/bin/env bash
# The whole test suite on a fresh machine: builds .venv from requirements.txt,
# then runs every suite in its own process (Keras picks its backend once per
# process).  Exits non-zero if any suite fails.
# Usage: bash _ci/test.sh [SUITE...]
set -uo pipefail
cd "$(dirname "$0")/.."
bash _ci/make_venv.sh .venv || { echo "[test] could not build .venv"; exit 1; }
export PATH="$PWD/.venv/bin:$PATH" PYTHON_BIN="$PWD/.venv/bin/python"

# A suite runs when its tests exist; an adapter issue adds its directory.
all=(core mypy eli5-conformance)
[ -d tests/pytorch ] && all+=(torch)
[ -d tests/keras ] && all+=(keras-tensorflow keras-torch keras-jax)
[ -d tests/tf_keras ] && all+=(tf-keras)
[ -d tests/notebooks ] && all+=(notebooks)
[ -d tests/ray ] && all+=(ray)
[ -f docs/conf.py ] && all+=(docs)
[ -f bench/run.py ] && all+=(bench)
if [ "$#" -gt 0 ]; then suites=("$@"); else suites=("${all[@]}"); fi

failed=()
for suite in "${suites[@]}"; do
    echo "================ suite: $suite ================"
    start=$SECONDS
    if bash _ci/suite.sh "$suite"; then
        echo "[test] $suite passed in $((SECONDS - start))s"
    else
        echo "[test] $suite FAILED in $((SECONDS - start))s"
        failed+=("$suite")
    fi
done
echo "================ summary ================"
echo "suites run: ${suites[*]}"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "FAILED suites: ${failed[*]}"
    exit 1
fi
echo "all suites passed"
