"""What the Keras adapter builds per model, and a counter of compiled-function traces.

Probes, plans and compiled forward+gradient functions live in one
:class:`~eli5_gradcam._cache.ModelCache` keyed weakly by the model, so they go
when the model goes.  Compiled functions reach the model through
:func:`weakref.ref` only, or the entry would keep its own key alive.
"""
from __future__ import annotations

from typing import Any, Callable, Hashable, TypeVar

from .._cache import ModelCache

__all__ = ['CACHE', 'cached', 'clear', 'count_trace', 'trace_count']

T = TypeVar('T')

CACHE = ModelCache()
_TRACES = [0]


def cached(model: Any, key: Hashable, build: Callable[[], T]) -> T:
    """``build()`` once per ``(model, key)``; later calls return the same object."""
    return CACHE.get_or_build(model, key, build)


def clear(model: Any = None) -> None:
    """Forget what was built for ``model`` (every model when None)."""
    CACHE.clear(model)


def count_trace() -> None:
    """Called from inside a compiled function's Python body: once per trace."""
    _TRACES[0] += 1


def trace_count() -> int:
    """How many times compiled functions were traced in this process."""
    return _TRACES[0]
