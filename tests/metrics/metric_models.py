"""Tiny numpy models with hand-computable answers, shared by the metric tests."""
from __future__ import annotations

import numpy as np


def pixel_reader(row: int, col: int, channels_first: bool = True):
    """``predict`` whose only output is one pixel's first channel: (n, 1)."""
    def predict(batch: np.ndarray) -> np.ndarray:
        pixel = batch[:, 0, row, col] if channels_first else batch[:, row, col, 0]
        return pixel[:, np.newaxis]
    return predict


def token_counter(token: int, classes: int = 2):
    """``predict`` over token ids: output 1 counts ``token``, output 0 is constant 0."""
    def predict(batch: np.ndarray) -> np.ndarray:
        count = (batch == token).sum(axis=1).astype(np.float64)
        return np.stack([np.zeros_like(count), count] + [count * 0] * (classes - 2), axis=1)
    return predict


def rank_map(shape, first) -> np.ndarray:
    """A map without ties whose highest value is at ``first``; then raster order."""
    values = np.arange(np.prod(shape), 0, -1, dtype=np.float64).reshape(shape)
    values[first] = values.max() + 1.0
    return values
