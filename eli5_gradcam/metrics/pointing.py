"""Does the map point at the object?  The pointing game and its energy-based variant.

* **Pointing game** (Zhang et al. 2016, https://arxiv.org/abs/1608.00507):
  a hit when the map's maximum lies on the object, or within ``tolerance``
  pixels of it (15 in the paper).
* **Energy-based pointing game** (Wang et al. 2020, Score-CAM,
  https://arxiv.org/abs/1910.01279): the share of the map's (positive) mass
  that falls on the object.

The object is a box or a mask at the resolution of the document; maps are
upsampled to it.  Neither metric runs the model.
"""
from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass
from typing import Any, Optional, Sequence, Tuple

import numpy as np
from eli5.base import Explanation
from scipy.ndimage import distance_transform_edt

from ..nn.errors import user_stacklevel
from ..nn.gradcam import EPS, FlatHeatmapWarning
from .maps import fit_map, select_map

__all__ = ['PointingResult', 'pointing_game', 'energy_pointing_game', 'box_mask',
           'POINTING_TOLERANCE']

#: Zhang et al.'s tolerance, in pixels.
POINTING_TOLERANCE = 15


@dataclass(frozen=True)
class PointingResult:
    """Where a map points and whether it hits the object.

    Attributes
    ----------
    hit : bool
    point : tuple of int or None
        The maximum's position (``(row, col)`` or ``(index,)``); None for a flat map.
    distance : float
        From the maximum to the nearest object pixel (0 inside; inf for a flat map).
    """

    hit: bool
    point: Optional[Tuple[int, ...]]
    distance: float


def box_mask(box: Any, shape: Tuple[int, ...]) -> np.ndarray:
    """A boolean mask of ``shape`` that is True inside ``box``.

    Parameters
    ----------
    box : sequence of int
        Images: ``(left, top, right, bottom)`` in pixels, right and bottom
        excluded (as :meth:`PIL.Image.Image.crop`); sequences: ``(start, stop)``.
    shape : tuple of int
        ``(height, width)`` or ``(length,)``.
    """
    wanted = 4 if len(shape) == 2 else 2
    if isinstance(box, (str, bytes)) or not isinstance(box, (Sequence, np.ndarray)) or (
            len(box) != wanted) or not all(isinstance(v, (numbers.Integral, np.integer))
                                           and not isinstance(v, bool) for v in box):
        form = '(left, top, right, bottom)' if wanted == 4 else '(start, stop)'
        raise TypeError(f'box must be {wanted} ints {form}; got {box!r}')
    if wanted == 4:
        left, top, right, bottom = (int(v) for v in box)
        limits = [(left, right, shape[1], 'left/right'), (top, bottom, shape[0], 'top/bottom')]
    else:
        start, stop = (int(v) for v in box)
        limits = [(start, stop, shape[0], 'start/stop')]
    for low, high, side, names in limits:
        if not 0 <= low < high <= side:
            raise ValueError(f'box {tuple(int(v) for v in box)} is outside the document of '
                             f'shape {shape} or empty ({names}: need 0 <= {low} < {high} <= '
                             f'{side})')
    mask = np.zeros(shape, dtype=bool)
    if wanted == 4:
        mask[top:bottom, left:right] = True
    else:
        mask[start:stop] = True
    return mask


def _shape_of(heatmap: Any, mask: Any, shape: Any) -> Tuple[int, ...]:
    if mask is not None:
        return tuple(np.shape(mask))
    if shape is not None:
        return tuple(int(s) for s in shape)
    if isinstance(heatmap, Explanation) and heatmap.image is not None:
        return (heatmap.image.height, heatmap.image.width)
    raise ValueError('shape is needed: the document\'s (height, width) or (length,), to put '
                     'the box and the map on (or pass mask=, or an explanation with an image)')


