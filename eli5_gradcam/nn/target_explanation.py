"""One target of one document: :class:`GradCAMTarget`, whose eli5 tables are built when read.

An explanation's heatmap is what it computes; the eli5 structures drawn from
it (``feature_weights``: the strongest tokens or positions, ranked;
``weighted_spans``: one highlighted span per token) are *views* of the
heatmap for eli5's formatters.  For a 400-token document they cost as much
as the rest of the explanation's Python work together, and a batch run, a
metric or the Ray runner never reads them.  So they are built the first time
either is read (by a formatter, ``repr``, ``==``, pickling or the user) and
kept; reading them gives exactly what building them eagerly gave.

They are built from the target's ``heatmap`` array as it is when first read:
a heatmap changed in place before that changes them too (assigning a new
array to ``heatmap`` does not).
"""
from __future__ import annotations

import functools
from typing import Any, Callable, List, Optional, Tuple

import numpy as np
from eli5.base import FeatureWeights, TargetExplanation, WeightedSpans

from .features import fewer_feature_weights, ranked_feature_weights
from .text import TokenLayout, token_feature_weights, token_layout, weighted_spans

__all__ = ['GradCAMTarget', 'position_feature_weights', 'text_target', 'position_target',
           'memoised_layout', 'TOP_POSITIONS', 'STRONGEST_TOKENS']

#: How many heatmap positions ``format_as_text`` lists for image/other kinds.
TOP_POSITIONS = 10

#: How many of the strongest tokens eli5's HTML lists above highlighted text.
STRONGEST_TOKENS = 5

#: Builds ``(feature_weights, weighted_spans)``.
Tables = Callable[[], Tuple[FeatureWeights, Optional[WeightedSpans]]]

_FEATURE_WEIGHTS = TargetExplanation.__dict__['feature_weights']
_WEIGHTED_SPANS = TargetExplanation.__dict__['weighted_spans']


def _built_on_read(slot: Any, doc: str) -> property:
    def read(self: 'GradCAMTarget') -> Any:
        self._build_tables()
        return slot.__get__(self, type(self))

    def write(self: 'GradCAMTarget', value: Any) -> None:
        self._build_tables()        # the other table keeps what it would have read
        slot.__set__(self, value)
    return property(read, write, doc=doc)


class GradCAMTarget(TargetExplanation):
    """An :class:`eli5.base.TargetExplanation` whose tables are built when first read.

    Every eli5 formatter takes it as a ``TargetExplanation``; see the module
    docstring.

    Parameters
    ----------
    target, feature_weights, proba, score, weighted_spans, heatmap
        As :class:`eli5.base.TargetExplanation` (``attr.evolve`` and eli5's
        formatters build it as one).
    tables : callable, optional
        Returns ``(feature_weights, weighted_spans)``; called once, on the
        first read of either (``feature_weights`` and ``weighted_spans`` are
        then not given).
    """

    __slots__ = ('_tables',)

    def __init__(self, target: Any, feature_weights: Optional[FeatureWeights] = None,
                 proba: Optional[float] = None, score: Optional[float] = None,
                 weighted_spans: Optional[WeightedSpans] = None,
                 heatmap: Optional[np.ndarray] = None, *,
                 tables: Optional[Tables] = None) -> None:
        TargetExplanation.__init__(self, target, feature_weights, proba, score,
                                   weighted_spans, heatmap)
        self._tables: Optional[Tables] = tables

    def _build_tables(self) -> None:
        tables = getattr(self, '_tables', None)      # unset while __init__ runs, or unpickled
        if tables is not None:
            self._tables = None
            features, spans = tables()
            _FEATURE_WEIGHTS.__set__(self, features)
            _WEIGHTED_SPANS.__set__(self, spans)

    feature_weights = _built_on_read(_FEATURE_WEIGHTS, 'The strongest tokens or positions.')
    weighted_spans = _built_on_read(_WEIGHTED_SPANS, "The tokens' highlighted spans (text).")


def _position_name(index: tuple) -> str:
    if len(index) == 1:
        return f'position {index[0]}'
    if len(index) == 2:
        return f'row {index[0]}, col {index[1]}'
    return f'position {tuple(int(i) for i in index)}'


def position_feature_weights(heatmap: np.ndarray, top: int = TOP_POSITIONS) -> FeatureWeights:
    """The heatmap's strongest positions as eli5 feature weights.

    This gives :func:`eli5.format_as_text`, ``format_as_dataframe`` and the
    HTML table something to list for image and signal explanations: where the
    evidence is, as "row r, col c" of the layer's grid.

    Parameters
    ----------
    heatmap : numpy.ndarray
        A normalised map of any rank.
    top : int
        How many positive and negative positions to list.

    Returns
    -------
    eli5.base.FeatureWeights
    """
    shape = np.shape(heatmap)
    return ranked_feature_weights(
        heatmap, lambda i: _position_name(np.unravel_index(i, shape)), top)


def memoised_layout(tokens: List[str]) -> Callable[[], TokenLayout]:
    """``token_layout(tokens)``, computed on the first call only (one per
    document, shared by its targets)."""
    return functools.lru_cache(maxsize=1)(lambda: token_layout(tokens))


def text_target(label: Any, heatmap: np.ndarray, tokens: List[str],
                layout: Callable[[], TokenLayout], *, proba: Optional[float],
                score: float) -> GradCAMTarget:
    """A text target: its tokens ranked, and each token highlighted."""
    def tables() -> Tuple[FeatureWeights, WeightedSpans]:
        features = token_feature_weights(tokens, heatmap, layout=layout())
        return features, weighted_spans(tokens, heatmap, layout=layout(),
                                        other=fewer_feature_weights(features, STRONGEST_TOKENS))
    return GradCAMTarget(label, proba=proba, score=score, heatmap=heatmap, tables=tables)


def position_target(label: Any, heatmap: np.ndarray, *, proba: Optional[float],
                    score: float) -> GradCAMTarget:
    """An image or signal target: its strongest positions."""
    return GradCAMTarget(label, proba=proba, score=score, heatmap=heatmap,
                         tables=lambda: (position_feature_weights(heatmap), None))
