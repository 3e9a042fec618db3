"""Make eli5's public formatter entry points use this package's formatters.

eli5 is another distribution, so nothing is written into its files; the
names users call are rebound, in memory, when ``eli5_gradcam`` is imported:

* ``eli5.format_as_image`` and ``eli5.formatters.format_as_image`` become
  :func:`eli5_gradcam.formatters.format_as_image`; so does the reference
  ``eli5.ipython`` holds, which is what the image branch of
  :func:`eli5.show_prediction` calls, and ``show_prediction`` learns the new
  keyword arguments (``target``, ``columns``, ``diverging_colormap``);
* ``eli5.format_as_dict`` and ``eli5.formatters.format_as_dict`` turn an
  explanation's PIL image into a PNG data URI, so the result stays
  JSON-serialisable;
* ``eli5.format_as_html``, ``eli5.formatters.format_as_html`` and the
  reference ``eli5.ipython`` holds become
  :func:`eli5_gradcam.formatters.html.format_as_html`: image explanations are
  drawn as their overlays, scores and strongest regions, everything else is
  eli5's HTML, unchanged;
* ``eli5.format_as_text`` and ``eli5.formatters.format_as_text`` become
  :func:`eli5_gradcam.formatters.text.format_as_text`: eli5's text, with a
  target's "... N more positive ..." line under its table where eli5 0.16
  prints it above (targets without negative features);
* :class:`eli5.base.Explanation`'s ``_repr_html_`` (what Jupyter shows for an
  explanation that ends a cell) draws image explanations as their overlays
  under each target's scores, instead of eli5's tables of grid cells.

eli5's own functions stay where they were defined
(``eli5.formatters.image.format_as_image``, ``eli5.formatters.as_dict.format_as_dict``,
``eli5.formatters.html.format_as_html``, ``eli5.formatters.text.format_as_text``).
"""
from __future__ import annotations

import html
import sys
from typing import Any

import attr
import eli5
import eli5.formatters
from eli5.base import Explanation
from eli5.formatters import fields
from eli5.formatters.as_dict import format_as_dict as _eli5_format_as_dict
from PIL import Image

from .html import format_as_html, image_to_data_uri, is_image_explanation
from .image import format_as_image
from .text import format_as_text

__all__ = ['install', 'format_as_dict', 'explanation_repr_html', 'image_to_data_uri',
           'IMAGE_FORMAT_KWARGS']

#: Keyword arguments of our format_as_image that eli5.show_prediction must
#: route to the formatter rather than to explain_prediction.
IMAGE_FORMAT_KWARGS = frozenset({'target', 'columns', 'diverging_colormap'})


def format_as_dict(explanation: Any) -> Any:
    """eli5's :func:`eli5.format_as_dict`, JSON-serialisable for image explanations.

    The ``image`` of an explanation becomes a PNG data URI string; heatmaps
    become nested lists, as eli5 does for every array.

    Parameters
    ----------
    explanation : eli5.base.Explanation or a part of one

    Returns
    -------
    dict
    """
    if isinstance(explanation, Explanation) and isinstance(explanation.image, Image.Image):
        result = _eli5_format_as_dict(attr.evolve(explanation, image=None))
        result['image'] = image_to_data_uri(explanation.image)
        return result
    return _eli5_format_as_dict(explanation)


_eli5_repr_html = Explanation._repr_html_


def explanation_repr_html(explanation: Explanation) -> str:
    """Jupyter's view of an explanation: overlays and scores for image kinds.

    An image explanation (see
    :func:`~eli5_gradcam.formatters.html.is_image_explanation`) is formatted
    by :func:`~eli5_gradcam.formatters.html.format_as_html` with the
    arguments eli5's own ``_repr_html_`` passes (``force_weights=False``,
    ``show=fields.WEIGHTS``): one overlay per target under its
    ``y=... (probability ..., score ...)`` header, which names only the
    numbers the target has (no probability for a model without a softmax).
    Other explanations get eli5's view.

    Parameters
    ----------
    explanation : eli5.base.Explanation

    Returns
    -------
    str
        HTML.
    """
    if not is_image_explanation(explanation):
        return str(_eli5_repr_html(explanation))
    try:
        return format_as_html(explanation, force_weights=False, show=fields.WEIGHTS)
    except (TypeError, ValueError) as exc:      # Jupyter would show no output at all
        return (f'<p>cannot draw the heatmap: {html.escape(str(exc))}</p>'
                + str(_eli5_repr_html(explanation)))


def install() -> None:
    """Rebind eli5's formatter entry points (idempotent)."""
    for module in (eli5, eli5.formatters):
        setattr(module, 'format_as_image', format_as_image)
        setattr(module, 'format_as_dict', format_as_dict)
        setattr(module, 'format_as_html', format_as_html)
        setattr(module, 'format_as_text', format_as_text)
    setattr(Explanation, '_repr_html_', explanation_repr_html)
    ipython = sys.modules.get('eli5.ipython')
    if ipython is not None:
        setattr(ipython, 'format_as_image', format_as_image)
        setattr(ipython, 'format_as_html', format_as_html)
        kwargs = getattr(ipython, 'FORMAT_KWARGS', None)
        if isinstance(kwargs, set):
            kwargs.update(IMAGE_FORMAT_KWARGS)
