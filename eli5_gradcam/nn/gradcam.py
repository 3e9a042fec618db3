"""Class activation maps from a layer's activations and gradients.

Every method is a small function of the same two arrays (the gradient
methods' in :mod:`.gradient_maps`, Eigen-CAM's in :mod:`.methods_eigen`,
Score-CAM's and Ablation-CAM's in :mod:`.perturbation`), in the
channels-last layout the framework adapters return:

* ``activations`` of shape ``(batch, *spatial, channels)``: the chosen layer's
  output :math:`A^k` for each document;
* ``gradients`` of shape ``(batch, targets, *spatial, channels)``: the
  gradient :math:`\\partial y^c / \\partial A^k` of each target's score.

``spatial`` may have any rank: 1 for text and signals, 2 for images, 3 for
volumes.  Nothing loops over channels, targets or documents in Python.
This module names them (:data:`METHODS`; the ``method=`` names and titles
are in :mod:`.method_names`), computes the maps of a batch
(:func:`compute_heatmaps`) and normalises them (:func:`normalize_heatmaps`).
"""
from __future__ import annotations

import warnings
from typing import Callable, Dict, Tuple

import numpy as np

from .errors import user_stacklevel
from .method_names import METHOD_TITLES, resolve_method
from .gradient_maps import (XGRADCAM_EPS, gradcam_channel_weights,
                            gradcam_plus_plus_channel_weights, gradcam_map,
                            gradcam_plus_plus_map, hirescam_map, layercam_map, weighted_sum,
                            xgradcam_channel_weights, xgradcam_map)
from .methods_eigen import eigencam_map, eigengradcam_map
from .perturbation import (CHANNEL_SCORE_METHODS, ablationcam_map, channel_evidence,
                           scorecam_map)

__all__ = [
    'EPS',
    'XGRADCAM_EPS',
    'METHODS',
    'PAIR_METHODS',
    'FlatHeatmapWarning',
    'gradcam_channel_weights',
    'gradcam_plus_plus_channel_weights',
    'xgradcam_channel_weights',
    'weighted_sum',
    'gradcam_map',
    'gradcam_plus_plus_map',
    'xgradcam_map',
    'layercam_map',
    'hirescam_map',
    'eigencam_map',
    'eigengradcam_map',
    'scorecam_map',
    'ablationcam_map',
    'compute_heatmaps',
    'normalize_heatmaps',
    'gradcam_heatmaps',
    'resolve_method',
]

#: Relative tolerance below which a heatmap counts as flat (all zero or
#: constant) and is returned as zeros instead of being divided by ~0.
EPS = 1e-7

class FlatHeatmapWarning(UserWarning):
    """A heatmap was all zero or constant, so it carries no localisation.

    It is returned as zeros.  Usual causes: ``relu=True`` and no positive
    evidence for the target (try ``relu=False`` or ``counterfactual=True``),
    a layer whose gradients are zero (a dead or disconnected layer), or a
    layer with a single spatial position.
    """


def _check_pair(activations: np.ndarray, gradients: np.ndarray) -> None:
    if activations.ndim < 2:
        raise ValueError(
            'activations must have shape (batch, *spatial, channels), '
            f'got shape {activations.shape}')
    if gradients.ndim != activations.ndim + 1 or (
            gradients.shape[:1] + gradients.shape[2:] != activations.shape):
        raise ValueError(
            'gradients must have shape (batch, targets, *spatial, channels) '
            f'matching activations {activations.shape}, got {gradients.shape}')


MapFunction = Callable[[np.ndarray, np.ndarray], np.ndarray]

#: The methods that map one layer, by name: a function of its activations and
#: gradients.  ``method=`` also accepts the guided methods, which need the
#: guided gradients of the input (:mod:`eli5_gradcam.nn.guided`); every name
#: is a key of :data:`METHOD_TITLES`.
METHODS: Dict[str, MapFunction] = {
    'gradcam': gradcam_map,
    'gradcam++': gradcam_plus_plus_map,
    'xgradcam': xgradcam_map,
    'layercam': layercam_map,
    'hirescam': hirescam_map,
    'eigencam': eigencam_map,
    'eigengradcam': eigengradcam_map,
    'scorecam': scorecam_map,
    'ablationcam': ablationcam_map,
}

