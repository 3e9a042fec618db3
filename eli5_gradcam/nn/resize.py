"""Resize maps of any spatial rank: linear interpolation with half-pixel centres.

One rule for every map that changes resolution inside the core: layer maps
resized to the finest layer before they are fused
(:mod:`~eli5_gradcam.nn.fusion`), and Grad-CAM maps brought to the input's
pixels for Guided Grad-CAM (:mod:`~eli5_gradcam.nn.guided`).  The rule is
that of ``torch.nn.functional.interpolate(mode='linear' / 'bilinear' /
'trilinear', align_corners=False)`` and OpenCV's ``INTER_LINEAR``: output
position :math:`j` of :math:`n_{out}` reads input coordinate

.. math:: x = \\max\\big(0, (j + \\tfrac12)\\,\\frac{n_{in}}{n_{out}} - \\tfrac12\\big)

and interpolates linearly between its two neighbours (the last one
repeated past the edge), one axis after the other.  So a cell of the layer's
grid covers the input pixels it was computed from, and the values stay
within the range of the map.
"""
from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np

__all__ = ['resize_linear', 'linear_weights']


def linear_weights(size_in: int, size_out: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Neighbours and weights of each output position along one axis.

    Parameters
    ----------
    size_in, size_out : int
        Positive sizes of the axis before and after resizing.

    Returns
    -------
    (lower, upper, fraction)
        ``(size_out,)`` int indices of the two input neighbours and the float64
        weight of the upper one.
    """
    if size_in < 1 or size_out < 1:
        raise ValueError(f'sizes must be positive; got {size_in} -> {size_out}')
    coordinates = (np.arange(size_out, dtype=np.float64) + 0.5) * (size_in / size_out) - 0.5
    coordinates = np.maximum(coordinates, 0.0)
    lower = np.minimum(np.floor(coordinates).astype(np.int64), size_in - 1)
    upper = np.minimum(lower + 1, size_in - 1)
    return lower, upper, coordinates - lower


def resize_linear(values: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Resize the trailing ``len(shape)`` axes of ``values`` to ``shape``.

    Parameters
    ----------
    values : numpy.ndarray
        ``(..., *spatial)`` maps.
    shape : sequence of int
        The new spatial shape (as many axes as ``spatial``).

    Returns
    -------
    numpy.ndarray
        ``(..., *shape)``, float64.  Axes whose size does not change are
        copied as they are.
    """
    result = np.asarray(values, dtype=np.float64)
    shape = tuple(int(size) for size in shape)
    if not shape or len(shape) > result.ndim:
        raise ValueError(f'shape {shape} does not fit maps of shape {result.shape}')
    first = result.ndim - len(shape)
    for offset, size_out in enumerate(shape):
        axis = first + offset
        size_in = result.shape[axis]
        if size_in == size_out:
            continue
        lower, upper, fraction = linear_weights(size_in, size_out)
        broadcast = [1] * result.ndim
        broadcast[axis] = size_out
        fraction = fraction.reshape(broadcast)
        result = (np.take(result, lower, axis=axis) * (1.0 - fraction)
                  + np.take(result, upper, axis=axis) * fraction)
    return result
