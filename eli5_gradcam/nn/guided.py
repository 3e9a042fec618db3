"""Guided backpropagation and Guided Grad-CAM: maps at the input's resolution.

Guided backpropagation (Springenberg et al. 2015,
https://arxiv.org/abs/1412.6806) differentiates a target's score with
respect to the input while every ReLU lets only *positive* gradients
through: at a ReLU with input :math:`z` the gradient passed back is

.. math:: \\frac{\\partial^{GB}}{\\partial z} = \\mathrm{relu}\\Big(
          \\frac{\\partial^{GB}}{\\partial\\, \\mathrm{relu}(z)}\\Big)\\,
          [z > 0]

instead of the plain :math:`\\frac{\\partial}{\\partial\\, \\mathrm{relu}(z)}
[z > 0]`.  The adapters compute these gradients (the framework work: the
model's ReLUs overridden for that one backward pass) and hand them to the
core as :attr:`~eli5_gradcam.nn.capture.LayerCapture.input_gradients`,
``(batch, targets, height, width, channels)``.

Guided Grad-CAM (Selvaraju et al. 2017, sec. 3,
https://arxiv.org/abs/1610.02391) multiplies them, pixel by pixel, by the
Grad-CAM map of a layer upsampled to the input's resolution: the layer says
*where* the class is, guided backpropagation *which pixels* of it matter.

Both maps here are one value per pixel: the guided gradients are summed over
the input's channels (the colour planes), as captum's visualisation does
(``visualize_image_attr``), so that Guided Grad-CAM's map is the channel sum
of captum's ``GuidedGradCam`` attribution.  With ``relu=True`` only the
positive part is kept, as for every other method.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np

from .resize import resize_linear

__all__ = ['GUIDED_METHODS', 'LAYER_METHOD', 'guided_backprop_heatmaps',
           'guided_gradcam_heatmaps', 'check_guided_documents']

#: The methods that need guided gradients of the input.
GUIDED_METHODS: Tuple[str, ...] = ('guided-backprop', 'guided-gradcam')

#: The method of :data:`~eli5_gradcam.nn.gradcam.METHODS` that gives the layer
#: part of a guided method (None: no layer part).
LAYER_METHOD: Dict[str, Optional[str]] = {'guided-backprop': None,
                                           'guided-gradcam': 'gradcam'}


def _check_input_gradients(input_gradients: Any) -> np.ndarray:
    if input_gradients is None:
        raise ValueError('input_gradients are missing: the guided methods need the guided '
                         'gradients of the input (the adapter computes them when '
                         "method='guided-backprop' or 'guided-gradcam')")
    gradients = np.asarray(input_gradients, dtype=np.float64)
    if gradients.ndim < 4:
        raise ValueError('input_gradients must have shape (batch, targets, *spatial, '
                         f'channels); got {gradients.shape}')
    return gradients


def guided_backprop_heatmaps(input_gradients: Optional[np.ndarray]) -> np.ndarray:
    """Guided backpropagation maps: the guided gradients summed over channels.

    .. math:: M^c_{p} = \\sum_{k} \\frac{\\partial^{GB} y^c}{\\partial x_{p,k}}

    for each pixel :math:`p` and input channel :math:`k`.

    Parameters
    ----------
    input_gradients : numpy.ndarray
        ``(batch, targets, *spatial, channels)``.

    Returns
    -------
    numpy.ndarray
        ``(batch, targets, *spatial)``, signed (the caller rectifies).
    """
    gradients = _check_input_gradients(input_gradients)
    return np.nan_to_num(gradients.sum(axis=-1))


def guided_gradcam_heatmaps(layer_maps: np.ndarray,
                            input_gradients: Optional[np.ndarray]) -> np.ndarray:
    """Guided Grad-CAM maps: layer maps upsampled to the input, times guided backprop.

    .. math:: M^c_p = \\mathrm{up}(L^c)_p \\, \\sum_k
              \\frac{\\partial^{GB} y^c}{\\partial x_{p,k}}

    where :math:`L^c` is the (rectified, with ``relu=True``) Grad-CAM map of
    the layer and :math:`\\mathrm{up}` the linear resizing of
    :func:`~eli5_gradcam.nn.resize.resize_linear` (half-pixel centres, as
    ``torch.nn.functional.interpolate(mode='bilinear')``; the Grad-CAM paper
    upsamples bilinearly).  Summed over channels this equals captum's
    ``GuidedGradCam(...).attribute(..., interpolate_mode='bilinear')``, which
    multiplies every channel by the same upsampled map.

    Parameters
    ----------
    layer_maps : numpy.ndarray
        ``(batch, targets, *layer_spatial)`` unnormalised layer maps.
    input_gradients : numpy.ndarray
        ``(batch, targets, *input_spatial, channels)``.

    Returns
    -------
    numpy.ndarray
        ``(batch, targets, *input_spatial)``.
    """
    gradients = _check_input_gradients(input_gradients)
    layer_maps = np.asarray(layer_maps, dtype=np.float64)
    input_spatial = gradients.shape[2:-1]
    if layer_maps.shape[:2] != gradients.shape[:2] or (
            layer_maps.ndim - 2 != len(input_spatial)):
        raise ValueError(f'layer maps {layer_maps.shape} and input gradients '
                         f'{gradients.shape} do not describe the same documents, targets '
                         'and spatial rank')
    upsampled = resize_linear(layer_maps, input_spatial)
    return upsampled * guided_backprop_heatmaps(gradients)


def check_guided_documents(method: str, kind: str, dtype: np.dtype) -> None:
    """A named ValueError unless a guided ``method`` can explain these documents.

    The guided methods give one value per pixel of an image: they need image
    documents of floats (the gradient of the score with respect to them).

    Parameters
    ----------
    method : str
        The resolved method name.
    kind : {'image', 'text', 'other'}
        The documents' kind.
    dtype : numpy.dtype
        The documents' dtype.
    """
    if method not in GUIDED_METHODS:
        return
    if kind != 'image':
        raise ValueError(f'method={method!r} gives a map at the pixels of an image input; '
                         f'these documents are {kind} documents: use a layer method such as '
                         "method='gradcam'")
    if not np.issubdtype(np.dtype(dtype), np.floating):
        raise ValueError(f'method={method!r} differentiates the score with respect to the '
                         f'input, which needs float documents; got dtype {np.dtype(dtype)}')
