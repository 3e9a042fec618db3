"""Temporarily wrap layers' ``call`` methods, and always put them back.

This is how the adapter sees inside any Keras model (Functional, Sequential,
subclassed, nested, on every backend, and tf_keras) without graph surgery:
while a forward pass is traced or run, the chosen layers' ``call`` is an
instance attribute that calls the original method and hands its output to a
hook.  On exit, also after an exception, each layer's ``__dict__`` is exactly
as it was.
"""
from __future__ import annotations

import functools
from contextlib import contextmanager
from typing import Any, Callable, Iterator, List, Sequence, Tuple

from ..nn.errors import model_boundary, pass_through

__all__ = ['OutputHook', 'wrapped_calls', 'call_model']

#: ``hook(layer, inputs_args, outputs) -> outputs``: sees (and may replace) a
#: layer's output.
OutputHook = Callable[[Any, tuple, Any], Any]

_MISSING = object()


def _wrap(layer: Any, original: Callable[..., Any], hook: OutputHook) -> Callable[..., Any]:
    @functools.wraps(original)
    @pass_through
    def call(*args: Any, **kwargs: Any) -> Any:
        return hook(layer, args, original(*args, **kwargs))
    return call


@model_boundary
def call_model(model: Any, inputs: Any, **kwargs: Any) -> Any:
    """``model(inputs, **kwargs)``: where an explanation calls the user's model
    (what is raised below, outside this package, is the model's doing)."""
    return model(inputs, **kwargs)


@contextmanager
def wrapped_calls(hooks: Sequence[Tuple[Any, OutputHook]]) -> Iterator[None]:
    """Within the block, every ``layer.call`` passes its output through ``hook``.

    Parameters
    ----------
    hooks : sequence of (layer, hook)
        The layers to wrap and what to do with their outputs.

    Notes
    -----
    ``object.__setattr__`` and ``object.__delattr__`` are used so that neither
    Keras' attribute tracking nor ``torch.nn.Module.__setattr__`` sees the
    temporary attribute.
    """
    saved: List[Tuple[Any, object]] = []
    try:
        for layer, hook in hooks:
            previous = layer.__dict__.get('call', _MISSING)
            object.__setattr__(layer, 'call', _wrap(layer, layer.call, hook))
            saved.append((layer, previous))
        yield
    finally:
        for layer, previous in reversed(saved):
            if previous is _MISSING:
                object.__delattr__(layer, 'call')
            else:
                object.__setattr__(layer, 'call', previous)
