"""Per-model caches tied to the model's lifetime.

What an adapter learns or builds for a model (the chosen layer and its
layout, a compiled forward+gradient function) is kept in a
:class:`weakref.WeakKeyDictionary` keyed by the model, so it goes when the
model goes.  Nothing cached may hold a strong reference to the model itself,
or the entry would keep its own key alive.
"""
from __future__ import annotations

import threading
import weakref
from typing import Any, Callable, Dict, Hashable, Optional, TypeVar

__all__ = ['ModelCache']

T = TypeVar('T')


class ModelCache:
    """A ``(model, key) -> value`` store that forgets a model when it is collected."""

    def __init__(self, limit: Optional[int] = None) -> None:
        self._entries: 'weakref.WeakKeyDictionary[Any, Dict[Hashable, Any]]' = (
            weakref.WeakKeyDictionary())
        self._lock = threading.Lock()
        #: Most entries kept per model (the oldest go first); None: no limit.
        self.limit = limit

    def get(self, model: Any, key: Hashable) -> Optional[Any]:
        """The value stored for ``(model, key)``, or None."""
        with self._lock:
            return self._entries.get(model, {}).get(key)

    def put(self, model: Any, key: Hashable, value: Any) -> None:
        """Store ``value`` for ``(model, key)``."""
        with self._lock:
            entries = self._entries.setdefault(model, {})
            entries[key] = value
            while self.limit is not None and len(entries) > self.limit:
                del entries[next(iter(entries))]

    def get_or_build(self, model: Any, key: Hashable, build: Callable[[], T]) -> T:
        """``build()`` once per ``(model, key)``; later calls return the same object."""
        value = self.get(model, key)
        if value is None:
            value = build()
            self.put(model, key, value)
        return value

    def clear(self, model: Any = None) -> None:
        """Forget ``model`` (every model when None)."""
        with self._lock:
            if model is None:
                self._entries.clear()
            else:
                self._entries.pop(model, None)

    def __len__(self) -> int:
        with self._lock:
            return sum(len(entries) for entries in self._entries.values())
