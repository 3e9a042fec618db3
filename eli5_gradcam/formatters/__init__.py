"""Formatters: :func:`format_as_image` (eli5 0.16's, extended) and helpers."""
from .html import format_as_html
from .image import format_as_image, select_target
from .install import format_as_dict
from .overlay import colorize_heatmap, heatmap_overlay
from .text import format_as_text

__all__ = ['format_as_image', 'format_as_dict', 'format_as_html', 'format_as_text',
           'heatmap_overlay', 'colorize_heatmap', 'select_target']
