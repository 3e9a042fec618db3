"""From a 1-D heatmap to weighted tokens that eli5 highlights.

The steps, in order: :func:`resize_heatmap` stretches the layer's sequence
to one value per token; :func:`~.padding.padding_mask` /
:func:`~.padding.strip_padding` drop padding; :func:`weighted_spans` and :func:`token_feature_weights` build eli5's
structures, so that :func:`eli5.format_as_html` colours each token by its
weight and :func:`eli5.format_as_text` lists them.

Every token position is its own feature, named by :func:`token_feature_names`
(a repeated token gets an occurrence suffix, ``'acting [2]'``): eli5's HTML
shares a feature's weight among all spans of that name, so one name for two
positions would colour both with the average of their weights.
"""
from __future__ import annotations

from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
from eli5.base import DocWeightedSpans, FeatureWeights, WeightedSpans
from scipy.interpolate import interp1d

from .features import ranked_feature_weights

__all__ = [
    'INTERPOLATION_KINDS',
    'as_tokens',
    'resize_heatmap',
    'is_char_tokens',
    'token_feature_names',
    'TokenLayout',
    'token_layout',
    'weighted_spans',
    'token_feature_weights',
]

INTERPOLATION_KINDS = ('linear', 'nearest', 'nearest-up', 'zero', 'slinear',
                        'quadratic', 'cubic', 'previous', 'next')


def as_tokens(tokens: object) -> List[str]:
    """Validate ``tokens`` and return them as a flat list of str.

    Parameters
    ----------
    tokens : list or array of str
        One document's tokens, optionally with a leading batch axis of 1.

    Returns
    -------
    list of str
    """
    if isinstance(tokens, (str, bytes)):
        raise TypeError('tokens must be a list or array of str tokens, not a single '
                        'string; split it first (e.g. text.split() or list(text))')
    if isinstance(tokens, (list, tuple)) and tokens and set(map(type, tokens)) == {str}:
        return list(tokens)     # the common case, without an object-array round trip
    try:
        array = np.asarray(tokens, dtype=object)
    except (TypeError, ValueError) as exc:
        raise TypeError(f'tokens must be a list or array of str; got {type(tokens).__name__}'
                        ) from exc
    if array.ndim == 0:
        raise TypeError(f'tokens must be a list or array of str; got {type(tokens).__name__}')
    if array.ndim == 2 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 1:
        raise ValueError('tokens must be 1-D (or (1, n) with a batch axis); '
                         f'got shape {array.shape}')
    if array.size == 0:
        raise ValueError('tokens is empty')
    bad = [t for t in array if not isinstance(t, (str, np.str_))]
    if bad:
        raise TypeError(f'tokens must all be str; got {type(bad[0]).__name__} {bad[0]!r}')
    return [str(t) for t in array]


def resize_heatmap(heatmap: np.ndarray, length: int,
                   interpolation_kind: str = 'linear') -> np.ndarray:
    """Resample a 1-D heatmap to ``length`` values.

    The heatmap's positions are taken as evenly spaced over the sequence and
    interpolated with :class:`scipy.interpolate.interp1d`.

    Parameters
    ----------
    heatmap : numpy.ndarray
        ``(..., positions)``; the last axis is resampled.
    length : int
        Number of values wanted (the number of tokens).
    interpolation_kind : str
        ``kind`` of :class:`~scipy.interpolate.interp1d`: ``'linear'``
        (default), ``'nearest'``, ``'cubic'``, ...

    Returns
    -------
    numpy.ndarray
        ``(..., length)``.
    """
    if interpolation_kind not in INTERPOLATION_KINDS:
        raise ValueError(f'interpolation_kind must be one of {INTERPOLATION_KINDS}; '
                         f'got {interpolation_kind!r}')
    heatmap = np.asarray(heatmap, dtype=np.float64)
    positions = heatmap.shape[-1]
    if positions == length:
        return heatmap.copy()
    if positions == 1:
        return np.repeat(heatmap, length, axis=-1)
    needed = {'quadratic': 3, 'cubic': 4}.get(interpolation_kind, 2)
    kind = interpolation_kind if positions >= needed else 'linear'
    source = np.linspace(0.0, 1.0, positions)
    wanted = np.linspace(0.0, 1.0, length)
    resized = interp1d(source, heatmap, kind=kind, axis=-1)(wanted)
    return np.asarray(resized, dtype=np.float64)


def is_char_tokens(tokens: Sequence[str]) -> bool:
    """Whether ``tokens`` are characters (joined without a separator)."""
    return all(len(token) <= 1 for token in tokens)


