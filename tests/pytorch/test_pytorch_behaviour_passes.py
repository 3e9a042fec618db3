"""Behaviour of the gradient-free methods on the trained localisation sets of
``test_pytorch_behaviour.py``: the map peaks on the deciding shape / word.

Each model is trained once (seeded, a few seconds on one CPU thread) and
explained by every method; the hit rate is printed (``pytest -s``).
"""
from __future__ import annotations

from typing import Any, Dict

import numpy as np
import pytest

torch = pytest.importorskip('torch')

from torch import nn  # noqa: E402

from eli5_gradcam import explain_predictions  # noqa: E402
from test_pytorch_behaviour import SHAPE, SIDE, _images, _sentences, _train  # noqa: E402
from torch_architectures import TextCNN  # noqa: E402

HELD_OUT = 100
#: method -> (options, least hits out of HELD_OUT); the measured rates are printed
IMAGE_METHODS: Dict[str, Any] = {
    'scorecam': ({}, 90),
    'faster scorecam (4 of 16 maps)': ({'method': 'scorecam', 'scorecam_maps': 4}, 85),
    'ablationcam': ({}, 90),
    'eigencam': ({}, 85),
}


@pytest.fixture(scope='module')
def image_model() -> Any:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
                          nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(16, 2))
    images, labels, _ = _images(800, rng)
    _train(model, images, labels, epochs=6)
    test_images, test_labels, corners = _images(HELD_OUT, rng)
    with torch.no_grad():
        accuracy = (model(test_images).argmax(1) == test_labels).float().mean().item()
    assert accuracy > 0.95
    return model, test_images, corners


@pytest.mark.parametrize('name', list(IMAGE_METHODS))
def test_heatmap_peaks_on_the_deciding_shape(name: str, image_model: Any) -> None:
    model, images, corners = image_model
    options, least = IMAGE_METHODS[name]
    options = {'method': name, **options}
    hits = 0
    for expl, (row, col) in zip(explain_predictions(model, images, batch_size=HELD_OUT,
                                                    progress=False, **options), corners):
        heatmap = expl.targets[0].heatmap
        assert heatmap.shape == (SIDE // 2, SIDE // 2)
        cell_row, cell_col = np.unravel_index(np.argmax(heatmap), heatmap.shape)
        # the layer's cell covers 2x2 pixels: it must overlap the stamp
        hits += int(row - 2 < 2 * cell_row < row + SHAPE and col - 2 < 2 * cell_col < col + SHAPE)
    print(f'PyTorch {name}: localisation {hits}/{HELD_OUT}')
    assert hits >= least, hits


def test_planted_word_gets_the_highest_ablation_weight() -> None:
    torch.manual_seed(0)
    rng = np.random.default_rng(1)
    model = TextCNN(vocab=40, dim=16, channels=16, classes=2, kernel=1)
    ids, labels, _ = _sentences(1000, rng)
    _train(model, ids, labels, epochs=5)
    vocabulary = ['awful', 'great'] + ['w%d' % i for i in range(2, 40)]
    test_ids, _, where = _sentences(HELD_OUT, rng)
    tokens = [[vocabulary[i] for i in sentence] for sentence in test_ids]
    hits = 0
    for expl, position in zip(explain_predictions(model, test_ids, tokens=tokens,
                                                  batch_size=HELD_OUT, progress=False,
                                                  method='ablationcam'), where):
        spans = expl.targets[0].weighted_spans.docs_weighted_spans[0].spans
        weights = np.array([weight for _, _, weight in spans])
        hits += int(int(np.argmax(weights)) == position)
    print(f'PyTorch ablationcam: planted word {hits}/{HELD_OUT}')
    assert hits >= 90, hits
