#!/usr/bin/env bash
# Run one test suite in the current environment (tox calls this; so does
# _ci/test.sh, once per suite, each in its own process).
# Usage: bash _ci/suite.sh SUITE [pytest args...]
# Suites: core torch keras-tensorflow keras-torch keras-jax tf-keras notebooks mypy docs bench
#         eli5-conformance ray
set -uo pipefail
cd "$(dirname "$0")/.."
suite="${1:?usage: suite.sh SUITE}"; shift || true
python="${PYTHON_BIN:-python}"
export TF_CPP_MIN_LOG_LEVEL=2 OMP_NUM_THREADS=1 MPLBACKEND=Agg PYTHONHASHSEED=0 HF_HUB_OFFLINE=1
export HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-ci}"

run_pytest() {
    # pytest exits 5 when it collects nothing: that is a failure here, never a pass.
    "$python" -m pytest "$@"
    local rc=$?
    if [ "$rc" -eq 5 ]; then echo "[suite $suite] pytest collected no tests: failing"; fi
    return "$rc"
}

case "$suite" in
    core)             run_pytest tests/nn tests/formatters tests/metrics tests/test_*.py "$@" ;;
    torch)            run_pytest tests/pytorch "$@" ;;
    keras-tensorflow) KERAS_BACKEND=tensorflow run_pytest tests/keras "$@" ;;
    keras-torch)      KERAS_BACKEND=torch run_pytest tests/keras "$@" ;;
    keras-jax)        KERAS_BACKEND=jax run_pytest tests/keras "$@" ;;
    tf-keras)         run_pytest tests/tf_keras "$@" ;;
    notebooks)        run_pytest tests/notebooks "$@" ;;
    ray)              # the Ray Data runner on a local ray.init(num_cpus=2); Keras on TensorFlow
                      KERAS_BACKEND=tensorflow run_pytest tests/ray -p no:logging "$@" ;;
    eli5-conformance) # eli5 0.16's own tests, without and with eli5_gradcam imported; fails on
                      # a test that passes only without it (eli5's Keras code is TensorFlow-only)
                      KERAS_BACKEND=tensorflow "$python" _ci/eli5_conformance.py "$@" ;;
    mypy)             "$python" -m mypy ;;
    bench)            # smoke runs of the benchmark (peers included) and of the quality
                      # comparison (LIME, SHAP), no thresholds asserted
                      bash bench/setup.sh "$(dirname "$(dirname "$(command -v "$python")")")" &&
                      "$python" bench/run.py --quick &&
                      "$python" bench/quality.py --quick ;;
    docs)             "$python" -m sphinx -W --keep-going -q -b html docs docs/_build/html ;;
    *) echo "unknown suite: $suite"; exit 2 ;;
esac
