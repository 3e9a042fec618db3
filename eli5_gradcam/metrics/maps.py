"""Heatmaps as the metrics take them: from an explanation or an array, checked, upsampled.

A metric accepts an :class:`eli5.base.Explanation` (one of its targets), a
:class:`eli5.base.TargetExplanation` or any array: a layer-resolution
Grad-CAM map, a LIME or SHAP map at the input's resolution, a random map.
:class:`Positions` says which axes of the document the map covers (the
pixels of an image, the tokens of a text) and the map is resized onto them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence, Tuple

import numpy as np
from eli5.base import Explanation, TargetExplanation

from ..nn.image import resize_heatmap_to
from ..nn.text import resize_heatmap

__all__ = ['Positions', 'select_map', 'check_map', 'positions_of', 'fit_map', 'ranking',
           'unit_map', 'MAX_ASPECT_CHANGE']

#: How much a map's aspect ratio may differ from the document's (a factor)
#: before it is taken for a map of another document (or a transposed one).
MAX_ASPECT_CHANGE = 2.0


def _labels(explanation: Explanation) -> list:
    return [t.target for t in explanation.targets or []]


def _pick_target(explanation: Explanation, target: Any,
                 name: Optional[str]) -> TargetExplanation:
    targets = list(explanation.targets or [])
    if not targets:
        raise ValueError('heatmap: the explanation has no targets (an explanation with an '
                         f'error?: {getattr(explanation, "error", None)!r})')
    if target is None:
        return targets[0]
    for candidate in targets:
        if candidate.target == target or (name is not None and candidate.target == name):
            return candidate
    raise ValueError(f'target={target!r} is not one of the explanation\'s targets '
                     f'{_labels(explanation)}; explain it, or leave target=None')


def select_map(heatmap: Any, target: Any = None,
               name: Optional[str] = None) -> Tuple[np.ndarray, Any]:
    """The map (float64, checked) and its target label (None for an array).

    Parameters
    ----------
    heatmap : Explanation, TargetExplanation or array-like
    target : int or str, optional
        For an explanation with several targets: the one whose label is this.
    name : str, optional
        ``target``'s name (from ``target_names``), matched as well.
    """
    label = None
    if isinstance(heatmap, Explanation):
        heatmap = _pick_target(heatmap, target, name)
    if isinstance(heatmap, TargetExplanation):
        label = heatmap.target
        heatmap = getattr(heatmap, 'heatmap', None)
        if heatmap is None:
            raise ValueError(f'heatmap: the target explanation of {label!r} has no heatmap')
    return check_map(heatmap), label


def check_map(heatmap: Any, name: str = 'heatmap') -> np.ndarray:
    """A 1-D or 2-D finite float map, or a named TypeError / ValueError."""
    if hasattr(heatmap, 'detach') and hasattr(heatmap, 'cpu'):         # a torch tensor
        heatmap = heatmap.detach().cpu().numpy()
    try:
        array = np.asarray(heatmap, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f'{name} must be an explanation or a numeric array; got '
                        f'{type(heatmap).__name__}') from exc
    array = np.squeeze(array) if array.ndim > 2 else array
    if array.ndim not in (1, 2):
        raise ValueError(f'{name} must be a 2-D (image) or 1-D (sequence) map; got shape '
                         f'{np.shape(heatmap)}')
    if array.size == 0:
        raise ValueError(f'{name} is empty; got shape {array.shape}')
    if not np.isfinite(array).all():
        bad = int((~np.isfinite(array)).sum())
        raise ValueError(f'{name} holds {bad} NaN or infinite value(s) (shape {array.shape}); '
                         'a map must be finite')
    return array


@dataclass(frozen=True)
class Positions:
    """The axes of a document batch that a map covers.

    Attributes
    ----------
    shape : tuple of int
        ``(height, width)`` of an image, ``(length,)`` of a sequence.
    axes : tuple of int
        Those axes in the batch ``(n, ...)`` (contiguous).
    ndim : int
        Rank of the documents, batch axis included.
    """

    shape: Tuple[int, ...]
    axes: Tuple[int, ...]
    ndim: int

    @property
    def size(self) -> int:
        """Number of positions (pixels, tokens)."""
        return int(np.prod(self.shape))

    def expand(self, flags: np.ndarray) -> np.ndarray:
        """``(n, size)`` per-position values, reshaped to broadcast against ``(n, ...)`` docs."""
        shape = [1] * self.ndim
        shape[0] = flags.shape[0]
        for axis, side in zip(self.axes, self.shape):
            shape[axis] = side
        return flags.reshape(shape)


def positions_of(doc_shape: Sequence[int], map_ndim: int, channels_first: bool) -> Positions:
    """Which axes of documents of ``doc_shape`` (batch first) a ``map_ndim`` map covers.

    A 2-D map covers the height and width of ``(n, C, H, W)`` /
    ``(n, H, W, C)`` images (``(n, H, W)``: grey); a 1-D map the positions
    of ``(n, L)`` token ids and of ``(n, C, L)`` / ``(n, L, C)`` signals.
    """
    shape = tuple(int(s) for s in doc_shape)
    if map_ndim == 2 and len(shape) == 4:
        axes: Tuple[int, ...] = (2, 3) if channels_first else (1, 2)
    elif map_ndim == 2 and len(shape) == 3:
        axes = (1, 2)
    elif map_ndim == 1 and len(shape) == 2:
        axes = (1,)
    elif map_ndim == 1 and len(shape) == 3:
        axes = (2,) if channels_first else (1,)
    else:
        wanted = 'an image (n, C, H, W) / (n, H, W, C)' if map_ndim == 2 else (
            'token ids (n, L) or a signal (n, C, L) / (n, L, C)')
        raise ValueError(f'heatmap is {map_ndim}-D, so doc must be {wanted}; got doc of '
                         f'shape {shape}')
    return Positions(tuple(shape[a] for a in axes), axes, len(shape))


def fit_map(heatmap: np.ndarray, shape: Tuple[int, ...]) -> np.ndarray:
    """The map resized onto the document's positions (bilinear / linear), float64.

    A layer-resolution map is upsampled as the explanation's overlay is
    drawn; a map larger than the document, or of another aspect ratio (by
    more than :data:`MAX_ASPECT_CHANGE`), is a ValueError naming ``heatmap``.
    """
    if heatmap.ndim != len(shape):
        raise ValueError(f'heatmap has shape {heatmap.shape} but the document has '
                         f'{len(shape)}-D positions {shape}')
    if any(side > want for side, want in zip(heatmap.shape, shape)):
        raise ValueError(f'heatmap has shape {heatmap.shape}, larger than the document\'s '
                         f'positions {shape}: is it the map of another document?')
    scales = [want / side for side, want in zip(heatmap.shape, shape)]
    if max(scales) > MAX_ASPECT_CHANGE * min(scales):
        raise ValueError(f'heatmap has shape {heatmap.shape}, which does not fit the '
                         f'document\'s positions {shape} (another aspect ratio: transposed, '
                         'or the map of another document?)')
    if heatmap.shape == shape:
        return heatmap
    if heatmap.ndim == 1:
        return resize_heatmap(heatmap, shape[0])
    height, width = shape
    return resize_heatmap_to(heatmap.astype(np.float32), (width, height)).astype(np.float64)


def ranking(values: np.ndarray, seed: int) -> np.ndarray:
    """Positions from the most to the least relevant; ties in a seeded random order.

    Grad-CAM maps are exactly zero wherever ``relu`` cut them, and a raster
    order among those ties would remove the top of the image first; a
    random order among them removes them without a spatial bias.
    """
    flat = values.ravel()
    tie_breaker = np.random.default_rng(seed).permutation(flat.size)
    return np.lexsort((tie_breaker, -flat))


def unit_map(values: np.ndarray) -> np.ndarray:
    """The positive part of a map divided by its maximum: values in [0, 1] (zeros if none)."""
    positive = np.maximum(values, 0.0)
    top = float(positive.max())
    return positive / top if top > 0.0 else positive