#: The methods whose second array is the gradients ``(batch, targets, *spatial,
#: channels)`` (Score-CAM and Ablation-CAM take per-channel scores instead, see
#: :func:`compute_heatmaps`).
PAIR_METHODS = tuple(name for name in METHODS if name not in CHANNEL_SCORE_METHODS)

def compute_heatmaps(activations: np.ndarray,
                     gradients: np.ndarray,
                     *,
                     method: str = 'gradcam',
                     relu: bool = True,
                     counterfactual: bool = False) -> np.ndarray:
    """Unnormalised class activation maps, one per document and target.

    Parameters
    ----------
    activations : numpy.ndarray
        ``(batch, *spatial, channels)``, the layer's output.
    gradients : numpy.ndarray
        ``(batch, targets, *spatial, channels)``, the gradient of each
        target's score with respect to ``activations``.  For ``'scorecam'``
        and ``'ablationcam'``, which take no gradients, ``(batch, targets,
        channels)`` per-channel evidence instead: each target's score on the
        input masked by each channel's map (Score-CAM), or the drop in it when
        the channel is zeroed (Ablation-CAM, see
        :func:`~eli5_gradcam.nn.perturbation.method_evidence`).
    method : str
        ``'gradcam'`` (default), ``'gradcam++'``, ``'xgradcam'``,
        ``'layercam'``, ``'hirescam'``, ``'eigencam'``, ``'eigengradcam'``,
        ``'scorecam'`` or ``'ablationcam'``: the keys of :data:`METHODS`.
        ``'eigencam'`` uses the activations only: it gives the same map for
        every target, whatever the gradients, and ``counterfactual`` does not
        change it.  The guided methods need the input's gradients too (a
        ValueError here): see :func:`eli5_gradcam.nn.maps.capture_heatmaps`.
    relu : bool
        Keep only positive evidence, as the papers do (default).  With
        ``False`` the map keeps its sign: negative values mark regions that
        lower the score.
    counterfactual : bool
        Explain what *lowers* the score: the gradients are negated before any
        other step (Selvaraju et al. 2017, sec. 5, "counterfactual explanations");
        for Ablation-CAM the score drops are.  Score-CAM's weights are a
        softmax (all positive), so it has no counterfactual: a ValueError.

    Returns
    -------
    numpy.ndarray
        ``(batch, targets, *spatial)``, float64.
    """
    name = resolve_method(method)
    if name not in METHODS:
        raise ValueError(f'method {name!r} needs guided gradients of the input, not only a '
                         "layer's activations and gradients: use eli5.explain_prediction, "
                         'or eli5_gradcam.nn.maps.capture_heatmaps on a capture with '
                         'input_gradients')
    activations = np.asarray(activations, dtype=np.float64)
    gradients = np.asarray(gradients)
    if name in CHANNEL_SCORE_METHODS:
        gradients = channel_evidence(activations, gradients, name, counterfactual)
    else:
        if name not in ('gradcam', 'eigencam') or not np.issubdtype(gradients.dtype,
                                                                       np.floating):
            # Grad-CAM only averages the gradients (in float64, see
            # gradcam_channel_weights) and Eigen-CAM ignores them: no float64 copy
            # of the largest array.
            gradients = gradients.astype(np.float64, copy=False)
        _check_pair(activations, gradients)
        if counterfactual and name != 'eigencam':
            gradients = -gradients
    with np.errstate(over='ignore', invalid='ignore', divide='ignore'):
        maps = METHODS[name](activations, gradients)
    maps = np.nan_to_num(maps, nan=0.0, posinf=np.finfo(np.float64).max,
                         neginf=-np.finfo(np.float64).max)
    if relu:
        maps = np.maximum(maps, 0.0)
    return maps


