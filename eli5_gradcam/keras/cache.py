"""What the Keras adapter builds per model, cached for as long as the model lives.

Probes, plans and compiled forward+gradient functions live in one
:class:`~eli5_gradcam._cache.ModelCache` keyed weakly by the model, so they go
when the model goes.  Compiled functions reach the model through
:func:`weakref.ref` only, or the entry would keep its own key alive.
"""
from __future__ import annotations

from typing import Any, Callable, Hashable, TypeVar

from .._cache import ModelCache

__all__ = ['CACHE', 'FUNCTION_CACHE', 'cached']

T = TypeVar('T')

CACHE = ModelCache()

#: What is built for score-function targets (their compiled steps are traced
#: per function object): the 8 newest per model, so that a new function object
#: per call cannot grow memory without bound.
FUNCTION_CACHE = ModelCache(limit=8)


def cached(model: Any, key: Hashable, build: Callable[[], T], functions: tuple = ()) -> T:
    """``build()`` once per ``(model, key)``; later calls return the same object.

    With score ``functions`` (which the built object depends on), the key
    includes them and the entry goes to the bounded :data:`FUNCTION_CACHE`,
    which also keeps them alive while it holds the entry.
    """
    if functions:
        return FUNCTION_CACHE.get_or_build(
            model, (key, tuple(id(f) for f in functions)), build)
    return CACHE.get_or_build(model, key, build)
