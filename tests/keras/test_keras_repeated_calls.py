"""Explaining again and again with the Keras adapter: nothing stale, nothing leaked.

Run once per backend, each in its own process.  Interleaved documents and target
requests each get their own answer; new weights are seen; the adapter's caches
keep no model alive; resident memory stays flat over 300 calls, and over
``ELI5_GRADCAM_SOAK`` / 4 rounds (default 50) of the soak test (``slow``;
issue 7).
"""
from __future__ import annotations

import gc
import os

import numpy as np
import pytest

keras = pytest.importorskip('keras')

import eli5  # noqa: E402

from eli5_gradcam.keras import capture_batch, explain_prediction_keras  # noqa: E402
from keras_helpers import seeded_weights, small_cnn  # noqa: E402
from keras_robustness_helpers import image_model, quiet_explain  # noqa: E402

BACKEND = keras.backend.backend()


def test_repeated_calls_reuse_nothing_stale(cnn, image_doc):
    """Interleaved documents and target requests: each call gives its own answer."""
    other = np.random.default_rng(9).random((1, 12, 12, 3)).astype('float32')
    first = {}
    for doc_name, doc in (('a', image_doc), ('b', other)) * 3:
        for request in ({'top_targets': 2}, {'targets': [0]}):
            expl = explain_prediction_keras(cnn, doc, **request)
            maps = [np.asarray(t.heatmap) for t in expl.targets]
            key = (doc_name, str(request))
            if key not in first:
                first[key] = maps
            for seen, now in zip(first[key], maps):
                np.testing.assert_array_equal(seen, now)
    assert not np.allclose(first[('a', "{'targets': [0]}")][0],
                           first[('b', "{'targets': [0]}")][0])


def test_weight_updates_are_seen(image_doc):
    model = seeded_weights(small_cnn(), seed=10)
    first = capture_batch(model, image_doc, targets=[0])
    seeded_weights(model, seed=11)
    second = capture_batch(model, image_doc, targets=[0])
    fresh = capture_batch(seeded_weights(small_cnn(), seed=11), image_doc, targets=[0])
    assert not np.allclose(first.scores, second.scores)
    np.testing.assert_allclose(second.gradients, fresh.gradients, rtol=1e-5, atol=1e-7)


def _rss_bytes():
    with open('/proc/self/statm') as statm:
        import os
        return int(statm.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


def test_memory_stays_flat(cnn, image_doc):
    for _ in range(30):
        explain_prediction_keras(cnn, image_doc)
    gc.collect()
    start = _rss_bytes()
    for _ in range(300):
        explain_prediction_keras(cnn, image_doc)
    gc.collect()
    assert _rss_bytes() - start < 40 * 2 ** 20


def test_cache_does_not_keep_models_alive(image_doc):
    import weakref
    model = seeded_weights(small_cnn(), seed=12)
    explain_prediction_keras(model, image_doc)
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None


# ---- soak ----------------------------------------------------------------------------------

SOAK_CALLS = max(int(os.environ.get('ELI5_GRADCAM_SOAK', '200')) // 4, 10)


@pytest.mark.slow
def test_soak_memory_stays_flat() -> None:
    psutil = pytest.importorskip('psutil')
    model = image_model(seed=6)
    docs = np.random.default_rng(6).random((4, 8, 8, 3)).astype('float32')

    def one(index: int) -> None:
        quiet_explain(model, docs[index % 4:index % 4 + 1], top_targets=2)
        try:
            eli5.explain_prediction(model, docs[:1], targets=[99])
        except ValueError:
            pass
    for index in range(10):
        one(index)
    gc.collect()
    start = psutil.Process().memory_info().rss / 2 ** 20
    for index in range(SOAK_CALLS):
        one(index)
    gc.collect()
    end = psutil.Process().memory_info().rss / 2 ** 20
    print(f'soak ({BACKEND}): {SOAK_CALLS} x 2 calls, RSS {start:.1f} -> {end:.1f} MB '
          f'(growth {end - start:.2f} MB)')
    assert end - start < 20
