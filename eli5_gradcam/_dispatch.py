"""Lazy registration of the explainers with :func:`eli5.explain_prediction`.

eli5 dispatches on the model's type with :func:`functools.singledispatch`.
Registering for ``torch.nn.Module`` or ``keras.Model`` would need those
classes, that is, importing the frameworks; instead (as dask's
``Dispatch.register_lazy`` does) the framework of a model is read from the
top-level module names of its type's MRO, and the adapter is imported the
first time a model of that framework is explained.

* A router is registered for ``object``: eli5's fallback.  Models of a known
  framework go to their adapter; anything else gets eli5's original answer.
* Where a framework's base class is already imported (eli5 itself imports
  keras when it is installed, and registers its own TensorFlow-only Keras
  explainer), the router is registered for that class too, so ours wins
  whatever the import order: eli5 registers only at its own import, which
  always happens before this module runs.
"""
from __future__ import annotations

import importlib
import sys
from typing import Any, Callable, Dict, Optional

import eli5
from eli5.base import Explanation

__all__ = ['FRAMEWORK_ADAPTERS', 'framework_of', 'adapter_for', 'adapter_of',
           'explain_prediction_router',
           'register']

#: Top-level module of a model's class -> (adapter module, its explain function,
#: its :class:`~eli5_gradcam.nn.driver.Adapter` instance).
FRAMEWORK_ADAPTERS: Dict[str, tuple] = {
    'keras': ('eli5_gradcam.keras', 'explain_prediction_keras', 'KERAS'),
    'tf_keras': ('eli5_gradcam.keras', 'explain_prediction_keras', 'KERAS'),
    'torch': ('eli5_gradcam.pytorch', 'explain_prediction_pytorch', 'PYTORCH'),
}

#: Where each framework keeps the base class to register for, once imported.
_BASE_CLASSES = {'keras': 'Model', 'tf_keras': 'Model', 'torch': 'nn.Module'}

_fallback: Optional[Callable[..., Explanation]] = None


def framework_of(model: object) -> Optional[str]:
    """The framework a model belongs to, from its type's MRO, or None.

    The first class in the MRO whose module is a known framework decides:
    a Keras model on the torch backend (which is also a ``torch.nn.Module``)
    is a Keras model.
    """
    for cls in type(model).__mro__:
        top = (getattr(cls, '__module__', '') or '').split('.')[0]
        if top in FRAMEWORK_ADAPTERS:
            return top
    return None


def adapter_for(framework: str) -> Callable[..., Explanation]:
    """Import (once) and return the explain function for ``framework``."""
    module_name, function_name, _ = FRAMEWORK_ADAPTERS[framework]
    module = importlib.import_module(module_name)
    explain: Callable[..., Explanation] = getattr(module, function_name)
    return explain


def adapter_of(model: object) -> Any:
    """The :class:`~eli5_gradcam.nn.driver.Adapter` for ``model``'s framework.

    Raises
    ------
    TypeError
        ``model`` is not a PyTorch, Keras or tf_keras model.
    """
    framework = framework_of(model)
    if framework is None:
        raise TypeError('model must be a PyTorch nn.Module, a Keras 3 Model or a tf_keras '
                        f'Model; got {type(model).__name__}')
    module_name, _, adapter_name = FRAMEWORK_ADAPTERS[framework]
    return getattr(importlib.import_module(module_name), adapter_name)


def explain_prediction_router(estimator: Any, doc: Any, **kwargs: Any) -> Explanation:
    """What eli5 dispatches to: a framework's adapter, or eli5's fallback.

    See :func:`eli5_gradcam.pytorch.explain_prediction_pytorch` and
    :func:`eli5_gradcam.keras.explain_prediction_keras` for the arguments.
    """
    framework = framework_of(estimator)
    if framework is None:
        assert _fallback is not None
        return _fallback(estimator, doc, **kwargs)
    return adapter_for(framework)(estimator, doc, **kwargs)


def _base_class(framework: str) -> Optional[type]:
    module = sys.modules.get(framework)
    if module is None:
        return None
    obj: Any = module
    for part in _BASE_CLASSES[framework].split('.'):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj if isinstance(obj, type) else None


def register() -> None:
    """Register the router with :func:`eli5.explain_prediction` (idempotent)."""
    global _fallback
    dispatcher = eli5.explain_prediction
    if _fallback is None:
        _fallback = dispatcher.dispatch(object)
    dispatcher.register(object)(explain_prediction_router)
    for framework in FRAMEWORK_ADAPTERS:
        base = _base_class(framework)
        if base is not None:
            dispatcher.register(base)(explain_prediction_router)