def token_feature_names(tokens: Sequence[str]) -> List[str]:
    """One distinct feature name per token position.

    A token's first occurrence is named by the token itself; the k-th
    occurrence of a repeated token is ``'token [k]'``.  eli5 treats spans
    with the same feature name as one feature and divides its weight among
    them, so each position, which carries its own weight, needs its own
    name.  The suffix is bumped past any name already taken (a token that is
    literally ``'token [2]'``), so names never collide.

    Parameters
    ----------
    tokens : sequence of str

    Returns
    -------
    list of str
        ``len(tokens)`` distinct names.

    Examples
    --------
    >>> token_feature_names(['good', 'acting', 'bad', 'acting'])
    ['good', 'acting', 'bad', 'acting [2]']
    """
    if len(set(tokens)) == len(tokens):
        return list(tokens)
    taken = set(tokens)
    occurrences: Dict[str, int] = {}
    names = []
    for token in tokens:
        seen = occurrences.get(token, 0)
        occurrences[token] = seen + 1
        if not seen:
            names.append(token)
            continue
        number = seen + 1
        while f'{token} [{number}]' in taken:
            number += 1
        name = f'{token} [{number}]'
        taken.add(name)
        names.append(name)
    return names


class TokenLayout(NamedTuple):
    """Where each token sits in the joined document (see :func:`token_layout`)."""

    #: The tokens joined (with spaces, or nothing for character tokens).
    document: str
    #: ``(feature name, [(start, end)])`` for every non-empty token.
    pieces: List[Tuple[str, List[Tuple[int, int]]]]
    #: Positions of those tokens in the token list; None when all are kept.
    kept: Optional[List[int]]
    #: :func:`token_feature_names` of all the tokens.
    names: List[str]


def token_layout(tokens: Sequence[str]) -> TokenLayout:
    """Join ``tokens`` into one document and locate each token in it.

    Word tokens are joined with spaces, character tokens without a
    separator.  One layout serves every target of a document.

    Parameters
    ----------
    tokens : sequence of str

    Returns
    -------
    TokenLayout
    """
    lengths = list(map(len, tokens))
    separator = '' if max(lengths, default=0) <= 1 else ' '     # see is_char_tokens
    names = token_feature_names(tokens)
    ends = np.cumsum(lengths) + np.arange(len(lengths)) * len(separator)
    starts = (ends - lengths).tolist()
    if all(lengths):
        pieces = [(name, [where]) for name, where in zip(names, zip(starts, ends.tolist()))]
        return TokenLayout(separator.join(tokens), pieces, None, names)
    kept = [index for index, length in enumerate(lengths) if length]
    pieces = [(names[i], [(starts[i], starts[i] + lengths[i])]) for i in kept]
    return TokenLayout(separator.join(tokens), pieces, kept, names)


def weighted_spans(tokens: Sequence[str], weights: np.ndarray,
                   other: Optional[FeatureWeights] = None,
                   layout: Optional[TokenLayout] = None) -> WeightedSpans:
    """eli5 :class:`~eli5.base.WeightedSpans` highlighting each token.

    Word tokens are joined with spaces, character tokens without a separator.
    Each span is named by :func:`token_feature_names`, so every position is
    coloured by its own weight.

    Parameters
    ----------
    tokens : sequence of str
    weights : numpy.ndarray
        One weight per token (positive and negative both shown).
    other : eli5.base.FeatureWeights, optional
        A small table eli5's HTML shows above the highlighted text, under the
        target's ``y=... (probability ..., score ...)`` header; eli5 prints
        that header only with such a table.
    layout : TokenLayout, optional
        ``token_layout(tokens)``, when already computed for another target.

    Returns
    -------
    eli5.base.WeightedSpans
    """
    if layout is None:
        layout = token_layout(tokens)
    values = np.asarray(weights, np.float64).reshape(-1)
    if layout.kept is not None:
        values = values[layout.kept]
    spans = [piece + (weight,) for piece, weight in zip(layout.pieces, values.tolist())]
    return WeightedSpans([DocWeightedSpans(layout.document, spans=spans,
                                           preserve_density=False)],
                         other=other)


def token_feature_weights(tokens: Sequence[str], weights: np.ndarray,
                          top: int = 20,
                          layout: Optional[TokenLayout] = None) -> FeatureWeights:
    """eli5 :class:`~eli5.base.FeatureWeights`: the tokens ranked by weight.

    Used by :func:`eli5.format_as_text` and :func:`eli5.format_as_dataframe`.
    Features are named by :func:`token_feature_names`, as the spans of
    :func:`weighted_spans` are.

    Parameters
    ----------
    tokens : sequence of str
    weights : numpy.ndarray
    top : int
        How many positive and how many negative tokens to list.
    layout : TokenLayout, optional
        ``token_layout(tokens)``, when already computed: its names are reused.

    Returns
    -------
    eli5.base.FeatureWeights
    """
    names = layout.names if layout is not None else token_feature_names(tokens)
    return ranked_feature_weights(weights, names.__getitem__, top)
