"""``format_as_image``: heatmaps drawn over the explained image.

A backward-compatible superset of eli5 0.16's :func:`eli5.format_as_image`:
the same parameters, defaults and pixels for one [0, 1] heatmap, plus

* signed heatmaps (``relu=False``) drawn with a diverging colormap centred at
  zero, opacity growing with the magnitude;
* ``target=`` to draw one target of several;
* a captioned grid of every target (name, score, probability) otherwise;
* heatmaps of any resolution, larger or smaller than the image.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, List, Optional, Union

import matplotlib
import numpy as np
from eli5.base import Explanation, TargetExplanation
from PIL import Image

from .overlay import DIVERGING_COLORMAP, Colormap, as_rgba, check_alpha_limit, heatmap_overlay

__all__ = ['format_as_image', 'select_target']

_CAPTION_PAD = 4

#: The values ``resampling_filter`` accepts: Pillow's filters.
_RESAMPLING_FILTERS = frozenset(int(f) for f in Image.Resampling)


def _check_has_image(expl: Explanation) -> None:
    """A named error for text and signal explanations, which have no image to draw on."""
    targets = expl.targets or []
    if any(getattr(t, 'weighted_spans', None) is not None for t in targets):
        raise ValueError('expl explains a text, which has no image to draw on: show its '
                         'highlighted tokens with eli5.format_as_html(expl) (in Jupyter '
                         'eli5.show_prediction), or list them with eli5.format_as_text(expl)')
    shapes = [np.shape(t.heatmap) for t in targets if getattr(t, 'heatmap', None) is not None]
    if shapes and all(len(shape) != 2 for shape in shapes):
        raise ValueError(f'expl explains a signal (heatmap of shape {shapes[0]}), which has '
                         'no image to draw on: read its weights with eli5.format_as_text(expl),'
                         ' eli5.format_as_dict(expl) or eli5.format_as_dataframe(expl), or '
                         'plot expl.targets[0].heatmap along the signal')


def _as_array(heatmap: object) -> np.ndarray:
    try:
        return np.asarray(heatmap)
    except (TypeError, ValueError) as exc:       # ragged nested lists
        raise ValueError('heatmap must be a 2-D array of numbers; got a '
                         f'{type(heatmap).__name__} that is not one') from exc


def select_target(expl: Explanation, target: object) -> TargetExplanation:
    """The target of ``expl`` whose label is ``target``.

    Parameters
    ----------
    expl : eli5.base.Explanation
    target : int or str
        A target label as shown in the explanation (a class index, or its
        name when ``target_names`` was given).

    Returns
    -------
    eli5.base.TargetExplanation
    """
    targets = expl.targets or []
    for candidate in targets:
        if candidate.target == target:
            return candidate
    available = [t.target for t in targets]
    raise ValueError(f'target {target!r} is not in this explanation; its targets are '
                     f'{available}')


def _caption(target: TargetExplanation) -> str:
    parts = [f'{target.target}']
    if target.score is not None:
        parts.append(f'score={target.score:.3f}')
    if target.proba is not None:
        parts.append(f'p={target.proba:.3f}')
    return '  '.join(parts)


def _font() -> Any:
    from PIL import ImageFont     # only grids need fonts: keep the import off the hot path
    try:
        return ImageFont.load_default(size=14)
    except TypeError:     # Pillow < 10.1 has no size
        return ImageFont.load_default()


def _grid(panels: List[Image.Image], captions: List[str],
          columns: Optional[int]) -> Image.Image:
    from PIL import ImageDraw
    font = _font()
    measure = ImageDraw.Draw(Image.new('RGBA', (1, 1)))
    boxes = [measure.textbbox((0, 0), text, font=font) for text in captions]
    caption_height = int(max(box[3] - box[1] for box in boxes)) + 2 * _CAPTION_PAD
    cell_width = max(max(p.width for p in panels),
                     int(max(box[2] - box[0] for box in boxes)) + 2 * _CAPTION_PAD)
    cell_height = max(p.height for p in panels) + caption_height
    columns = min(len(panels), columns or min(len(panels), 4))
    rows = math.ceil(len(panels) / columns)
    sheet = Image.new('RGBA', (columns * cell_width, rows * cell_height), 'white')
    draw = ImageDraw.Draw(sheet)
    for number, (panel, text) in enumerate(zip(panels, captions)):
        left = (number % columns) * cell_width
        top = (number // columns) * cell_height
        draw.text((left + _CAPTION_PAD, top + _CAPTION_PAD), text, fill='black', font=font)
        sheet.paste(panel, (left, top + caption_height))
    return sheet


def _check_drawing_options(alpha_limit: object, columns: object,
                           resampling_filter: object) -> None:
    """Named errors for ``format_as_image``'s drawing arguments."""
    check_alpha_limit(alpha_limit)
    if columns is not None and (isinstance(columns, bool) or
                                not isinstance(columns, numbers.Integral)):
        raise TypeError(f'columns must be a positive int; got {type(columns).__name__} '
                        f'{columns!r}')
    if columns is not None and columns < 1:
        raise ValueError(f'columns must be a positive int; got {columns!r}')
    if resampling_filter not in _RESAMPLING_FILTERS:
        raise ValueError(f'resampling_filter must be a Pillow filter, one of '
                         f'{sorted(_RESAMPLING_FILTERS)} (e.g. PIL.Image.LANCZOS); got '
                         f'{resampling_filter!r}')


