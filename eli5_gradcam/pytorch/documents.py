"""Documents of one or several inputs: :class:`ModelInputs`.

A document is one tensor (``model(doc)``), a mapping of keyword inputs (a
dict, a Hugging Face ``BatchEncoding``: ``model(**doc)``) or a tuple/list of
positional inputs (``model(*doc)``).  Every tensor is checked and moved to
the model's device (:func:`.inputs.as_model_input`: floats in the model's
dtype, integers kept), all with the same batch size; keys the model's
``forward`` does not take (a tokenizer's ``offset_mapping``) are not passed.

The *explained* input is the one the tokens or the image belong to: the
``input_key`` option, else ``input_ids`` (or ``pixel_values``, ``inputs_embeds``)
for a mapping, else the first input.  A mapping's ``attention_mask`` marks the
padding removed from a text explanation.
"""
from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from ..nn.inputs import (EXPLAINED_KEYS, MASK_KEY, OFFSETS_KEY, Key, check_batch_sizes,
                         check_single_input_key, explained_key, padding_from_mask)
from .inputs import as_model_input, as_numpy

__all__ = ['ModelInputs', 'model_inputs', 'EXPLAINED_KEYS']


@dataclass(frozen=True)
class ModelInputs:
    """What the model is called with, and which input is explained.

    Attributes
    ----------
    args : tuple of torch.Tensor
        Positional inputs.
    kwargs : dict of str to torch.Tensor
        Keyword inputs.
    key : int or str
        The explained input: an index into ``args`` or a key of ``kwargs``.
    mask : torch.Tensor, optional
        ``attention_mask`` (``(batch, length)``, 0 at padding), when given.
    offsets : numpy.ndarray, optional
        ``offset_mapping`` (``(batch, length, 2)`` token character offsets),
        when given (it is not passed to the model).
    """

    args: Tuple[torch.Tensor, ...]
    kwargs: Dict[str, torch.Tensor] = field(default_factory=dict)
    key: Key = 0
    mask: Optional[torch.Tensor] = None
    offsets: Optional[np.ndarray] = None

    @property
    def explained(self) -> torch.Tensor:
        """The input the explanation is about."""
        return self.kwargs[self.key] if isinstance(self.key, str) else self.args[self.key]

    @property
    def shape(self) -> Tuple[int, ...]:
        """Shape of the explained input."""
        return tuple(int(size) for size in self.explained.shape)

    @property
    def signature(self) -> Tuple[Any, ...]:
        """Shapes, dtypes and devices of every input: what a cached plan depends on."""
        items = list(enumerate(self.args)) + sorted(self.kwargs.items())
        return tuple((key, tuple(t.shape), t.dtype, t.device) for key, t in items) + (
            self.key,)

    def _map(self, change: Any) -> 'ModelInputs':
        return ModelInputs(tuple(change(t) for t in self.args),
                           {k: change(t) for k, t in self.kwargs.items()}, self.key,
                           None if self.mask is None else change(self.mask), self.offsets)

    def select(self, item: int, count: int = 1) -> 'ModelInputs':
        """Document ``item`` alone, repeated ``count`` times along the batch axis."""
        return self._map(lambda t: t[item:item + 1].repeat((count,) + (1,) * (t.ndim - 1)))

    def rows(self, items: Sequence[int]) -> 'ModelInputs':
        """Documents ``items`` (in that order), every input and the mask."""
        index = list(items)
        return replace(self._map(lambda t: t[index]),
                       offsets=None if self.offsets is None else self.offsets[index])

    def with_explained(self, tensor: torch.Tensor) -> 'ModelInputs':
        """The same inputs with the explained one replaced by ``tensor``."""
        if isinstance(self.key, str):
            return ModelInputs(self.args, {**self.kwargs, self.key: tensor}, self.key,
                               self.mask, self.offsets)
        args = list(self.args)
        args[self.key] = tensor
        return ModelInputs(tuple(args), self.kwargs, self.key, self.mask, self.offsets)

    def padding(self) -> Optional[np.ndarray]:
        """``(batch, length)`` bool, True at padding, from ``attention_mask``."""
        return None if self.mask is None else padding_from_mask(as_numpy(self.mask))


def _taken_keywords(model: nn.Module) -> Optional[frozenset]:
    """Names ``model.forward`` takes, or None when it takes ``**kwargs``."""
    try:
        parameters = inspect.signature(model.forward).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    return frozenset(p.name for p in parameters)


def _tensor(model: nn.Module, value: Any, where: str) -> torch.Tensor:
    if not isinstance(value, (torch.Tensor, np.ndarray)):
        raise TypeError(f'doc[{where!r}] must be a torch.Tensor or a numpy.ndarray with a '
                        f'batch axis; got {type(value).__name__}')
    try:
        return as_model_input(model, value)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f'doc[{where!r}]: {exc}') from exc


def model_inputs(model: nn.Module, doc: Any, input_key: Optional[Key] = None) -> ModelInputs:
    """``doc`` (a tensor, a mapping or a tuple/list of inputs) as :class:`ModelInputs`.

    Parameters
    ----------
    model : torch.nn.Module
    doc : torch.Tensor, numpy.ndarray, mapping or tuple/list of them
        Batch first.
    input_key : int or str, optional
        Which input is explained (see the module docstring).

    Returns
    -------
    ModelInputs
    """
    if isinstance(doc, Mapping):
        taken = _taken_keywords(model)
        kwargs = {str(k): _tensor(model, v, str(k)) for k, v in doc.items()
                  if taken is None or k in taken}
        if not kwargs:
            raise ValueError(f'doc: none of its keys {list(doc)} is an argument of '
                             f'{type(model).__name__}.forward')
        offsets = doc.get(OFFSETS_KEY)
        inputs = ModelInputs((), kwargs, explained_key(input_key, list(kwargs), mapping=True),
                             kwargs.get(MASK_KEY),
                             None if offsets is None else as_numpy(torch.as_tensor(offsets)))
    elif isinstance(doc, (tuple, list)) and doc and all(
            isinstance(v, (torch.Tensor, np.ndarray)) for v in doc):
        args = tuple(_tensor(model, v, str(i)) for i, v in enumerate(doc))
        inputs = ModelInputs(args, {}, explained_key(input_key, list(range(len(args))),
                                                     mapping=False))
    else:
        check_single_input_key(input_key)
        return ModelInputs((as_model_input(model, doc),))
    check_batch_sizes({key: int(t.shape[0]) for key, t in
                       list(enumerate(inputs.args)) + list(inputs.kwargs.items())})
    return inputs
