"""The document: checked, converted to a tensor on the model's device."""
from __future__ import annotations

import itertools
from typing import Any, Optional, Tuple

import numpy as np
import torch
from PIL import Image
from torch import nn

from ..nn.doc_checks import pil_doc_error

__all__ = ['model_device_dtype', 'as_model_input', 'as_numpy']


def model_device_dtype(model: nn.Module) -> Tuple[torch.device, Optional[torch.dtype]]:
    """The device of the model's first parameter (or buffer), and its float dtype.

    Parameters
    ----------
    model : torch.nn.Module

    Returns
    -------
    (torch.device, torch.dtype or None)
        CPU and None for a model without parameters or buffers.
    """
    device: Optional[torch.device] = None
    for tensor in itertools.chain(model.parameters(), model.buffers()):
        if device is None:
            device = tensor.device
        if tensor.is_floating_point():
            return device, tensor.dtype
    return device or torch.device('cpu'), None


def as_model_input(model: nn.Module, doc: Any) -> torch.Tensor:
    """``doc`` as a tensor the model can take, batch axis kept.

    Float documents get the model's float dtype; integer documents (token
    ids) stay integer.  The result is on the model's device and never an
    inference tensor.

    Parameters
    ----------
    model : torch.nn.Module
    doc : torch.Tensor or numpy.ndarray
        Batch first.

    Returns
    -------
    torch.Tensor
    """
    if isinstance(doc, np.ndarray):
        if doc.dtype == object or not (np.issubdtype(doc.dtype, np.number)
                                       or doc.dtype == np.bool_):
            raise TypeError(f'doc must hold numbers; got a numpy array of dtype {doc.dtype}')
        tensor = torch.from_numpy(np.ascontiguousarray(doc))
    elif isinstance(doc, torch.Tensor):
        tensor = doc.detach()
    elif isinstance(doc, Image.Image):
        raise pil_doc_error(channels_first=True)
    else:
        raise TypeError('doc must be a torch.Tensor or a numpy.ndarray with a batch axis '
                        f'of 1; got {type(doc).__name__}')
    if tensor.ndim < 2:
        raise ValueError('doc must have a batch axis first, e.g. (1, C, H, W) for an '
                         f'image or (1, length) for token ids; got shape {tuple(tensor.shape)}')
    if tensor.is_complex():
        raise TypeError(f'doc must be real numbers; got dtype {tensor.dtype}')
    if tensor.numel() == 0:
        raise ValueError(f'doc is empty; got shape {tuple(tensor.shape)}')
    device, dtype = model_device_dtype(model)
    target_dtype = dtype if tensor.is_floating_point() and dtype is not None else tensor.dtype
    with torch.inference_mode(False):
        try:
            tensor = tensor.to(device=device, dtype=target_dtype)
        except (RuntimeError, NotImplementedError) as exc:    # e.g. a 'meta' tensor
            raise ValueError(f'doc: cannot move a doc on device {tensor.device} to the '
                             f"model's device {device}: {exc}") from exc
        if tensor.is_inference():
            tensor = tensor.clone()
    if tensor.is_floating_point() and not _all_finite(tensor):
        bad = int((~torch.isfinite(tensor)).sum())
        raise ValueError(f'doc holds {bad} NaN or infinite value(s) (shape '
                         f'{tuple(tensor.shape)}); Grad-CAM needs finite inputs')
    return tensor


def _all_finite(tensor: torch.Tensor) -> bool:
    """Whether every value is finite.  A finite sum proves it in one reduction
    (any NaN or infinity makes the sum NaN or infinite); only a sum that
    overflows, or a real NaN, pays for the element-wise check."""
    return bool(torch.isfinite(tensor.sum())) or bool(torch.isfinite(tensor).all())


def as_numpy(tensor: torch.Tensor) -> np.ndarray:
    """A tensor as a numpy array on the CPU (reduced floats become float32)."""
    tensor = tensor.detach()
    if tensor.is_floating_point() and tensor.dtype not in (torch.float32, torch.float64):
        tensor = tensor.float()
    return tensor.cpu().numpy()
