"""The tensor a layer produced, inside whatever structure it returned.

A module may return a tensor, a tuple/list (``LSTM``: ``(output, (h, c))``;
attention: ``(output, weights)``) or a mapping (a Hugging Face
``ModelOutput`` such as ``BaseModelOutput``).  The explained tensor is:

* the tensor itself;
* of a tuple or list, the explained tensor of its first element (the layer's
  output; the rest are states and weights);
* of a mapping, ``last_hidden_state`` when it holds a tensor, else the
  explained tensor of its first value that has one.

:func:`replace_tensor` puts another tensor at that place, keeping the
structure's type, so the capture can hand its copy downstream.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Optional, Tuple

import torch

__all__ = ['HIDDEN_STATE_KEYS', 'tensor_path', 'first_tensor', 'replace_tensor',
           'describe_output']

#: Keys of a mapping output that hold the hidden states, in order of preference.
HIDDEN_STATE_KEYS = ('last_hidden_state',)

Path = Tuple[Any, ...]


def tensor_path(value: Any) -> Optional[Path]:
    """Where the explained tensor sits in ``value`` (keys and indices), or None."""
    if isinstance(value, torch.Tensor):
        return ()
    if isinstance(value, Mapping):
        keys = [k for k in HIDDEN_STATE_KEYS if k in value] + [
            k for k in value if k not in HIDDEN_STATE_KEYS]
        for key in keys:
            inner = tensor_path(value[key])
            if inner is not None:
                return (key,) + inner
        return None
    if isinstance(value, (tuple, list)) and value:
        inner = tensor_path(value[0])
        return None if inner is None else (0,) + inner
    return None


def first_tensor(value: Any) -> Optional[torch.Tensor]:
    """The explained tensor of a layer's output (see the module docstring), or None."""
    path = tensor_path(value)
    if path is None:
        return None
    for step in path:
        value = value[step]
    return value if isinstance(value, torch.Tensor) else None


def replace_tensor(value: Any, path: Path, tensor: torch.Tensor) -> Any:
    """``value`` with ``tensor`` at ``path``, the containers copied, not changed."""
    if not path:
        return tensor
    step, rest = path[0], path[1:]
    if isinstance(value, Mapping):
        replaced: Any = copy.copy(value)     # a ModelOutput stays a ModelOutput
        replaced[step] = replace_tensor(value[step], rest, tensor)
        return replaced
    items = list(value)
    items[step] = replace_tensor(items[step], rest, tensor)
    if isinstance(value, list):
        return items
    return type(value)(*items) if hasattr(value, '_fields') else tuple(items)


def describe_output(value: Any) -> str:
    """A short description of a layer output without a tensor to explain."""
    if isinstance(value, Mapping):
        return f'a {type(value).__name__} with keys {list(value)} and no tensor among them'
    return f'a {type(value).__name__} with no tensor'
