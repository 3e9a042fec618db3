"""Documents of several inputs for Keras: :class:`KerasInputs`, and what every
backend does with a batch of documents whether it is one array or several.

A model with one input takes the documents as one numpy array, as checked by
:func:`.documents.check_docs`: nothing here adds work on that path but an
``isinstance`` check.  A model of several inputs (or a document given as a
dict with an ``attention_mask``) takes a :class:`KerasInputs`: every input as
numpy, in the structure the model is called with (one tensor, a list in the
order of ``model.inputs`` or a dict keyed by the model's input names), and
which of them is explained.  The backends convert it with
:func:`model_input`, and reach the explained tensor inside the converted
structure with :func:`take` / :func:`put` at its :func:`slot`.

Framework-free: numpy only.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..nn.inputs import padding_from_mask

__all__ = ['KerasInputs', 'Docs', 'Slot', 'PACKINGS', 'explained', 'batch_size', 'signature',
           'select', 'model_input', 'slot', 'take', 'put', 'map_structure', 'describe']

#: How a model is called with its inputs: one tensor, a list or a dict.
PACKINGS = ('single', 'list', 'dict')

#: Where the explained tensor is in the structure the model is called with:
#: None (the structure is that tensor), a list index or a dict key.
Slot = Union[None, int, str]


@dataclass(frozen=True)
class KerasInputs:
    """Every input of a batch of documents, and which one is explained.

    Attributes
    ----------
    arrays : tuple of numpy.ndarray
        One per input the model is called with, batch first, checked and cast.
    names : tuple of str
        Their names (the model's input names, or the document's keys).
    packing : {'single', 'list', 'dict'}
        The model is called with ``arrays[0]``, a list of the arrays or a dict
        keyed by ``names``.
    key : int
        Index of the explained input in ``arrays``.
    mask : numpy.ndarray, optional
        The document's ``attention_mask`` (0 at padding), when given.
    offsets : numpy.ndarray, optional
        The document's ``offset_mapping`` (token character offsets), when given.
    """

    arrays: Tuple[np.ndarray, ...]
    names: Tuple[str, ...]
    packing: str
    key: int = 0
    mask: Optional[np.ndarray] = None
    offsets: Optional[np.ndarray] = None

    @property
    def explained(self) -> np.ndarray:
        """The input the explanation is about."""
        return self.arrays[self.key]

    @property
    def slot(self) -> Slot:
        """Where the explained tensor is in the structure the model is called with."""
        if self.packing == 'single':
            return None
        return self.names[self.key] if self.packing == 'dict' else self.key

    @property
    def signature(self) -> Tuple[Any, ...]:
        """Every input's name, shape and dtype: what compiled functions depend on."""
        return (self.packing, self.key) + tuple(
            (name, array.shape, str(array.dtype)) for name, array in zip(self.names, self.arrays))

    def structure(self, convert: Callable[[np.ndarray], Any]) -> Any:
        """The inputs as the model is called with them, each converted by ``convert``."""
        if self.packing == 'single':
            return convert(self.arrays[0])
        if self.packing == 'dict':
            return {name: convert(array) for name, array in zip(self.names, self.arrays)}
        return [convert(array) for array in self.arrays]

    def select(self, item: int) -> 'KerasInputs':
        """Document ``item`` alone (batch axis kept)."""
        return replace(self, arrays=tuple(array[item:item + 1] for array in self.arrays),
                       mask=None if self.mask is None else self.mask[item:item + 1],
                       offsets=None if self.offsets is None else self.offsets[item:item + 1])

    def rows_with(self, items: Sequence[int], array: np.ndarray) -> 'KerasInputs':
        """Documents ``items`` (in that order), the explained input replaced by ``array``."""
        index = list(items)
        return replace(self, arrays=tuple(array if position == self.key else values[index]
                                          for position, values in enumerate(self.arrays)),
                       mask=None if self.mask is None else self.mask[index],
                       offsets=None if self.offsets is None else self.offsets[index])

    def padding(self) -> Optional[np.ndarray]:
        """``(batch, length)`` bool, True at padding, from ``attention_mask``."""
        return None if self.mask is None else padding_from_mask(self.mask)

    def describe(self) -> str:
        """The inputs' shapes and dtypes, for messages."""
        return 'inputs ' + ', '.join(f'{name!r} {array.shape} {array.dtype}'
                                     for name, array in zip(self.names, self.arrays))


#: A batch of documents as the Keras adapter holds it.
Docs = Union[np.ndarray, KerasInputs]


def explained(docs: Docs) -> np.ndarray:
    """The explained input of ``docs``, as numpy."""
    return docs.explained if isinstance(docs, KerasInputs) else docs


def batch_size(docs: Docs) -> int:
    """Number of documents."""
    return int(explained(docs).shape[0])


def signature(docs: Docs) -> Tuple[Any, ...]:
    """Shapes and dtypes of every input: part of the key of what is compiled for them."""
    if isinstance(docs, KerasInputs):
        return docs.signature
    return (docs.shape, str(docs.dtype))


def select(docs: Docs, item: int) -> Docs:
    """Document ``item`` alone, batch axis kept."""
    return docs.select(item) if isinstance(docs, KerasInputs) else docs[item:item + 1]


def model_input(docs: Docs, convert: Callable[[np.ndarray], Any]) -> Any:
    """``docs`` as the model is called with them, every array converted by ``convert``."""
    return docs.structure(convert) if isinstance(docs, KerasInputs) else convert(docs)


def slot(docs: Docs) -> Slot:
    """Where the explained tensor is in :func:`model_input`'s structure."""
    return docs.slot if isinstance(docs, KerasInputs) else None


def take(structure: Any, where: Slot) -> Any:
    """The explained tensor of a structure built by :func:`model_input`."""
    return structure if where is None else structure[where]


def put(structure: Any, where: Slot, tensor: Any) -> Any:
    """A copy of ``structure`` with the explained tensor replaced by ``tensor``."""
    if where is None:
        return tensor
    if isinstance(structure, dict):
        changed: Dict[str, Any] = dict(structure)
        changed[str(where)] = tensor
        return changed
    items: List[Any] = list(structure)
    items[int(where)] = tensor
    return items


def map_structure(function: Callable[[Any], Any], structure: Any) -> Any:
    """``function`` applied to every tensor of a structure built by :func:`model_input`."""
    if isinstance(structure, dict):
        return {name: function(tensor) for name, tensor in structure.items()}
    if isinstance(structure, (list, tuple)):
        return [function(tensor) for tensor in structure]
    return function(structure)


def describe(docs: Docs) -> str:
    """``docs``' shapes and dtypes, for messages."""
    if isinstance(docs, KerasInputs):
        return docs.describe()
    return f'a doc of shape {docs.shape} and dtype {docs.dtype}'
