"""eli5 feature weights from a map: its strongest entries, ranked."""
from __future__ import annotations

from typing import Callable

import numpy as np
from eli5.base import FeatureWeight, FeatureWeights

__all__ = ['ranked_feature_weights', 'fewer_feature_weights']


def ranked_feature_weights(weights: np.ndarray, name_of: Callable[[int], str],
                           top: int) -> FeatureWeights:
    """The ``top`` most positive and ``top`` most negative entries of ``weights``.

    Parameters
    ----------
    weights : numpy.ndarray
        Any shape; entries are addressed by their flat index.
    name_of : callable
        Flat index -> feature name (a token, a grid position).
    top : int
        How many positive and how many negative entries to list; the rest
        are counted in ``pos_remaining`` / ``neg_remaining``.

    Returns
    -------
    eli5.base.FeatureWeights
        ``pos`` by decreasing weight, ``neg`` by decreasing magnitude.
    """
    flat = np.asarray(weights, dtype=np.float64).ravel()
    n_positive = int(np.count_nonzero(flat > 0))
    n_negative = int(np.count_nonzero(flat < 0))

    def listed(indices: np.ndarray) -> list:
        return [FeatureWeight(name_of(i), value)
                for i, value in zip(indices.tolist(), flat[indices].tolist())]
    return FeatureWeights(pos=listed(_strongest(flat, min(top, n_positive))),
                          neg=listed(_strongest(-flat, min(top, n_negative), last_first=True)),
                          pos_remaining=max(n_positive - top, 0),
                          neg_remaining=max(n_negative - top, 0))


def _strongest(values: np.ndarray, count: int, last_first: bool = False) -> np.ndarray:
    """Indices of the ``count`` largest ``values``, largest first; equal values by
    position (``last_first``: the later position first).

    The same order as a stable sort of all values, from a partition: the
    ranking costs ``O(n + count log count)``, not ``O(n log n)``.
    """
    if count <= 0:
        return np.zeros(0, dtype=np.intp)
    if count >= values.size:
        candidates = np.arange(values.size)
    else:
        kth = np.partition(values, values.size - count)[values.size - count]
        above = np.flatnonzero(values > kth)
        tied = np.flatnonzero(values == kth)
        tied = tied[::-1] if last_first else tied
        candidates = np.concatenate([above, tied[:count - above.size]])
    positions = -candidates if last_first else candidates
    order = np.lexsort((positions, -values[candidates]))
    return candidates[order][:count]


def fewer_feature_weights(weights: FeatureWeights, top: int) -> FeatureWeights:
    """The first ``top`` positive and negative entries of ranked ``weights``.

    Equal to :func:`ranked_feature_weights` with the smaller ``top``, without
    ranking again.

    Parameters
    ----------
    weights : eli5.base.FeatureWeights
        From :func:`ranked_feature_weights`.
    top : int

    Returns
    -------
    eli5.base.FeatureWeights
    """
    pos, neg = list(weights.pos), list(weights.neg)
    return FeatureWeights(pos=pos[:top], neg=neg[:top],
                          pos_remaining=max(len(pos) + (weights.pos_remaining or 0) - top, 0),
                          neg_remaining=max(len(neg) + (weights.neg_remaining or 0) - top, 0))
