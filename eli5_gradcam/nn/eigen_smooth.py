"""``smooth='eigen'``: the first principal component of a method's channel terms.

Every gradient method here is a sum over channels of per-channel terms
:math:`T^{c}_{ik}` ("weights x activations"):

====================  ======================================================
method                :math:`T^c_{ik}`
====================  ======================================================
``gradcam``           :math:`\\alpha^c_k A^k_i` (spatial mean of the gradients)
``gradcam++``         :math:`w^c_k A^k_i` (Grad-CAM++ weights)
``xgradcam``          :math:`\\alpha^c_k A^k_i` (XGrad-CAM weights)
``layercam``          :math:`\\mathrm{relu}(g^{kc}_i) A^k_i`
``hirescam``          :math:`g^{kc}_i A^k_i`
``guided-gradcam``    as ``gradcam`` (the layer part of Guided Grad-CAM)
====================  ======================================================

Eigen smoothing replaces the channel sum :math:`\\sum_k T^c_{ik}` by the
projection of the ``(positions, channels)`` matrix :math:`T^c`, centred, on
its first principal direction, as pytorch-grad-cam's ``eigen_smooth=True``
does (``get_2d_projection`` of the weighted activations).  The projection
keeps the part of the map that the channels agree on and drops the
uncorrelated rest (noise).  Its sign is fixed by
:func:`~eli5_gradcam.nn.methods_eigen.first_principal_projection`: it
correlates positively with the channel sum, that is with the unsmoothed
map, where pytorch-grad-cam keeps whichever sign the SVD returns.

``hirescam`` with ``smooth='eigen'`` is therefore EigenGrad-CAM.  Eigen-CAM
and EigenGrad-CAM are principal components already, and guided
backpropagation has no channel terms: they do not take ``smooth='eigen'``.
"""
from __future__ import annotations

from typing import Callable, Dict

import numpy as np

from .gradcam import (gradcam_channel_weights, gradcam_plus_plus_channel_weights,
                      resolve_method, xgradcam_channel_weights)
from .methods_eigen import first_principal_projection

__all__ = ['CONTRIBUTIONS', 'channel_terms', 'eigen_smooth_heatmaps']

TermFunction = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _weighted(channel_weights: np.ndarray, activations: np.ndarray) -> np.ndarray:
    """``(B, T, *spatial, K)`` terms of ``(B, T, K)`` weights and ``(B, *spatial, K)``."""
    spatial_ndim = activations.ndim - 2
    weights = channel_weights.reshape(channel_weights.shape[:2] + (1,) * spatial_ndim
                                      + channel_weights.shape[2:])
    return weights * activations[:, np.newaxis]


def _gradcam_terms(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    return _weighted(gradcam_channel_weights(gradients), activations)


def _gradcam_plus_plus_terms(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    return _weighted(gradcam_plus_plus_channel_weights(activations, gradients), activations)


def _xgradcam_terms(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    return _weighted(xgradcam_channel_weights(activations, gradients), activations)


def _layercam_terms(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    return np.maximum(gradients, 0.0) * activations[:, np.newaxis]


def _hirescam_terms(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    return gradients * activations[:, np.newaxis]


#: The per-channel terms of each method that takes ``smooth='eigen'``; the
#: channel sum of each is the method's map (:data:`~eli5_gradcam.nn.gradcam.METHODS`).
CONTRIBUTIONS: Dict[str, TermFunction] = {
    'gradcam': _gradcam_terms,
    'gradcam++': _gradcam_plus_plus_terms,
    'xgradcam': _xgradcam_terms,
    'layercam': _layercam_terms,
    'hirescam': _hirescam_terms,
    'guided-gradcam': _gradcam_terms,
}


def channel_terms(activations: np.ndarray, gradients: np.ndarray, *,
                  method: str = 'gradcam') -> np.ndarray:
    """The per-channel terms :math:`T^c_{ik}` of ``method``.

    Parameters
    ----------
    activations : numpy.ndarray
        ``(batch, *spatial, channels)``.
    gradients : numpy.ndarray
        ``(batch, targets, *spatial, channels)``.
    method : str
        A key of :data:`CONTRIBUTIONS`.

    Returns
    -------
    numpy.ndarray
        ``(batch, targets, *spatial, channels)``, float64.
    """
    name = resolve_method(method)
    if name not in CONTRIBUTIONS:
        raise ValueError(f"smooth='eigen' needs a method that sums channel terms, one of "
                         f'{sorted(CONTRIBUTIONS)}; got method={name!r}')
    activations = np.asarray(activations, dtype=np.float64)
    gradients = np.asarray(gradients, dtype=np.float64)
    with np.errstate(over='ignore', invalid='ignore', divide='ignore'):
        return CONTRIBUTIONS[name](activations, gradients)


def eigen_smooth_heatmaps(activations: np.ndarray, gradients: np.ndarray, *,
                          method: str = 'gradcam', relu: bool = True,
                          counterfactual: bool = False) -> np.ndarray:
    """Unnormalised eigen-smoothed maps (the counterpart of
    :func:`~eli5_gradcam.nn.gradcam.compute_heatmaps`).

    Parameters
    ----------
    activations, gradients, method, relu, counterfactual
        As in :func:`~eli5_gradcam.nn.gradcam.compute_heatmaps`.

    Returns
    -------
    numpy.ndarray
        ``(batch, targets, *spatial)``, float64.
    """
    gradients = np.asarray(gradients, dtype=np.float64)
    if counterfactual:
        gradients = -gradients
    terms = channel_terms(activations, gradients, method=method)
    terms = np.nan_to_num(terms, nan=0.0, posinf=np.finfo(np.float64).max,
                          neginf=-np.finfo(np.float64).max)
    batch, targets, channels = terms.shape[0], terms.shape[1], terms.shape[-1]
    projection = first_principal_projection(terms.reshape(batch, targets, -1, channels))
    maps = projection.reshape(terms.shape[:-1])
    return np.maximum(maps, 0.0) if relu else maps
