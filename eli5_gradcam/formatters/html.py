"""``format_as_html`` for image explanations: the overlay, the scores, the strongest regions.

eli5's HTML formatter knows nothing of ``Explanation.image``: for an image
explanation it prints only tables of grid cells ("row r, col c", with
"... 3126 more positive ..." on a large grid) and the description in a
``<pre>`` that runs off the page.  :func:`format_as_html` draws image
explanations itself and hands every other explanation to eli5's formatter,
untouched.
"""
from __future__ import annotations

import base64
import html
import io
from typing import Any, Iterable, List, Optional, Sequence, Tuple

import attr
import numpy as np
from eli5.base import Explanation, TargetExplanation
from eli5.formatters import fields
from eli5.formatters.html import format_as_html as _eli5_format_as_html
from PIL import Image

from .image import format_as_image

__all__ = ['format_as_html', 'is_image_explanation', 'image_explanation_html',
           'strongest_regions', 'image_to_data_uri', 'STRONGEST_REGIONS']

#: How many of a heatmap's strongest cells the HTML lists, per sign.
STRONGEST_REGIONS = 5

_FIGURES_STYLE = 'display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start;'
_FIGURE_STYLE = 'margin: 0 0 1em 0; max-width: 100%;'
_TEXT_STYLE = 'max-width: 50em; white-space: normal; overflow-wrap: anywhere;'
_TABLE_STYLE = 'border-collapse: collapse; border: none; margin-top: 0.5em;'
_CELL_STYLE = 'padding: 0 0.5em; border: none; text-align: left;'
_WEIGHT_STYLE = 'padding: 0 0.5em; border: none; text-align: right;'


def image_to_data_uri(image: Image.Image) -> str:
    """A PIL image as a ``data:image/png;base64,...`` string."""
    buffer = io.BytesIO()
    image.save(buffer, format='PNG')
    return 'data:image/png;base64,' + base64.b64encode(buffer.getvalue()).decode('ascii')


def is_image_explanation(explanation: object) -> bool:
    """Whether :func:`format_as_html` draws ``explanation`` itself.

    True for an :class:`eli5.base.Explanation` whose ``image`` is a PIL image
    and whose targets all have a 2-D ``heatmap``; everything else is eli5's
    to format.
    """
    if not isinstance(explanation, Explanation) or not isinstance(explanation.image,
                                                                    Image.Image):
        return False
    targets = explanation.targets or []
    return bool(targets) and all(_is_2d(target) for target in targets)


def _is_2d(target: object) -> bool:
    heatmap = getattr(target, 'heatmap', None)
    if heatmap is None:
        return False
    try:
        return bool(np.ndim(heatmap) == 2)
    except ValueError:          # ragged nested lists
        return False


def strongest_regions(heatmap: Any, top: int = STRONGEST_REGIONS
                      ) -> List[Tuple[Tuple[int, int], float]]:
    """The ``top`` strongest positive cells of a 2-D heatmap, then the ``top`` most negative.

    Parameters
    ----------
    heatmap : array-like
        2-D map, ``(rows, columns)`` of the explained layer's grid.
    top : int
        How many cells of each sign to return.

    Returns
    -------
    list of ((row, column), weight)
        Positive cells by decreasing weight, then negative cells by
        decreasing magnitude; cells equal to 0 are left out.
    """
    values = np.asarray(heatmap, dtype=np.float64)
    flat = values.ravel()
    order = np.argsort(-flat, kind='stable')
    positive = [i for i in order[:top].tolist() if flat[i] > 0]
    negative = [i for i in order[::-1][:top].tolist() if flat[i] < 0]
    cells = []
    for index in positive + negative:
        row, column = np.unravel_index(index, values.shape)
        cells.append(((int(row), int(column)), float(flat[index])))
    return cells


def _pixel_span(cell: int, cells: int, pixels: int) -> str:
    return f'{round(cell * pixels / cells)}&ndash;{round((cell + 1) * pixels / cells)}'


def _regions_table(heatmap: Any, image: Image.Image) -> str:
    """The strongest cells, on the layer's grid and in ``image``'s pixels."""
    grid_rows, grid_columns = np.shape(heatmap)
    rows = []
    for (row, column), weight in strongest_regions(heatmap):
        where = (f'row {row}, col {column} '
                 f'(x {_pixel_span(column, grid_columns, image.width)}, '
                 f'y {_pixel_span(row, grid_rows, image.height)} px)')
        rows.append(f'<tr><td style="{_WEIGHT_STYLE}">{weight:+.3f}</td>'
                    f'<td style="{_CELL_STYLE}">{where}</td></tr>')
    if not rows:
        return '<p>The heatmap is zero everywhere: no region stands out.</p>'
    return (f'<table style="{_TABLE_STYLE}"><tr>'
            f'<th style="{_WEIGHT_STYLE}">Weight</th>'
            f'<th style="{_CELL_STYLE}">Strongest regions '
            f'({grid_rows}&times;{grid_columns} grid)</th></tr>{"".join(rows)}</table>')


