"""What the Keras adapter builds per model, cached for as long as the model lives.

Probes, plans and compiled forward+gradient functions live in one
:class:`~eli5_gradcam._cache.ModelCache` keyed weakly by the model, so they go
when the model goes.  Compiled functions reach the model through
:func:`weakref.ref` only, or the entry would keep its own key alive.
"""
from __future__ import annotations

from typing import Any, Callable, Hashable, TypeVar

from .._cache import ModelCache

__all__ = ['CACHE', 'cached']

T = TypeVar('T')

CACHE = ModelCache()


def cached(model: Any, key: Hashable, build: Callable[[], T]) -> T:
    """``build()`` once per ``(model, key)``; later calls return the same object."""
    return CACHE.get_or_build(model, key, build)
