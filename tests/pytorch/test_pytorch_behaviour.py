"""Behaviour: small models trained in the test look where the evidence is.

Seeded, a few seconds each on one CPU thread.
"""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip('torch')

from torch import nn  # noqa: E402

from eli5_gradcam.pytorch import explain_prediction_pytorch  # noqa: E402
from torch_architectures import TextCNN  # noqa: E402

SIDE, SHAPE = 24, 5


def _shape(kind: int) -> np.ndarray:
    """5x5 stamps: 0 a plus, 1 a hollow square."""
    stamp = np.zeros((SHAPE, SHAPE), dtype=np.float32)
    if kind == 0:
        stamp[SHAPE // 2, :] = stamp[:, SHAPE // 2] = 1.0
    else:
        stamp[0, :] = stamp[-1, :] = stamp[:, 0] = stamp[:, -1] = 1.0
    return stamp


def _images(count: int, rng: np.random.Generator):
    images = rng.normal(0.0, 0.15, size=(count, 1, SIDE, SIDE)).astype(np.float32)
    labels = rng.integers(0, 2, size=count)
    corners = rng.integers(0, SIDE - SHAPE + 1, size=(count, 2))
    for image, label, (row, col) in zip(images, labels, corners):
        image[0, row:row + SHAPE, col:col + SHAPE] += _shape(int(label))
    return torch.from_numpy(images), torch.from_numpy(labels), corners


def _train(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor, epochs: int,
           lr: float = 0.01) -> None:
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(inputs), generator=generator)
        for start in range(0, len(inputs), 32):
            batch = order[start:start + 32]
            optimiser.zero_grad()
            nn.functional.cross_entropy(model(inputs[batch]), labels[batch]).backward()
            optimiser.step()
    model.eval()


def test_cnn_heatmap_peaks_on_the_deciding_shape() -> None:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
                          nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(16, 2))
    images, labels, _ = _images(800, rng)
    _train(model, images, labels, epochs=6)
    test_images, test_labels, corners = _images(100, rng)
    with torch.no_grad():
        accuracy = (model(test_images).argmax(1) == test_labels).float().mean().item()
    assert accuracy > 0.95
    hits = 0
    for image, (row, col) in zip(test_images, corners):
        heatmap = explain_prediction_pytorch(model, image[None]).targets[0].heatmap
        assert heatmap.shape == (SIDE // 2, SIDE // 2)
        cell_row, cell_col = np.unravel_index(np.argmax(heatmap), heatmap.shape)
        # the layer's cell covers 2x2 pixels: it must overlap the stamp
        hits += int(row - 2 < 2 * cell_row < row + SHAPE and col - 2 < 2 * cell_col < col + SHAPE)
    assert hits >= 90, hits


def _sentences(count: int, rng: np.random.Generator, length: int = 10):
    ids = rng.integers(2, 40, size=(count, length))
    labels = rng.integers(0, 2, size=count)
    where = rng.integers(0, length, size=count)
    ids[np.arange(count), where] = labels           # word 0 -> class 0, word 1 -> class 1
    return torch.from_numpy(ids), torch.from_numpy(labels), where


def test_planted_word_gets_the_highest_weight() -> None:
    torch.manual_seed(0)
    rng = np.random.default_rng(1)
    # kernel 1: each position's feature sees its own word (with kernel 3 the peak
    # lands on the word or the one before it, the receptive field's doing)
    model = TextCNN(vocab=40, dim=16, channels=16, classes=2, kernel=1)
    ids, labels, _ = _sentences(1000, rng)
    _train(model, ids, labels, epochs=5)
    vocabulary = ['awful', 'great'] + ['w%d' % i for i in range(2, 40)]
    test_ids, test_labels, where = _sentences(100, rng)
    hits = 0
    for sentence, position in zip(test_ids, where):
        tokens = [vocabulary[i] for i in sentence]
        expl = explain_prediction_pytorch(model, sentence[None], tokens=tokens)
        spans = expl.targets[0].weighted_spans.docs_weighted_spans[0].spans
        weights = np.array([weight for _, _, weight in spans])
        hits += int(int(np.argmax(weights)) == position)
    assert hits >= 90, hits
