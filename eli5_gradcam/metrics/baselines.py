"""What a removed pixel (or token) becomes: the baseline document of a perturbation."""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from scipy.ndimage import gaussian_filter

from .maps import Positions

__all__ = ['BASELINES', 'BLUR_SIGMA', 'BLUR_TRUNCATE', 'baseline_docs']

#: Named baselines: a Gaussian blur of the document, or its mean per channel.
BASELINES = ('blur', 'mean')

#: The blur of RISE (Petsiuk et al. 2018): an 11x11 Gaussian kernel of sigma 5.
BLUR_SIGMA = 5.0

#: Kernel radius in sigmas: ``int(1.0 * 5 + 0.5) = 5``, an 11-wide kernel as RISE's.
BLUR_TRUNCATE = 1.0


def _named(docs: np.ndarray, name: str, positions: Positions) -> np.ndarray:
    if not np.issubdtype(docs.dtype, np.floating):
        raise ValueError(f'baseline={name!r} needs a float document (pixels, a signal); '
                         f'doc has dtype {docs.dtype} (token ids?): pass baseline=<the pad '
                         'or mask id>')
    values = docs.astype(np.float64)
    if name == 'mean':
        return np.broadcast_to(values.mean(axis=positions.axes, keepdims=True), docs.shape)
    sigma = [BLUR_SIGMA if axis in positions.axes else 0.0 for axis in range(docs.ndim)]
    return gaussian_filter(values, sigma=sigma, truncate=BLUR_TRUNCATE, mode='reflect')


def baseline_docs(docs: np.ndarray, baseline: Any, positions: Positions) -> np.ndarray:
    """The documents with every position replaced by the baseline.

    Parameters
    ----------
    docs : numpy.ndarray
        ``(n, ...)`` as the model takes them.
    baseline : {'blur', 'mean'}, number or array
        ``'blur'``: the document blurred over its positions (RISE's 11x11,
        sigma 5 Gaussian; borders reflected); ``'mean'``: each channel's mean;
        a number: a constant (for token ids, the pad or mask id); an array:
        broadcast to the documents' shape.
    positions : Positions
        The axes a map covers (what is blurred / averaged over).

    Returns
    -------
    numpy.ndarray
        The documents' shape and dtype.
    """
    if isinstance(baseline, str):
        if baseline not in BASELINES:
            raise ValueError(f'baseline must be one of {BASELINES}, a number or an array; '
                             f'got {baseline!r}')
        values = _named(docs, baseline, positions)
    elif isinstance(baseline, (numbers.Real, np.number)) and not isinstance(baseline, bool):
        if not np.isfinite(float(baseline)):
            raise ValueError(f'baseline must be finite; got {baseline!r}')
        if np.issubdtype(docs.dtype, np.integer) and not float(baseline).is_integer():
            raise ValueError(f'baseline={baseline!r}: the document holds integers (token '
                             'ids); pass an int id')
        values = np.full(docs.shape, baseline)
    else:
        array = np.asarray(baseline) if baseline is not None else None
        if array is None or not np.issubdtype(array.dtype, np.number):
            raise TypeError(f'baseline must be one of {BASELINES}, a number or an array; got '
                            f'{type(baseline).__name__}')
        try:
            values = np.broadcast_to(array, docs.shape)
        except ValueError as exc:
            raise ValueError(f'baseline has shape {array.shape}, which does not broadcast to '
                             f'the documents\' shape {docs.shape}') from exc
        if not np.isfinite(values).all():
            raise ValueError('baseline holds NaN or infinite values')
    return np.asarray(values).astype(docs.dtype, copy=False)
