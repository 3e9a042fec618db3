"""The checks of :class:`~eli5_gradcam.nn.options.ExplainOptions`, one per kind of
value: each returns the value normalised or raises a TypeError / ValueError
that names the option, what was given and what is allowed."""
from __future__ import annotations

import numbers
from typing import Any, Mapping, Optional, Sequence, Tuple

import numpy as np

from .targets import is_index

__all__ = ['SCORES', 'SMOOTHING', 'check_bool', 'check_choice', 'check_count', 'as_targets',
           'as_smoothing', 'as_layer', 'check_target_names']

#: Accepted values of ``score``.
SCORES = ('auto', 'output')

#: Accepted values of ``smooth`` (one, or several joined by ``'+'`` or in a list).
SMOOTHING = ('aug', 'eigen')


def check_bool(name: str, value: Any) -> bool:
    """``value`` as a bool, or a TypeError naming ``name``."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f'{name} must be True or False; got {type(value).__name__} {value!r}')
    return bool(value)


def check_choice(name: str, value: Any, allowed: tuple) -> None:
    if not (isinstance(value, str) or (value is None and None in allowed)):
        raise TypeError(f'{name} must be one of {allowed}; got {type(value).__name__} '
                        f'{value!r}')
    if value not in allowed:
        raise ValueError(f'{name} must be one of {allowed}; got {value!r}')


def check_count(name: str, value: Any) -> Optional[int]:
    """None, or ``value`` as a positive int (TypeError / ValueError naming ``name``)."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f'{name} must be a positive int or None; got '
                        f'{type(value).__name__} {value!r}')
    if value < 1:
        raise ValueError(f'{name} must be a positive int or None; got {value!r}')
    return int(value)


def as_targets(targets: Any) -> Optional[Tuple[Any, ...]]:
    if targets is None:
        return None
    if is_index(targets) or isinstance(targets, (str, np.str_)):
        items: Tuple[Any, ...] = (targets,)
    elif isinstance(targets, np.ndarray):
        items = tuple(targets.ravel().tolist())
    elif isinstance(targets, Sequence) and not isinstance(targets, bytes):
        items = tuple(targets)
    else:
        raise TypeError('targets must be a list of int indices or str names, or None; '
                        f'got {type(targets).__name__}')
    if not items:
        raise ValueError('targets is empty; pass None for the top prediction')
    for item in items:
        if not (is_index(item) or isinstance(item, (str, np.str_)) or callable(item)):
            raise TypeError('targets must hold int indices, str names or score functions '
                            f'(callables); got {type(item).__name__} {item!r}')
    return tuple(int(t) if is_index(t) else t if callable(t) else str(t) for t in items)


def as_smoothing(smooth: Any) -> Tuple[str, ...]:
    """``smooth`` as a sorted tuple of :data:`SMOOTHING` names (empty: none)."""
    if smooth is None or smooth == ():      # () is the normalised 'none'
        return ()
    if isinstance(smooth, str):
        items: Sequence[Any] = smooth.split('+')
    elif isinstance(smooth, (list, tuple)):
        items = smooth
    else:
        raise TypeError(f'smooth must be None, one of {SMOOTHING} or a list of them; got '
                        f'{type(smooth).__name__} {smooth!r}')
    if not items:
        raise ValueError(f'smooth is empty; pass None for no smoothing, or one of {SMOOTHING}')
    names = []
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f'smooth must hold str names, one of {SMOOTHING}; got '
                            f'{type(item).__name__} {item!r}')
        if item.strip().lower() not in SMOOTHING:
            raise ValueError(f'smooth must be None, one of {SMOOTHING} or several of them '
                             f"('aug+eigen'); got {smooth!r}")
        names.append(item.strip().lower())
    return tuple(sorted(set(names)))


def as_layer(layer: Any) -> Any:
    """``layer`` with several layers as a tuple: a list, a tuple or ``'a+b'``."""
    if isinstance(layer, str) and '+' in layer:
        layer = layer.split('+')
        if any(not part.strip() for part in layer):
            raise ValueError(f"layer: {'+'.join(layer)!r} has an empty name between '+' signs; "
                             "list several layers as 'a+b' or ['a', 'b']")
        layer = [part.strip() for part in layer]
    if not isinstance(layer, (list, tuple)):
        return layer
    if not layer:
        raise ValueError('layer is an empty list; give at least one layer, or None to '
                         'choose one automatically')
    for item in layer:
        if item is None or isinstance(item, (list, tuple)):
            raise TypeError('layer: a list of layers must hold layer names, indices or layer '
                            f'objects; got {type(item).__name__} {item!r}')
    return tuple(layer) if len(layer) > 1 else layer[0]


def check_target_names(target_names: Any) -> None:
    if target_names is None or isinstance(target_names, Mapping):
        return
    if isinstance(target_names, (str, bytes)) or not isinstance(
            target_names, (Sequence, np.ndarray)):
        raise TypeError('target_names must be a list of names (one per output) or a '
                        f'dict {{index: name}}; got {type(target_names).__name__}')
