"""Which token positions are padding, and dropping them from an explanation.

Padding is found by the pad id in the token ids (``pad_value``) or by the
pad token (``pad_token``), and only at the padded end of the document
(``padding='pre'``/``'post'``, or both ends): a pad-like token inside the
text is kept.  Padding marked by an ``attention_mask`` is read by the
adapters (:func:`~eli5_gradcam.nn.inputs.padding_from_mask`).
"""
from __future__ import annotations

import numbers
from typing import List, Optional, Sequence, Tuple

import numpy as np

__all__ = ['PADDING_SIDES', 'padding_mask', 'strip_padding']

#: Accepted values of ``padding``.
PADDING_SIDES = ('pre', 'post', None)


def padding_mask(tokens: Sequence[str],
                 *,
                 doc: Optional[np.ndarray] = None,
                 pad_value: object = None,
                 pad_token: Optional[str] = None,
                 padding: Optional[str] = None) -> np.ndarray:
    """Which token positions are padding to be removed.

    Padding is recognised by ``pad_value`` in ``doc`` (the token ids) or by
    ``pad_token`` in ``tokens``.  Only the run at the padded end is removed:
    ``padding='post'`` the trailing run, ``'pre'`` the leading run, ``None``
    both, so a pad-like token inside the text is kept.

    Parameters
    ----------
    tokens : sequence of str
    doc : numpy.ndarray, optional
        The document's token ids, one per token (batch axis allowed).
    pad_value : int or float, optional
    pad_token : str, optional
    padding : {'pre', 'post', None}

    Returns
    -------
    numpy.ndarray
        Boolean mask, ``True`` at padding.
    """
    if padding not in PADDING_SIDES:
        raise ValueError(f"padding must be 'pre', 'post' or None; got {padding!r}")
    n_tokens = len(tokens)
    is_pad = np.zeros(n_tokens, dtype=bool)
    if pad_value is not None:
        if isinstance(pad_value, (bool, np.bool_)) or not isinstance(
                pad_value, (numbers.Real, np.number)):
            raise TypeError('pad_value must be a number (the padding token id); got '
                            f'{type(pad_value).__name__} {pad_value!r}')
        if doc is None:
            raise ValueError('pad_value needs the token ids (doc) to find padding')
        ids = np.asarray(doc).reshape(-1)
        if ids.shape[0] != n_tokens:
            raise ValueError(f'pad_value: doc has {ids.shape[0]} positions but tokens '
                             f'has {n_tokens}; they must match to find padding')
        is_pad |= ids == pad_value
    if pad_token is not None:
        if not isinstance(pad_token, str):
            raise TypeError(f'pad_token must be a str; got {type(pad_token).__name__}')
        is_pad |= np.asarray(tokens, dtype=object) == pad_token
    mask = np.zeros(n_tokens, dtype=bool)
    if padding in ('pre', None):
        lead = int(np.argmin(is_pad)) if not is_pad.all() else n_tokens
        mask[:lead] = True
    if padding in ('post', None):
        trail = int(np.argmin(is_pad[::-1])) if not is_pad.all() else n_tokens
        mask[n_tokens - trail:] = True
    return mask


def strip_padding(tokens: Sequence[str], heatmap: np.ndarray,
                  mask: np.ndarray) -> Tuple[List[str], np.ndarray]:
    """Drop the padded positions from ``tokens`` and the last axis of ``heatmap``.

    Parameters
    ----------
    tokens : sequence of str
    heatmap : numpy.ndarray
        ``(..., n_tokens)``.
    mask : numpy.ndarray
        From :func:`padding_mask`.

    Returns
    -------
    tokens, heatmap
    """
    keep = ~np.asarray(mask, dtype=bool)
    return [t for t, k in zip(tokens, keep) if k], np.asarray(heatmap)[..., keep]
