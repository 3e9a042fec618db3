"""From a capture to its unnormalised maps: the one place the map steps meet.

:func:`capture_heatmaps` applies, in order, what the options ask for:

1. each layer's map (:func:`~eli5_gradcam.nn.gradcam.compute_heatmaps`, or
   :func:`~eli5_gradcam.nn.eigen_smooth.eigen_smooth_heatmaps` with
   ``smooth='eigen'``);
2. with several layers, their fusion on the finest grid
   (:func:`~eli5_gradcam.nn.fusion.fuse_layer_heatmaps`);
3. for the guided methods, the map at the input's pixels
   (:mod:`~eli5_gradcam.nn.guided`).

Test-time augmentation (``smooth='aug'``) averages these maps over several
passes, see :mod:`~eli5_gradcam.nn.augment`.  Normalisation comes last, in
the explanation builders.
"""
from __future__ import annotations

from typing import Any, List

import numpy as np

from .capture import LayerCapture
from .eigen_smooth import eigen_smooth_heatmaps
from .fusion import fuse_layer_heatmaps
from .gradcam import compute_heatmaps
from .guided import LAYER_METHOD, guided_backprop_heatmaps, guided_gradcam_heatmaps
from .options import ExplainOptions
from .perturbation import method_evidence

__all__ = ['capture_heatmaps', 'layer_heatmaps', 'check_distinct_layers']


def check_distinct_layers(capture: LayerCapture) -> None:
    """A named ValueError when ``layer=[...]`` named one layer twice."""
    names = capture.layer_names
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f'layer: {repeated} listed more than once (as {list(names)}); '
                         'list each layer once')


def layer_heatmaps(capture: LayerCapture, options: ExplainOptions) -> List[np.ndarray]:
    """One unnormalised ``(batch, targets, *spatial)`` map per explained layer."""
    compute = eigen_smooth_heatmaps if 'eigen' in options.smooth else compute_heatmaps
    method = LAYER_METHOD.get(options.method, options.method)
    if method is None:
        raise ValueError(f'method {options.method!r} has no layer map')
    # the first layer's second array may be channel scores (Score-CAM,
    # Ablation-CAM) or absent (Eigen-CAM's forward-only capture)
    evidence: List[Any] = [method_evidence(capture, method)] + [
        arrays.gradients for arrays in capture.more_layers]
    return [compute(arrays.activations, second, method=method,
                    relu=options.relu, counterfactual=options.counterfactual)
            for arrays, second in zip(capture.layers, evidence)]


def capture_heatmaps(capture: LayerCapture, options: ExplainOptions) -> np.ndarray:
    """The unnormalised maps the options ask for, from one capture.

    Parameters
    ----------
    capture : LayerCapture
    options : ExplainOptions
        ``method``, ``relu``, ``counterfactual`` and ``smooth`` (``'eigen'``)
        are read from it.

    Returns
    -------
    numpy.ndarray
        ``(batch, targets, *spatial)``, float64: at the layer's resolution
        (the finest layer's with several), or at the input's pixels for the
        guided methods.  Rectified when ``options.relu``.
    """
    if options.method == 'guided-backprop':
        maps = guided_backprop_heatmaps(capture.input_gradients)
        return np.maximum(maps, 0.0) if options.relu else maps
    check_distinct_layers(capture)
    maps = fuse_layer_heatmaps(layer_heatmaps(capture, options), relu=options.relu)
    if options.method == 'guided-gradcam':
        maps = guided_gradcam_heatmaps(maps, capture.input_gradients)
        return np.maximum(maps, 0.0) if options.relu else maps
    return maps