def format_as_image(expl: Explanation,
                    resampling_filter: int = Image.Resampling.LANCZOS,
                    colormap: Colormap = matplotlib.cm.viridis,
                    alpha_limit: Optional[Union[float, int]] = 0.65,
                    *,
                    target: object = None,
                    columns: Optional[int] = None,
                    diverging_colormap: Colormap = DIVERGING_COLORMAP) -> Image.Image:
    """Draw an explanation's heatmap(s) over its image.

    Replaces :func:`eli5.format_as_image` once ``eli5_gradcam`` is imported;
    for one [0, 1] heatmap the result is eli5 0.16's, pixel for pixel.

    Parameters
    ----------
    expl : eli5.base.Explanation
        With ``image`` (a PIL image) and ``targets`` whose ``heatmap`` is a
        2-D array in [0, 1], or [-1, 1] for signed maps (``relu=False``).
    resampling_filter : int
        Pillow filter used to resize the coloured heatmap to the image
        (default ``PIL.Image.LANCZOS``).
    colormap : callable
        Colormap for [0, 1] maps: a matplotlib colormap or any callable from a
        2-D array to RGBA floats (default ``matplotlib.cm.viridis``).
    alpha_limit : float or None
        Maximum opacity of the heatmap, in [0, 1] (default 0.65).
    target : int or str, optional
        Draw only this target (its label as in ``expl.targets``).
    columns : int, optional
        Columns of the grid drawn for several targets (default up to 4).
    diverging_colormap : callable
        Colormap for signed maps, centred at 0 (default ``RdBu_r``).

    Returns
    -------
    PIL.Image.Image
        RGBA: the image with the heatmap blended in; for several targets (and
        no ``target``) a grid of such images captioned with each target's
        name, score and probability.

    Raises
    ------
    TypeError
        ``expl.image`` is not a PIL image, or a heatmap is not an array.
    ValueError
        ``expl`` explains a text or a signal, which has no image (use
        ``format_as_html``, ``format_as_text``, ``format_as_dict`` or
        ``format_as_dataframe``).
        A heatmap is not 2-D or outside [-1, 1], ``alpha_limit`` is outside
        [0, 1], or ``target`` is not among the targets.

    Examples
    --------
    >>> import eli5, eli5_gradcam                             # doctest: +SKIP
    >>> expl = eli5.explain_prediction(model, doc, targets=[3, 5])  # doctest: +SKIP
    >>> eli5.format_as_image(expl)               # a grid of both  # doctest: +SKIP
    >>> eli5.format_as_image(expl, target=5)     # one overlay     # doctest: +SKIP
    """
    if not isinstance(expl, Explanation):
        raise TypeError(f'expl must be an eli5.base.Explanation; got {type(expl).__name__}')
    if expl.image is None:
        _check_has_image(expl)
    image = as_rgba(expl.image)
    _check_drawing_options(alpha_limit, columns, resampling_filter)
    if not expl.targets:
        return image
    for item in expl.targets:
        if not isinstance(item, TargetExplanation):
            raise TypeError('expl.targets must hold eli5.base.TargetExplanation objects; got '
                            f'{type(item).__name__}')
    chosen = [select_target(expl, target)] if target is not None else list(expl.targets)
    for item in chosen:
        if item.heatmap is None:
            raise ValueError(f'target {item.target!r} has no heatmap to draw')
    limit = None if alpha_limit is None else float(alpha_limit)
    panels = [heatmap_overlay(_as_array(item.heatmap), image, resampling_filter, colormap,
                              limit, diverging_colormap) for item in chosen]
    if len(panels) == 1:
        return panels[0]
    return _grid(panels, [_caption(item) for item in chosen], columns)
