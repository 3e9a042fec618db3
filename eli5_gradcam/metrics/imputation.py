"""ROAD's noisy linear imputation: removed pixels become the mean of their neighbours.

Rong et al. 2022 (https://arxiv.org/abs/2202.00449): a removed pixel's
value is the weighted mean of its eight neighbours (1/6 for the four direct
ones, 1/12 for the diagonals), known or themselves imputed, which is one
sparse linear system per image, solved for every channel at once; small
Gaussian noise is then added to the imputed values.  Unlike a constant or
a blur, the filled-in region carries no trace of the removal mask's shape,
so the model cannot read the explanation off the perturbation.
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
import scipy.sparse
from scipy.sparse.linalg import spsolve

__all__ = ['NEIGHBOUR_WEIGHTS', 'ROAD_NOISE', 'impute']

#: (row offset, column offset) -> weight, as in the ROAD paper's imputer.
NEIGHBOUR_WEIGHTS: Tuple[Tuple[int, int, float], ...] = (
    (0, 1, 1 / 6), (0, -1, 1 / 6), (1, 0, 1 / 6), (-1, 0, 1 / 6),
    (1, 1, 1 / 12), (1, -1, 1 / 12), (-1, 1, 1 / 12), (-1, -1, 1 / 12))

#: Standard deviation of the noise added to imputed values (the paper's 0.01).
ROAD_NOISE = 0.01


def _system(removed: np.ndarray, values: np.ndarray
            ) -> Tuple[scipy.sparse.csc_matrix, np.ndarray, np.ndarray]:
    """``A x = b`` for the removed pixels; also their flat indices."""
    height, width = removed.shape
    unknown = np.flatnonzero(removed.ravel())
    count = unknown.size
    variable = np.full(height * width, -1, dtype=np.int64)
    variable[unknown] = np.arange(count)
    rows, cols = np.divmod(unknown, width)
    diagonal = np.zeros(count)
    right = np.zeros((count, values.shape[1]))
    entries = []
    for row_offset, col_offset, weight in NEIGHBOUR_WEIGHTS:
        r, c = rows + row_offset, cols + col_offset
        inside = (r >= 0) & (r < height) & (c >= 0) & (c < width)
        me = np.flatnonzero(inside)
        neighbour = r[inside] * width + c[inside]
        diagonal[me] += weight                  # weights of neighbours inside the image
        imputed = variable[neighbour] >= 0
        entries.append((me[imputed], variable[neighbour[imputed]],
                        np.full(int(imputed.sum()), -weight)))
        known = ~imputed
        np.add.at(right, me[known], weight * values[neighbour[known]])
    entries.append((np.arange(count), np.arange(count), diagonal))
    row_index, col_index, data = (np.concatenate(parts) for parts in zip(*entries))
    matrix = scipy.sparse.csc_matrix((data, (row_index, col_index)), shape=(count, count))
    return matrix, right, unknown


def impute(image: np.ndarray, removed: np.ndarray, *, noise: float = ROAD_NOISE,
           rng: Optional[np.random.Generator] = None) -> np.ndarray:
    """Fill the removed pixels of one image by noisy linear imputation.

    Each removed pixel ``p`` satisfies ``sum_q w_q (x_p - x_q) = 0`` over its
    neighbours ``q`` inside the image (weights :data:`NEIGHBOUR_WEIGHTS`),
    for every channel; then ``noise * N(0, 1)`` is added to it.

    Parameters
    ----------
    image : numpy.ndarray
        ``(height, width, channels)`` float.
    removed : numpy.ndarray
        ``(height, width)`` bool: the pixels to impute (not all of them).
    noise : float
        Standard deviation of the added noise (0: none).
    rng : numpy.random.Generator, optional
        For the noise (default: seed 0).

    Returns
    -------
    numpy.ndarray
        A new float64 image.
    """
    height, width = removed.shape
    flat = image.reshape(height * width, -1).astype(np.float64)
    if not removed.any():
        return flat.reshape(image.shape)
    if removed.all():
        raise ValueError('ROAD cannot impute an image with every pixel removed')
    matrix, right, unknown = _system(removed, flat)
    solution = spsolve(matrix, right).reshape(unknown.size, -1)
    if noise:
        generator = rng if rng is not None else np.random.default_rng(0)
        solution = solution + noise * generator.standard_normal(solution.shape)
    flat[unknown] = solution
    return flat.reshape(image.shape)