def normalize_heatmaps(heatmaps: np.ndarray, *, spatial_ndim: int,
                       relu: bool = True, warn: bool = True) -> np.ndarray:
    """Scale each heatmap to a fixed range.

    With ``relu=True`` every map is divided by its maximum, so it lies in
    [0, 1]; with ``relu=False`` by its largest magnitude, so it lies in
    [-1, 1] and keeps its sign.  A flat map (all zero, or constant, or so
    small that it underflowed: its largest magnitude below the smallest
    normal float64, ~2.2e-308) carries no localisation: it becomes zeros,
    never NaN, and a :class:`FlatHeatmapWarning` names it.

    Parameters
    ----------
    heatmaps : numpy.ndarray
        ``(..., *spatial)`` maps; the last ``spatial_ndim`` axes are spatial.
    spatial_ndim : int
        How many trailing axes are spatial.
    relu : bool
        Whether the maps were rectified (decides the range).
    warn : bool
        Emit :class:`FlatHeatmapWarning` for flat maps.

    Returns
    -------
    numpy.ndarray
        Maps of the same shape, float64, in [0, 1] or [-1, 1].
    """
    heatmaps = np.asarray(heatmaps, dtype=np.float64)
    if relu:
        heatmaps = np.maximum(heatmaps, 0.0)
    if spatial_ndim == 0 or heatmaps.size == 0:
        return heatmaps
    axes = tuple(range(heatmaps.ndim - spatial_ndim, heatmaps.ndim))
    # Scale by the largest magnitude first so that huge values cannot overflow.
    magnitude = np.abs(heatmaps).max(axis=axes, keepdims=True)
    scaled = heatmaps / np.where(magnitude > 0.0, magnitude, 1.0)
    spread = scaled.max(axis=axes, keepdims=True) - scaled.min(axis=axes, keepdims=True)
    # A map whose largest value is subnormal (below the smallest normal
    # float64) has lost its relative precision to underflow: flat too.
    flat = ~(spread > EPS) | ~(magnitude >= np.finfo(np.float64).tiny)
    if warn and bool(flat.any()):
        where = np.argwhere(flat.reshape(flat.shape[:-spatial_ndim]))
        warnings.warn(
            f'{len(where)} heatmap(s) are all zero or constant and are returned '
            f'as zeros (batch/target indices {where.tolist()}). '
            'With relu=True this means no positive evidence for the target: '
            'try relu=False, counterfactual=True or another layer.',
            FlatHeatmapWarning, stacklevel=user_stacklevel())
    return np.where(flat, 0.0, scaled)


def gradcam_heatmaps(activations: np.ndarray,
                     gradients: np.ndarray,
                     *,
                     method: str = 'gradcam',
                     relu: bool = True,
                     counterfactual: bool = False) -> np.ndarray:
    """Normalised class activation maps: :func:`compute_heatmaps` then
    :func:`normalize_heatmaps`.

    Parameters
    ----------
    activations, gradients, method, relu, counterfactual
        As in :func:`compute_heatmaps`.

    Returns
    -------
    numpy.ndarray
        ``(batch, targets, *spatial)`` in [0, 1] (``relu=True``) or [-1, 1].

    Examples
    --------
    >>> import numpy as np
    >>> activations = np.array([[[1.0, 0.0], [0.0, 2.0]]])   # (1, 2 positions, 2 channels)
    >>> gradients = np.array([[[[1.0, 0.0], [1.0, 0.0]]]])   # (1, 1 target, 2, 2)
    >>> gradcam_heatmaps(activations, gradients)
    array([[[1., 0.]]])
    """
    maps = compute_heatmaps(activations, gradients, method=method, relu=relu,
                            counterfactual=counterfactual)
    return normalize_heatmaps(maps, spatial_ndim=maps.ndim - 2, relu=relu)
