"""Heatmaps coloured and blended over a picture: the pixels of ``format_as_image``.

One [0, 1] map goes through a sequential colormap and a signed map
(``relu=False``, values in [-1, 1]) through a diverging one centred at zero;
the opacity follows the value (the magnitude), capped at ``alpha_limit``.
The coloured map is resized to the picture and alpha-composited over it, in
eli5 0.16's order, so one [0, 1] heatmap gives eli5's pixels.
"""
from __future__ import annotations

import numbers
from typing import Callable, Optional

import matplotlib
import numpy as np
from PIL import Image

__all__ = ['colorize_heatmap', 'heatmap_overlay', 'check_alpha_limit', 'as_rgba',
           'DIVERGING_COLORMAP', 'Colormap']

Colormap = Callable[[np.ndarray], np.ndarray]

#: Colormap for signed heatmaps: blue for negative, red for positive evidence.
DIVERGING_COLORMAP: Colormap = matplotlib.colormaps['RdBu_r']


def check_alpha_limit(alpha_limit: object) -> Optional[float]:
    """``alpha_limit`` as a float in [0, 1] (or None), or a named error.

    Parameters
    ----------
    alpha_limit : float, int or None

    Returns
    -------
    float or None
    """
    if alpha_limit is None:
        return None
    if isinstance(alpha_limit, bool) or not isinstance(alpha_limit, numbers.Real):
        raise TypeError('alpha_limit must be a float or int in [0, 1], or None; '
                        f'got {type(alpha_limit).__name__} {alpha_limit!r}')
    if not 0 <= float(alpha_limit) <= 1:
        raise ValueError(f'alpha_limit must be between 0 and 1 inclusive; got {alpha_limit}')
    return float(alpha_limit)


def _check_heatmap(heatmap: object) -> np.ndarray:
    if not isinstance(heatmap, np.ndarray):
        raise TypeError('heatmap must be a numpy.ndarray; got '
                        f'{type(heatmap).__name__}')
    if not (np.issubdtype(heatmap.dtype, np.integer) or np.issubdtype(heatmap.dtype, np.floating)
            or heatmap.dtype == np.bool_):
        raise TypeError(f'heatmap must hold real numbers; got an array of dtype {heatmap.dtype}')
    if heatmap.ndim != 2:
        raise ValueError('heatmap must be 2-D (height, width) to draw over an image; '
                         f'got shape {heatmap.shape}')
    if heatmap.size == 0:
        raise ValueError('heatmap is empty')
    low, high = float(np.min(heatmap)), float(np.max(heatmap))
    if not (np.isfinite(low) and np.isfinite(high)) or low < -1 or high > 1:
        raise ValueError('heatmap must contain values in [0, 1] (or [-1, 1] for a '
                         f'signed map); got minimum {low} and maximum {high}')
    return heatmap


def _colors(colormap: object, values: np.ndarray, name: str) -> np.ndarray:
    """``colormap(values)`` as ``(h, w, 4)`` floats, or an error naming ``name``."""
    if not callable(colormap):
        raise TypeError(f'{name} must be a callable such as a matplotlib colormap; got '
                        f'{type(colormap).__name__} {colormap!r}')
    rgba = np.array(colormap(values), dtype=np.float64)
    if rgba.shape != values.shape + (4,):
        raise ValueError(f'{name} must map a {values.shape} array to RGBA values of shape '
                         f'{values.shape + (4,)}; got shape {rgba.shape}')
    return rgba


def colorize_heatmap(heatmap: np.ndarray, colormap: Colormap = matplotlib.cm.viridis,
                     alpha_limit: Optional[float] = 0.65,
                     diverging_colormap: Colormap = DIVERGING_COLORMAP) -> np.ndarray:
    """Colour a heatmap, with opacity following its strength.

    A [0, 1] map goes through ``colormap``; a map with negative values goes
    through ``diverging_colormap`` with 0 at its centre.  The alpha channel is
    the value (the magnitude for signed maps), capped at ``alpha_limit``.

    Parameters
    ----------
    heatmap : numpy.ndarray
        2-D map in [0, 1] or [-1, 1].
    colormap, diverging_colormap : callable
        Map an array of [0, 1] values to RGBA floats (matplotlib colormaps do).
    alpha_limit : float or None
        Maximum opacity.

    Returns
    -------
    numpy.ndarray
        ``(h, w, 4)`` float RGBA in [0, 1].
    """
    heatmap = _check_heatmap(heatmap)
    limit = check_alpha_limit(alpha_limit)
    if float(np.min(heatmap)) < 0:
        rgba = _colors(diverging_colormap, (heatmap + 1.0) / 2.0, 'diverging_colormap')
        alpha = np.abs(heatmap)
    else:
        rgba = _colors(colormap, heatmap, 'colormap')
        alpha = heatmap
    rgba[..., 3] = alpha if limit is None else np.minimum(alpha, limit)
    return rgba


def heatmap_overlay(heatmap: np.ndarray, image: Image.Image,
                    resampling_filter: int = Image.Resampling.LANCZOS,
                    colormap: Colormap = matplotlib.cm.viridis,
                    alpha_limit: Optional[float] = 0.65,
                    diverging_colormap: Colormap = DIVERGING_COLORMAP) -> Image.Image:
    """Blend one heatmap over ``image``.

    The heatmap is coloured at its own resolution, then resized to the image
    with ``resampling_filter`` and alpha-composited over it (eli5 0.16's order).

    Parameters
    ----------
    heatmap : numpy.ndarray
        2-D map in [0, 1] or [-1, 1].
    image : PIL.Image.Image
        Any mode; converted to RGBA.
    resampling_filter, colormap, alpha_limit, diverging_colormap
        See :func:`format_as_image`.

    Returns
    -------
    PIL.Image.Image
        RGBA, the size of ``image``.
    """
    base = as_rgba(image)
    rgba = colorize_heatmap(heatmap, colormap, alpha_limit, diverging_colormap)
    colored = Image.fromarray((rgba * 255).astype(np.uint8), mode='RGBA')
    colored = colored.resize((base.width, base.height), resample=resampling_filter)
    return Image.alpha_composite(base, colored)


def as_rgba(image: object) -> Image.Image:
    """The picture to draw on, as RGBA (16/32-bit grey scaled to 8 bits first).

    Parameters
    ----------
    image : PIL.Image.Image

    Returns
    -------
    PIL.Image.Image
    """
    if not isinstance(image, Image.Image):
        raise TypeError('Explanation image must be a PIL.Image.Image instance; got '
                        f'{type(image).__name__}. Explain with image= or an image doc.')
    if image.width == 0 or image.height == 0:
        raise ValueError(f'Explanation image is empty (size {image.size}); nothing to draw on')
    if image.mode == 'RGBA':
        return image
    if image.mode.startswith('I') or image.mode == 'F':
        # 16/32-bit grey: scale to 8 bits before Pillow's RGBA conversion clips it
        values = np.asarray(image, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) / (high - low if high > low else 1.0) * 255.0
        image = Image.fromarray(scaled.round().astype(np.uint8), mode='L')
    if image.mode == 'La':      # premultiplied: Pillow converts it only to 'LA'
        image = image.convert('LA')
    return image.convert('RGBA')
