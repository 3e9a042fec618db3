"""Reference maps, so that every number has something to be compared with.

A metric's value means little alone: a deletion AUC of 0.2 is good for a
confident model only if a map that knows nothing does worse.  Score these
the same way as the explanation:

* :func:`random_map`: uniform noise (an explanation that knows nothing);
* :func:`centre_map`: a Gaussian bump in the middle (photographers centre
  their subject, so "look at the middle" is a strong prior on photos).
"""
from __future__ import annotations

import numbers
from typing import Any, Sequence, Tuple

import numpy as np

__all__ = ['random_map', 'centre_map', 'CENTRE_SIGMA']

#: The centre map's standard deviation, as a fraction of each side.
CENTRE_SIGMA = 0.25


def _shape(shape: Any) -> Tuple[int, ...]:
    if isinstance(shape, (numbers.Integral, np.integer)) and not isinstance(shape, bool):
        shape = (int(shape),)
    if isinstance(shape, (str, bytes)) or not isinstance(shape, (Sequence, np.ndarray)) or (
            len(shape) not in (1, 2)) or not all(
                isinstance(s, (numbers.Integral, np.integer)) and not isinstance(s, bool)
                for s in shape):
        raise TypeError(f'shape must be (height, width) or (length,) ints; got {shape!r}')
    if any(int(s) < 1 for s in shape):
        raise ValueError(f'shape must be positive; got {tuple(shape)}')
    return tuple(int(s) for s in shape)


def random_map(shape: Any, *, seed: int = 0) -> np.ndarray:
    """A map of independent uniform values in [0, 1): the no-knowledge reference.

    Parameters
    ----------
    shape : (height, width) or (length,)
    seed : int

    Returns
    -------
    numpy.ndarray
        float64.
    """
    return np.random.default_rng(seed).random(_shape(shape))


def centre_map(shape: Any, *, sigma: float = CENTRE_SIGMA) -> np.ndarray:
    """A Gaussian centred on the document: the centre-bias reference.

    ``exp(-sum_i ((x_i - c_i) / (sigma * side_i))^2 / 2)``, peak 1 in the middle.

    Parameters
    ----------
    shape : (height, width) or (length,)
    sigma : float
        Standard deviation as a fraction of each side (default 0.25).

    Returns
    -------
    numpy.ndarray
        float64.
    """
    size = _shape(shape)
    if isinstance(sigma, bool) or not isinstance(sigma, (numbers.Real, np.number)) or (
            not sigma > 0):
        raise ValueError(f'sigma must be a positive number; got {sigma!r}')
    grids = np.meshgrid(*[(np.arange(side) - (side - 1) / 2.0) / (sigma * side)
                          for side in size], indexing='ij')
    return np.exp(-0.5 * sum(grid ** 2 for grid in grids))
