"""Score-CAM's input masks: layer maps upsampled onto the documents.

Score-CAM (see :mod:`eli5_gradcam.nn.perturbation`) multiplies the input by
each channel's map of the explained layer, upsampled to the input's spatial
shape and min-max normalised.  This module makes those masks in numpy and
says which axes of the documents the layer's positions map onto; the
adapter only multiplies and runs the model.
"""
from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np

__all__ = ['linear_resize_matrix', 'upsample_maps', 'min_max_masks', 'scorecam_masks',
           'input_spatial_axes', 'mask_shape']


def linear_resize_matrix(source: int, size: int) -> np.ndarray:
    """The ``(size, source)`` matrix of linear interpolation from ``source`` to
    ``size`` samples, with half-pixel centres.

    Output sample :math:`i` reads the source at :math:`s = (i + 1/2)\\,
    \\mathrm{source}/\\mathrm{size} - 1/2`, clamped to the first and last
    samples, between its two neighbours: the convention of
    ``torch.nn.functional.interpolate(mode='linear' / 'bilinear',
    align_corners=False)``, OpenCV's ``resize`` and torchcam; each layer cell
    covers an equal block of the input.  (pytorch-grad-cam's Score-CAM uses
    ``align_corners=True``: it places the first and last cell centres on the
    first and last pixels.)

    Parameters
    ----------
    source, size : int
        Number of samples before and after.

    Returns
    -------
    numpy.ndarray
        Rows sum to 1.
    """
    lower, upper, fraction = _neighbours(source, size)
    matrix = np.zeros((size, source))
    rows = np.arange(size)
    np.add.at(matrix, (rows, lower), 1.0 - fraction)
    np.add.at(matrix, (rows, upper), fraction)
    return matrix


def _neighbours(source: int, size: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each output sample's two source neighbours and its weight on the upper one."""
    position = (np.arange(size) + 0.5) * (source / size) - 0.5
    position = np.clip(position, 0.0, source - 1)
    lower = np.floor(position).astype(np.int64)
    return lower, np.minimum(lower + 1, source - 1), position - lower


def upsample_maps(maps: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """Resize maps by (multi)linear interpolation, one axis at a time.

    Each axis is ``matrix @ values`` with :func:`linear_resize_matrix`, computed
    as a blend of the two neighbours it reads (two non-zero entries per row):
    a few operations per output value.

    Parameters
    ----------
    maps : numpy.ndarray
        ``(..., *spatial)``: the last ``len(size)`` axes are resized.
    size : sequence of int
        The spatial shape wanted.

    Returns
    -------
    numpy.ndarray
        ``(..., *size)``, float64, or float32 for float32 maps.  Bilinear for
        2 axes, linear for 1, with :func:`linear_resize_matrix`'s convention.
    """
    result = np.asarray(maps)
    result = result.astype(np.float32 if result.dtype == np.float32 else np.float64,
                           copy=False)
    ndim = len(size)
    for offset, wanted in enumerate(size):
        axis = result.ndim - ndim + offset
        if result.shape[axis] == wanted:
            continue
        lower, upper, fraction = _neighbours(result.shape[axis], int(wanted))
        shape = [1] * result.ndim
        shape[axis] = int(wanted)
        weight = fraction.astype(result.dtype).reshape(shape)
        below = np.take(result, lower, axis=axis)
        result = below + weight * (np.take(result, upper, axis=axis) - below)
    return result


def min_max_masks(maps: np.ndarray, spatial_ndim: int) -> np.ndarray:
    """Scale each map to [0, 1]: :math:`(M - \\min M) / (\\max M - \\min M)`.

    A constant map (a channel that is the same everywhere, e.g. a dead ReLU)
    carries no location and becomes an all-zero mask.  (pytorch-grad-cam adds
    1e-8 to the denominator instead; the two differ only for maps whose range
    is within a few orders of magnitude of 1e-8.)

    Parameters
    ----------
    maps : numpy.ndarray
        ``(..., *spatial)``.
    spatial_ndim : int
        How many trailing axes are spatial.

    Returns
    -------
    numpy.ndarray
        Same shape, in [0, 1].
    """
    axes = tuple(range(maps.ndim - spatial_ndim, maps.ndim))
    low = maps.min(axis=axes, keepdims=True)
    spread = maps.max(axis=axes, keepdims=True) - low
    return np.where(spread > 0.0, (maps - low) / np.where(spread > 0.0, spread, 1.0), 0.0)


def scorecam_masks(activations: np.ndarray, channels: np.ndarray,
                   size: Sequence[int]) -> np.ndarray:
    """Score-CAM's input masks of one document: each channel's map, upsampled
    to the input, then min-max normalised (the paper's order, as
    pytorch-grad-cam does; torchcam normalises before upsampling).

    Parameters
    ----------
    activations : numpy.ndarray
        ``(*spatial, channels)``: one document's layer output.
    channels : numpy.ndarray
        Indices of the channels to make masks of.
    size : sequence of int
        The input's spatial shape (``len(spatial)`` axes).

    Returns
    -------
    numpy.ndarray
        ``(len(channels), *size)`` float32 in [0, 1].
    """
    maps: np.ndarray = np.moveaxis(np.asarray(activations, dtype=np.float32)[..., channels],
                                   -1, 0)
    largest = float(np.finfo(np.float32).max)
    maps = np.nan_to_num(maps, nan=0.0, posinf=largest, neginf=-largest)
    # each map scaled to [-1, 1] first (min-max scaling ignores it): no overflow below
    axes = tuple(range(1, maps.ndim))
    peak = np.abs(maps).max(axis=axes, keepdims=True)
    maps = maps / np.where(peak > 0.0, peak, 1.0)
    return min_max_masks(upsample_maps(maps, size), len(size)).astype(np.float32)


def input_spatial_axes(shape: Sequence[int], kind: str, channels_first: bool) -> Tuple[int, ...]:
    """The axes of the documents (batch first) that a layer's positions map onto.

    Images: height and width; text given as vectors ``(batch, length,
    features)``: the length; anything else: every axis but the batch and the
    channels (axis 1 for channels-first frameworks, the last one otherwise),
    or axis 1 of a ``(batch, length)`` signal.

    Parameters
    ----------
    shape : sequence of int
    kind : {'image', 'text', 'other'}
    channels_first : bool
        The framework's layout (PyTorch: True, Keras: False).

    Returns
    -------
    tuple of int
    """
    ndim = len(shape)
    if kind == 'text' or ndim == 2:
        return (1,)
    return tuple(range(2, ndim)) if channels_first else tuple(range(1, ndim - 1))


def mask_shape(shape: Sequence[int], axes: Tuple[int, ...], count: int) -> Tuple[int, ...]:
    """Shape of ``count`` masks that broadcast against one document of ``shape``:
    the spatial ``axes`` kept, every other axis 1."""
    return (count,) + tuple(int(shape[axis]) if axis in axes else 1
                            for axis in range(1, len(shape)))
