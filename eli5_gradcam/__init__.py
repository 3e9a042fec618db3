"""Grad-CAM explanations of neural-network predictions for eli5.

Importing this package registers its explainers with
:func:`eli5.explain_prediction` for PyTorch ``nn.Module``, Keras 3 and
``tf_keras`` models, and makes :func:`eli5.format_as_image` /
:func:`eli5.show_prediction` use :func:`eli5_gradcam.format_as_image`.
It imports no framework: an adapter is imported the first time a model of its
framework is explained.

>>> import eli5, eli5_gradcam                              # doctest: +SKIP
>>> expl = eli5.explain_prediction(model, doc, image=img)  # doctest: +SKIP
>>> eli5.format_as_image(expl)                              # doctest: +SKIP
"""
from ._version import __version__
from . import _dispatch
from .batch import explain_predictions
from .formatters import format_as_image
from .formatters.install import install as _install_formatters
from .nn import FlatHeatmapWarning, image_from_path

__all__ = ['__version__', 'explain_predictions', 'format_as_image', 'image_from_path',
           'FlatHeatmapWarning']

_dispatch.register()
_install_formatters()
