"""The gradient methods' channel weights and maps, one small function each.

Each takes the chosen layer's ``activations`` ``(batch, *spatial, channels)``
and the target ``gradients`` ``(batch, targets, *spatial, channels)`` (see
:mod:`eli5_gradcam.nn.gradcam`, which names them as ``method=`` values and
turns maps into normalised heatmaps) and returns ``(batch, targets,
channels)`` weights or ``(batch, targets, *spatial)`` maps, in float64.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

__all__ = [
    'XGRADCAM_EPS',
    'gradcam_channel_weights',
    'gradcam_plus_plus_channel_weights',
    'xgradcam_channel_weights',
    'weighted_sum',
    'gradcam_map',
    'gradcam_plus_plus_map',
    'xgradcam_map',
    'layercam_map',
    'hirescam_map',
]

#: Added to each channel's activation sum in XGrad-CAM's denominator, as
#: pytorch-grad-cam does (the paper's equation has no such term).
XGRADCAM_EPS = 1e-7


def _spatial_axes(gradients: np.ndarray) -> Tuple[int, ...]:
    """Spatial axes of a ``(batch, targets, *spatial, channels)`` array."""
    return tuple(range(2, gradients.ndim - 1))


def gradcam_channel_weights(gradients: np.ndarray) -> np.ndarray:
    """Grad-CAM channel weights: the spatial mean of the gradients.

    .. math:: \\alpha^c_k = \\frac{1}{Z} \\sum_{i} \\frac{\\partial y^c}{\\partial A^k_i}

    (Selvaraju et al. 2017, eq. 1, https://arxiv.org/abs/1610.02391).

    Parameters
    ----------
    gradients : numpy.ndarray
        ``(batch, targets, *spatial, channels)``.

    Returns
    -------
    numpy.ndarray
        ``(batch, targets, channels)``.
    """
    # A matrix product with a row of ones, in float64: BLAS sums faster than
    # np.mean with a float64 accumulator (bench/README.rst, "Measurements behind
    # choices in the code").  Not in float32: BLAS may flush float32 subnormals to
    # zero, where float64 keeps them.
    batch, targets, channels = gradients.shape[0], gradients.shape[1], gradients.shape[-1]
    flat = np.asarray(gradients, dtype=np.float64).reshape(batch * targets, -1, channels)
    sums = np.matmul(np.ones((1, flat.shape[1])), flat)[:, 0]
    return sums.reshape(batch, targets, channels) / max(flat.shape[1], 1)


def gradcam_plus_plus_channel_weights(activations: np.ndarray,
                                      gradients: np.ndarray) -> np.ndarray:
    """Grad-CAM++ channel weights, closed form.

    With the exponential score :math:`S^c = \\exp(y^c)` and a piecewise-linear
    network, the higher derivatives are powers of the first one,
    :math:`g = \\partial y^c / \\partial A^k`, and (Chattopadhay et al. 2018,
    eq. 19, https://arxiv.org/abs/1710.11063)

    .. math::
        \\alpha^{kc}_i = \\frac{g_i^2}{2 g_i^2 + \\sum_j A^k_j g_i^3}, \\qquad
        w^c_k = \\sum_i \\alpha^{kc}_i \\, \\mathrm{relu}(g_i)

    where :math:`\\alpha` is 0 where its denominator is 0.  The common factor
    :math:`\\exp(y^c)` of :math:`\\partial S^c/\\partial A` is dropped: it
    scales the whole map and disappears in normalisation.

    Parameters
    ----------
    activations : numpy.ndarray
        ``(batch, *spatial, channels)``.
    gradients : numpy.ndarray
        ``(batch, targets, *spatial, channels)``.

    Returns
    -------
    numpy.ndarray
        ``(batch, targets, channels)``.
    """
    axes = _spatial_axes(gradients)
    activation_sums = activations.sum(axis=tuple(a - 1 for a in axes), keepdims=True)
    activation_sums = activation_sums[:, np.newaxis]     # add the target axis
    squared = gradients ** 2
    denominator = 2.0 * squared + activation_sums * gradients ** 3
    safe = np.where(denominator != 0.0, denominator, 1.0)
    alphas = np.where(denominator != 0.0, squared / safe, 0.0)
    return (alphas * np.maximum(gradients, 0.0)).sum(axis=axes)


def xgradcam_channel_weights(activations: np.ndarray,
                             gradients: np.ndarray) -> np.ndarray:
    """XGrad-CAM channel weights: the gradients averaged with the activations
    as weights.

    .. math::
        \\alpha^c_k = \\sum_i \\frac{A^k_i}{\\sum_j A^k_j + \\epsilon}
                      \\frac{\\partial y^c}{\\partial A^k_i}

    (Fu et al. 2020, "Axiom-based Grad-CAM", https://arxiv.org/abs/2008.02312):
    each position's gradient counts in proportion to the channel's activation
    there.  The paper's weights have no :math:`\\epsilon`; its authors' code
    adds 1e-6 and pytorch-grad-cam's ``XGradCAM`` 1e-7 to the denominator.
    This function adds :data:`XGRADCAM_EPS` (1e-7, pytorch-grad-cam's value),
    so a channel that is zero everywhere gets weight 0; the definitions differ
    only for channels whose activations sum to almost zero.  A channel whose
    denominator is exactly zero gets weight 0.

    Parameters
    ----------
    activations : numpy.ndarray
        ``(batch, *spatial, channels)``.
    gradients : numpy.ndarray
        ``(batch, targets, *spatial, channels)``.

    Returns
    -------
    numpy.ndarray
        ``(batch, targets, channels)``.
    """
    axes = _spatial_axes(gradients)
    denominator = activations.sum(axis=tuple(a - 1 for a in axes)) + XGRADCAM_EPS
    denominator = denominator[:, np.newaxis]             # add the target axis
    numerator = (gradients * activations[:, np.newaxis]).sum(axis=axes)
    safe = np.where(denominator != 0.0, denominator, 1.0)
    return np.where(denominator != 0.0, numerator / safe, 0.0)


def weighted_sum(activations: np.ndarray, channel_weights: np.ndarray) -> np.ndarray:
    """Linear combination of activation maps, :math:`\\sum_k w^c_k A^k`.

    Parameters
    ----------
    activations : numpy.ndarray
        ``(batch, *spatial, channels)``.
    channel_weights : numpy.ndarray
        ``(batch, targets, channels)``.

    Returns
    -------
    numpy.ndarray
        ``(batch, targets, *spatial)``.
    """
    batch, channels = activations.shape[0], activations.shape[-1]
    flat = activations.reshape(batch, -1, channels)            # (B, P, K)
    maps = np.matmul(channel_weights, flat.transpose(0, 2, 1))  # (B, T, P)
    return maps.reshape((batch, channel_weights.shape[1]) + activations.shape[1:-1])


def gradcam_map(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """Grad-CAM map before the ReLU: :math:`\\sum_k \\alpha^c_k A^k`."""
    return weighted_sum(activations, gradcam_channel_weights(gradients))


def gradcam_plus_plus_map(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """Grad-CAM++ map before the ReLU: :math:`\\sum_k w^c_k A^k`."""
    return weighted_sum(activations,
                        gradcam_plus_plus_channel_weights(activations, gradients))


def xgradcam_map(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """XGrad-CAM map before the ReLU: :math:`\\sum_k \\alpha^c_k A^k` with
    the weights of :func:`xgradcam_channel_weights`."""
    return weighted_sum(activations, xgradcam_channel_weights(activations, gradients))


def layercam_map(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """LayerCAM map before the ReLU.

    .. math:: M^c_i = \\sum_k \\mathrm{relu}(g^{kc}_i) \\, A^k_i

    (Jiang et al. 2021, eq. 5-6, https://doi.org/10.1109/TIP.2021.3089943):
    each position keeps its own, positive, gradient as weight.
    """
    return (np.maximum(gradients, 0.0) * activations[:, np.newaxis]).sum(axis=-1)


def hirescam_map(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """HiResCAM map before the ReLU.

    .. math:: M^c_i = \\sum_k g^{kc}_i \\, A^k_i

    (Draelos & Carin 2020, https://arxiv.org/abs/2011.08891): the element-wise
    product of gradients and activations, which, unlike Grad-CAM's spatial
    average, provably reflects the locations the score used.
    """
    return (gradients * activations[:, np.newaxis]).sum(axis=-1)