def _target_header(target: TargetExplanation, is_regression: bool) -> str:
    """eli5's ``y=label (probability p, score s)``, with only the numbers there are."""
    scores = []
    if target.proba is not None:
        scores.append(f'probability {target.proba:.3f}')
    if target.score is not None:
        scores.append(f'score {target.score:.3f}')
    label = html.escape(str(target.target))
    name = label if is_regression else f'y={label}'
    return f'<b>{name}</b>' + (f' ({", ".join(scores)})' if scores else '')


def _figure(explanation: Explanation, target: TargetExplanation, *, regions: bool,
            overlays: bool) -> str:
    parts = [f'<figure style="{_FIGURE_STYLE}">',
             f'<figcaption>{_target_header(target, bool(explanation.is_regression))}'
             '</figcaption>']
    if overlays:
        overlay = format_as_image(attr.evolve(explanation, targets=[target]))
        alt = html.escape(f'heatmap of {target.target!r} over the image', quote=True)
        parts.append(f'<img src="{image_to_data_uri(overlay)}" alt="{alt}" '
                     f'width="{overlay.width}" style="max-width: 100%; height: auto;">')
    if regions:
        parts.append(_regions_table(target.heatmap, explanation.image))
    parts.append('</figure>')
    return ''.join(parts)


def image_explanation_html(explanation: Explanation,
                           *,
                           show: Iterable[str] = fields.ALL,
                           regions: bool = True,
                           overlays: bool = True) -> str:
    """HTML for an image explanation (see :func:`is_image_explanation`).

    Parameters
    ----------
    explanation : eli5.base.Explanation
    show : sequence of str
        eli5's sections, in order: ``'method'``, ``'description'`` and
        ``'targets'`` (one overlay per target with its header, and the
        strongest regions) are drawn; the others have nothing to show here.
    regions : bool
        List each target's strongest cells under its overlay.
    overlays : bool
        Draw the overlays; ``False`` leaves only the headers and regions,
        for a page that shows :func:`~eli5_gradcam.formatters.format_as_image`'s
        picture already.

    Returns
    -------
    str
        HTML with the overlays inline as PNG data URIs.
    """
    parts = []
    for key in show:
        if key == 'method' and explanation.method:
            parts.append(f'<p>Explained as: {html.escape(str(explanation.method))}</p>')
        elif key == 'description' and explanation.description:
            parts.append(f'<p style="{_TEXT_STYLE}">'
                         f'{html.escape(str(explanation.description))}</p>')
        elif key == 'targets':
            figures = ''.join(_figure(explanation, target, regions=regions,
                                      overlays=overlays)
                              for target in explanation.targets or [])
            parts.append(f'<div style="{_FIGURES_STYLE}">{figures}</div>')
    if explanation.error:
        parts.append('<div style="background-color: #fdd; padding: 0.5em;">'
                     f'Error: {html.escape(str(explanation.error))}</div>')
    return '\n'.join(parts)


def format_as_html(explanation: Explanation,
                   include_styles: bool = True,
                   force_weights: bool = True,
                   show: Sequence[str] = fields.ALL,
                   preserve_density: Optional[bool] = None,
                   highlight_spaces: Optional[bool] = None,
                   horizontal_layout: bool = True,
                   show_feature_values: bool = False) -> str:
    """eli5's :func:`eli5.format_as_html`, drawing image explanations.

    Replaces :func:`eli5.format_as_html` once ``eli5_gradcam`` is imported.
    An image explanation (:func:`is_image_explanation`) becomes its
    overlay(s) as inline PNG images, each under its target's
    ``y=... (probability ..., score ...)`` header, with the heatmap's
    strongest cells listed below it (their place on the layer's grid and in
    the image's pixels).  Any other explanation is formatted by eli5's own
    function with the same arguments, byte for byte.

    Parameters
    ----------
    explanation : eli5.base.Explanation
    include_styles, preserve_density, highlight_spaces, horizontal_layout, show_feature_values
        eli5's; they have no effect on image explanations.
    force_weights : bool
        For image explanations, ``False`` leaves out the lists of strongest
        regions (the overlay shows them), as eli5 leaves out weight tables
        for highlighted text.
    show : sequence of str
        eli5's sections to show (``eli5.formatters.fields``).

    Returns
    -------
    str
        HTML.
    """
    if is_image_explanation(explanation):
        return image_explanation_html(explanation, show=show, regions=force_weights)
    return _eli5_format_as_html(
        explanation, include_styles=include_styles, force_weights=force_weights, show=show,
        preserve_density=preserve_density, highlight_spaces=highlight_spaces,
        horizontal_layout=horizontal_layout, show_feature_values=show_feature_values)
