"""Framework-neutral tensor helpers of the ready-made score functions.

A score function runs on the model's raw output in the model's framework:
torch tensors are handled with ``torch``, anything else with ``keras.ops``
(inside a Keras backend's compiled step).  See :mod:`eli5_gradcam.targets`.
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .nn.outputs import select_output

__all__ = ['_is_torch', '_is_tensor', '_ops', '_constant', '_scores', '_check_index']


def _is_torch(tensor: Any) -> bool:
    return type(tensor).__module__.split('.')[0] == 'torch'


def _is_tensor(value: Any) -> bool:
    return (hasattr(value, 'shape') and hasattr(value, 'dtype')
            and not isinstance(value, (list, tuple, dict, np.ndarray)))


def _ops(tensor: Any) -> Any:
    if _is_torch(tensor):
        import torch
        return torch
    import keras
    return keras.ops


def _constant(values: Any, like: Any) -> Any:
    """``values`` as a tensor of ``like``'s framework, dtype and device."""
    if _is_torch(like):
        import torch
        return torch.as_tensor(np.asarray(values), dtype=like.dtype, device=like.device)
    import keras
    return keras.ops.convert_to_tensor(np.asarray(values), dtype=like.dtype)


def _scores(output: Any, which: Any) -> Any:
    return select_output(output, which, is_tensor=_is_tensor)


def _check_index(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)) or (
            value < 0):
        raise TypeError(f'{name} must be a non-negative int; got {type(value).__name__} '
                        f'{value!r}')
    return int(value)
