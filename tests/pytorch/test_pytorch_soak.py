"""Soak test of the PyTorch adapter (issue 7; ``slow``).

``ELI5_GRADCAM_SOAK`` rounds (default 200) of an image explanation, a text
explanation and a bad argument: the process's resident memory stays flat.
"""
from __future__ import annotations

import gc
import os

import pytest

torch = pytest.importorskip('torch')

import eli5  # noqa: E402

from torch_robustness_helpers import (IDS, IMAGE, TOKENS, TextModel,  # noqa: E402
                                      image_model, quiet_explain)


def _rss_mb() -> float:
    psutil = pytest.importorskip('psutil')
    return float(psutil.Process().memory_info().rss) / 2 ** 20


SOAK_CALLS = int(os.environ.get('ELI5_GRADCAM_SOAK', '200'))


@pytest.mark.slow
def test_soak_memory_stays_flat() -> None:
    model = image_model()
    text = TextModel()
    docs = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(8))

    def one(index: int) -> None:
        quiet_explain(model, docs[index % 4:index % 4 + 1], top_targets=2)
        quiet_explain(text, IDS, tokens=TOKENS)
        try:
            eli5.explain_prediction(model, IMAGE, targets=[99])
        except ValueError:
            pass
    for index in range(20):          # warm-up: plan caches, allocator pools
        one(index)
    gc.collect()
    samples = [_rss_mb()]
    for index in range(SOAK_CALLS):
        one(index)
        if index % 50 == 49:
            gc.collect()
            samples.append(_rss_mb())
    gc.collect()
    samples.append(_rss_mb())
    growth = samples[-1] - samples[0]
    print(f'soak: {SOAK_CALLS} x 3 calls, RSS {samples[0]:.1f} -> {samples[-1]:.1f} MB '
          f'(growth {growth:.2f} MB)')
    assert growth < 20, samples
