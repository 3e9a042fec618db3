"""The framework-agnostic core: numpy (+scipy, Pillow) only.

Adapters return a :class:`LayerCapture`; everything else happens here, driven
by :func:`~eli5_gradcam.nn.driver.explain_documents` with the options of
:class:`ExplainOptions`.
"""
from .capture import LayerCapture
from .explanation import GradCAMExplanation, explain_capture
from .gradcam import (EPS, METHODS, FlatHeatmapWarning, compute_heatmaps,
                      gradcam_heatmaps, normalize_heatmaps, resolve_method)
from .image import doc_to_image, image_from_path
from .kinds import KINDS, input_kind
from .options import ExplainOptions
from .targets import resolve_targets

__all__ = [
    'LayerCapture', 'KINDS', 'explain_capture', 'input_kind', 'EPS', 'METHODS',
    'FlatHeatmapWarning', 'compute_heatmaps', 'gradcam_heatmaps', 'normalize_heatmaps',
    'resolve_method', 'doc_to_image', 'image_from_path', 'resolve_targets',
    'ExplainOptions', 'GradCAMExplanation',
]
