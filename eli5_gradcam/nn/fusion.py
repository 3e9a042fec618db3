"""Several layers at once (``layer=[...]``): LayerCAM's multi-layer fusion.

Shallow layers see fine detail, deep layers the class; LayerCAM (Jiang et
al. 2021, https://doi.org/10.1109/TIP.2021.3089943) fuses their maps into
one.  The rule used here is torchcam's implementation of that fusion
(``LayerCAM.fuse_cams``: the paper's eq. 9 scaling, then the element-wise
maximum):

1. each layer's map is normalised on its own (divided by its maximum; with
   ``relu=False`` by its largest magnitude, as every map of this package;
   torchcam subtracts the minimum first), so a layer with small values (the
   shallow ones) counts as much as a deep one;
2. it is scaled by the paper's eq. 9, :math:`\\hat M = \\tanh(\\gamma M)`
   with :math:`\\gamma = 2` (:data:`FUSION_GAMMA`), which lifts the weak but
   real responses of shallow layers;
3. each map is resized (:func:`~eli5_gradcam.nn.resize.resize_linear`,
   linear with half-pixel centres as torchcam's bilinear ``interpolate``) to
   the finest grid, the largest size along each axis among the layers;
4. the maps are combined by the element-wise maximum.

With ``relu=False`` maps are signed: step 4 keeps, at each position, the
value of largest magnitude with its sign (the maximum, for maps that are
non-negative).  pytorch-grad-cam combines several layers differently: it
min-max scales each map at the input's resolution and takes their mean.
"""
from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np

from .gradcam import normalize_heatmaps
from .resize import resize_linear

__all__ = ['FUSION_GAMMA', 'finest_shape', 'fuse_layer_heatmaps']

#: LayerCAM's scale factor :math:`\gamma` in :math:`\tanh(\gamma M)` (eq. 9).
FUSION_GAMMA = 2.0


def finest_shape(shapes: Sequence[Tuple[int, ...]]) -> Tuple[int, ...]:
    """The largest size along each spatial axis among ``shapes``."""
    ranks = {len(shape) for shape in shapes}
    if len(ranks) != 1:
        raise ValueError('layer: the layers give maps of different spatial ranks '
                         f'{[tuple(s) for s in shapes]}; fuse layers of one kind (all 2-D '
                         'grids, or all sequences)')
    return tuple(int(max(sizes)) for sizes in zip(*shapes))


def fuse_layer_heatmaps(maps: Sequence[np.ndarray], *, relu: bool = True,
                        gamma: float = FUSION_GAMMA) -> np.ndarray:
    """Fuse the maps of several layers (see the module docstring).

    Parameters
    ----------
    maps : sequence of numpy.ndarray
        One ``(batch, targets, *spatial_l)`` unnormalised map per layer, all
        of the same spatial rank.
    relu : bool
        Whether the maps are rectified (decides normalisation and combination).
    gamma : float
        The scale of ``tanh``.

    Returns
    -------
    numpy.ndarray
        ``(batch, targets, *finest)``, in [0, 1) (``relu=True``) or (-1, 1).
    """
    if not maps:
        raise ValueError('layer: no layer maps to fuse')
    if len(maps) == 1:
        return np.asarray(maps[0], dtype=np.float64)
    shape = finest_shape([np.shape(m)[2:] for m in maps])
    scaled = []
    for layer_map in maps:
        normalised = normalize_heatmaps(layer_map, spatial_ndim=len(shape), relu=relu,
                                        warn=False)
        scaled.append(resize_linear(np.tanh(gamma * normalised), shape))
    stacked = np.stack(scaled)
    if relu:
        return stacked.max(axis=0)
    strongest = np.abs(stacked).argmax(axis=0)[np.newaxis]
    return np.take_along_axis(stacked, strongest, axis=0)[0]
