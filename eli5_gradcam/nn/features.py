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
    order = np.argsort(-flat, kind='stable')
    ranked = flat[order]
    positive = order[ranked > 0]
    negative = order[::-1][ranked[::-1] < 0]
    values = flat.tolist()

    def listed(indices: np.ndarray) -> list:
        return [FeatureWeight(name_of(i), values[i]) for i in indices[:top].tolist()]
    return FeatureWeights(pos=listed(positive), neg=listed(negative),
                          pos_remaining=max(len(positive) - top, 0),
                          neg_remaining=max(len(negative) - top, 0))


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
