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
from typing import TYPE_CHECKING, Any

from ._version import __version__
from ._quiet import quiet_start
quiet_start()               # eli5-gradcam's own command line only: no TensorFlow start-up lines
from . import _dispatch  # noqa: E402
from .batch import explain_predictions
from .formatters import format_as_image
from .formatters.install import install as _install_formatters

if TYPE_CHECKING:
    from .nn import FlatHeatmapWarning, image_from_path
    from .nn.image import image_array_from_path

__all__ = ['__version__', 'explain_predictions', 'format_as_image', 'image_from_path',
           'image_array_from_path', 'FlatHeatmapWarning']

#: Names served from the numpy core on first use (PEP 562): ``import
#: eli5_gradcam`` loads only what registering with eli5 needs, and the core
#: (about half of the import's time) comes with the first explanation.
_LAZY = {'FlatHeatmapWarning': 'gradcam', 'image_from_path': 'image',
         'image_array_from_path': 'image'}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(f'{__name__}.nn.{_LAZY[name]}'), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def __dir__() -> list:
    return sorted(set(globals()) | set(__all__))


_dispatch.register()
_install_formatters()