def _object(heatmap: Any, box: Any, mask: Any, shape: Any, target: Any
            ) -> Tuple[np.ndarray, np.ndarray]:
    """The map upsampled to the document, and the object mask."""
    if (box is None) == (mask is None):
        raise ValueError('pass either box= or mask= (the object), not both and not neither')
    selected, _ = select_map(heatmap, target)
    size = _shape_of(heatmap, mask, shape)
    if len(size) != selected.ndim:
        raise ValueError(f'heatmap is {selected.ndim}-D but the object has shape {size}')
    if mask is not None:
        region = np.asarray(mask)
        if region.dtype != bool and not np.isin(region, (0, 1)).all():
            raise ValueError('mask must be boolean (or 0/1)')
        region = region.astype(bool)
        if not region.any():
            raise ValueError('mask is empty: it marks no position of the object')
    else:
        region = box_mask(box, size)
    return fit_map(selected, size), region


def _flat(values: np.ndarray) -> bool:
    spread = float(values.max() - values.min())
    return not spread > EPS * max(float(np.abs(values).max()), 1.0)


def pointing_game(heatmap: Any, *, box: Any = None, mask: Any = None, shape: Any = None,
                  tolerance: float = POINTING_TOLERANCE, target: Any = None
                  ) -> PointingResult:
    """A hit if the map's maximum lies within ``tolerance`` of the object.

    Ties for the maximum count as a hit if any of them is close enough
    (Quantus' rule); a flat map points nowhere and misses, with a
    :class:`~eli5_gradcam.FlatHeatmapWarning`.

    Parameters
    ----------
    heatmap : Explanation, TargetExplanation or array
        A map at any resolution up to the document's (upsampled to it).
    box : sequence of int, optional
        ``(left, top, right, bottom)`` in pixels, right and bottom excluded;
        ``(start, stop)`` for a sequence.
    mask : array, optional
        Boolean object mask at the document's resolution (instead of ``box``).
    shape : tuple of int, optional
        The document's ``(height, width)`` (or ``(length,)``) for a box;
        default: the mask's shape, or the explanation's image size.
    tolerance : float
        Pixels (positions) between the maximum and the object that still
        count as a hit: 15 as Zhang et al.; 0 for an exact hit.
    target : int or str, optional
        Which target of an explanation with several.

    Returns
    -------
    PointingResult
    """
    if isinstance(tolerance, bool) or not isinstance(tolerance, (numbers.Real, np.number)) or (
            not tolerance >= 0):
        raise ValueError(f'tolerance must be a number >= 0 (pixels); got {tolerance!r}')
    values, region = _object(heatmap, box, mask, shape, target)
    if _flat(values):
        warnings.warn('pointing_game: the heatmap is flat (all zero or constant), so it '
                      'points nowhere: a miss', FlatHeatmapWarning, stacklevel=user_stacklevel())
        return PointingResult(hit=False, point=None, distance=float('inf'))
    distances = distance_transform_edt(~region)
    maxima = np.argwhere(values == values.max())
    closest = maxima[np.argmin(distances[tuple(maxima.T)])]
    distance = float(distances[tuple(closest)])
    return PointingResult(hit=distance <= float(tolerance),
                          point=tuple(int(i) for i in closest), distance=distance)


def energy_pointing_game(heatmap: Any, *, box: Any = None, mask: Any = None,
                         shape: Any = None, target: Any = None) -> float:
    """The share of the map's positive mass on the object, in [0, 1] (higher is better).

    ``sum(relu(map) * object) / sum(relu(map))`` with the map upsampled to
    the document (Score-CAM's energy-based pointing game; Quantus'
    ``RelevanceMassAccuracy`` for a non-negative map).  A map with no
    positive value scores 0, with a :class:`~eli5_gradcam.FlatHeatmapWarning`.

    Parameters
    ----------
    heatmap, box, mask, shape, target
        As :func:`pointing_game`.

    Returns
    -------
    float
    """
    values, region = _object(heatmap, box, mask, shape, target)
    positive = np.maximum(values, 0.0)
    total = float(positive.sum())
    if not total > 0.0:
        warnings.warn('energy_pointing_game: the heatmap has no positive value: 0',
                      FlatHeatmapWarning, stacklevel=user_stacklevel())
        return 0.0
    return float(positive[region].sum() / total)
