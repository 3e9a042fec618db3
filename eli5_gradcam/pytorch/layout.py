"""Where the channels are: a layer's output to ``(batch, *spatial, channels)``.

PyTorch has no layout convention a tensor carries, so it is inferred from
the modules that ran (see :func:`module_order`) and, for image inputs, from
the output's shape:

* ``'channels_first'``: convolutions, pooling, batch norm: ``(N, C, *S)``;
* ``'channels_last'``: ``Linear``, ``LayerNorm``, ``Embedding``,
  ``batch_first`` RNNs and attention: ``(N, *S, C)``;
* ``'time_first'``: RNNs and attention without ``batch_first``: ``(L, N, C)``.

Element-wise modules (activations, dropout, containers) keep the layout of
the module that ran before them.  For an image input, a token output
``(N, tokens, C)`` whose token count fills the image's grid (optionally
plus one leading class token, dropped) becomes ``(N, h, w, C)``, the way
Vision Transformers are explained.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Tuple

import torch
from torch import nn
from torch.nn.modules import batchnorm, conv, instancenorm, pooling

__all__ = ['CHANNELS_FIRST', 'CHANNELS_LAST', 'TIME_FIRST', 'Layout', 'module_order',
           'layout_for']

CHANNELS_FIRST = 'channels_first'
CHANNELS_LAST = 'channels_last'
TIME_FIRST = 'time_first'

Reshape = Callable[[torch.Tensor], torch.Tensor]

_CHANNELS_LAST_TYPES: Tuple[type, ...] = (nn.Linear, nn.Bilinear, nn.LayerNorm, nn.Embedding,
                                          nn.RMSNorm)
_CHANNELS_FIRST_TYPES: Tuple[type, ...] = (
    conv._ConvNd, batchnorm._BatchNorm, instancenorm._InstanceNorm, nn.GroupNorm,
    pooling._MaxPoolNd, pooling._AvgPoolNd, pooling._AdaptiveAvgPoolNd,
    pooling._AdaptiveMaxPoolNd, pooling._LPPoolNd, nn.Upsample, nn.PixelShuffle,
    nn.PixelUnshuffle, nn.LocalResponseNorm)


def module_order(module: nn.Module, current: str) -> str:
    """Axis order of ``module``'s output, given the order of what ran before it.

    Parameters
    ----------
    module : torch.nn.Module
    current : str
        The order of the last module that set one.

    Returns
    -------
    str
        One of :data:`CHANNELS_FIRST`, :data:`CHANNELS_LAST`, :data:`TIME_FIRST`.
    """
    if isinstance(module, (nn.RNNBase, nn.MultiheadAttention)):
        return CHANNELS_LAST if module.batch_first else TIME_FIRST
    if isinstance(module, _CHANNELS_LAST_TYPES):
        return CHANNELS_LAST
    if isinstance(module, _CHANNELS_FIRST_TYPES):
        return CHANNELS_FIRST
    return current


@dataclass(frozen=True)
class Layout:
    """How to bring one layer's output to ``(batch, *spatial, channels)``.

    Attributes
    ----------
    order : str
        Axis order of the raw output.
    grid : (int, int), optional
        Tokens to be laid out on this ``(height, width)`` grid.
    drop_class_token : bool
        Drop the first token (a class token) before laying out the grid.
    reshape : callable, optional
        The user's own conversion; replaces everything above.
    """

    order: str = CHANNELS_FIRST
    grid: Optional[Tuple[int, int]] = None
    drop_class_token: bool = False
    reshape: Optional[Reshape] = None

    def to_channels_last(self, tensor: torch.Tensor) -> torch.Tensor:
        """Convert ``tensor`` (raw layer output, batch first) to channels last."""
        if self.reshape is not None:
            return self.reshape(tensor)
        if self.order == TIME_FIRST:
            tensor = tensor.movedim(0, 1)
        elif self.order == CHANNELS_FIRST and tensor.ndim >= 2:
            tensor = tensor.movedim(1, -1)
        if self.grid is not None:
            if self.drop_class_token:
                tensor = tensor[:, 1:]
            tensor = tensor.reshape(tensor.shape[0], *self.grid, tensor.shape[-1])
        return tensor

    def targets_to_channels_last(self, tensor: torch.Tensor) -> torch.Tensor:
        """Convert ``(targets, *raw)`` gradients to ``(batch, targets, *spatial, channels)``.

        Batch-first layouts give a strided view (no copy): the core's numpy
        reductions read it as it lies, which is cheaper than a transposing
        copy (bench/README.rst, "Measurements behind choices in the code").  A user
        ``reshape`` sees one target's raw output at a time, as it sees the
        activations; so does a time-first layer, whose batch is on axis 1.
        """
        if self.reshape is not None or self.order == TIME_FIRST:
            return torch.stack([self.to_channels_last(target) for target in tensor], dim=1)
        n_targets, batch = int(tensor.shape[0]), int(tensor.shape[1])
        merged = self.to_channels_last(tensor.reshape((n_targets * batch,)
                                                      + tuple(tensor.shape[2:])))
        return merged.reshape((n_targets, batch) + tuple(merged.shape[1:])).movedim(0, 1)

    def spatial_shape(self, shape: Tuple[int, ...], batch: int) -> Optional[Tuple[int, ...]]:
        """Spatial shape of an output of ``shape`` once converted, or None if it fails."""
        try:
            converted = self.to_channels_last(torch.empty(shape, device='meta'))
        except Exception:   # noqa: BLE001 - a user's reshape may fail in any way
            return None
        if not isinstance(converted, torch.Tensor) or converted.ndim < 2 or (
                converted.shape[0] != batch):
            return None
        return tuple(int(size) for size in converted.shape[1:-1])


def _grid(tokens: int, image_hw: Tuple[int, int]) -> Optional[Tuple[int, int]]:
    height, width = image_hw
    for rows in range(1, tokens + 1):
        if tokens % rows == 0 and rows * width == (tokens // rows) * height:
            return rows, tokens // rows
    return None


def layout_for(shape: Tuple[int, ...], order: str, *,
               image_hw: Optional[Tuple[int, int]] = None,
               reshape: Optional[Reshape] = None) -> Layout:
    """The :class:`Layout` of an output of ``shape`` from a module of ``order``.

    Parameters
    ----------
    shape : tuple of int
        The raw output's shape.
    order : str
        From :func:`module_order`.
    image_hw : (int, int), optional
        ``(height, width)`` of an image input: a 4-D output is read as
        ``(N, C, h, w)`` or ``(N, h, w, C)`` by which one keeps the image's
        aspect ratio, and a 3-D token output is laid out on a grid.
    reshape : callable, optional
        The user's conversion; wins over everything.

    Returns
    -------
    Layout
    """
    if reshape is not None:
        return Layout(order=order, reshape=reshape)
    if image_hw is None:
        return Layout(order=order)
    height, width = image_hw
    if len(shape) == 4:
        first = shape[2] * width == shape[3] * height
        last = shape[1] * width == shape[2] * height
        if first != last:
            return Layout(order=CHANNELS_FIRST if first else CHANNELS_LAST)
        return Layout(order=order)
    if len(shape) == 3:
        tokens = shape[0] if order == TIME_FIRST else shape[2 if order == CHANNELS_FIRST else 1]
        for drop in (False, True):
            grid = _grid(tokens - int(drop), image_hw)
            if grid is not None:
                return Layout(order=order, grid=grid, drop_class_token=drop)
    return Layout(order=order)
