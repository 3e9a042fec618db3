"""The same PyTorch model explained from several threads at once (issue 7).

Four threads explaining one model (with dropout, in train mode) give exactly
the sequential results and leave the model as it was; the adapter's temporary
hooks ignore the forward passes a user runs in another thread meanwhile.
"""
from __future__ import annotations

import concurrent.futures
from typing import List, Optional

import numpy as np
import pytest

torch = pytest.importorskip('torch')

from torch import nn  # noqa: E402

from torch_robustness_helpers import (IMAGE, assert_same_full_state,  # noqa: E402
                                      full_state, image_model, quiet_explain)


def test_same_model_from_four_threads_equals_sequential() -> None:
    torch.manual_seed(5)
    model = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.Dropout(0.5),
                          nn.Conv2d(6, 6, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Linear(6, 4)).train()
    docs = [torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(i))
            for i in range(24)]

    def explain(index: int) -> np.ndarray:
        expl = quiet_explain(model, docs[index], targets=[index % 4], relu=False)
        return np.stack([t.heatmap for t in expl.targets])
    sequential = [explain(i) for i in range(len(docs))]
    before = full_state(model)
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(explain, range(len(docs))))
    for got, want in zip(threaded, sequential):
        np.testing.assert_array_equal(got, want)
    assert_same_full_state(before, full_state(model))
    assert all(module.training for module in model.modules())


def test_user_forward_in_another_thread_is_not_hijacked() -> None:
    """Our temporary hooks ignore forward passes that other threads run meanwhile."""
    model = image_model()
    doc = IMAGE.clone().requires_grad_(True)
    gradients_seen: List[Optional[torch.Tensor]] = []

    def user_training_step() -> None:
        for _ in range(20):
            output = model(doc).sum()
            (gradient,) = torch.autograd.grad(output, doc)
            gradients_seen.append(gradient)

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        user = pool.submit(user_training_step)
        explained = [pool.submit(quiet_explain, model, IMAGE) for _ in range(20)]
        user.result()
        for future in explained:
            future.result()
    assert all(g is not None and g.abs().sum() > 0 for g in gradients_seen)
