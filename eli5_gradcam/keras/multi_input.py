"""Documents of several inputs, checked into a :class:`~.inputs.KerasInputs`.

A Keras document may be a dict keyed by the model's input names (a Hugging
Face ``BatchEncoding`` too) or a list of its inputs in the order of
``model.inputs``; :func:`keras_inputs` checks every input as
:func:`.documents.check_docs` checks one (shape and dtype against the input
the model declares, floats in its dtype, integers kept integer, token ids
within the vocabulary), all with the same batch size, and picks the
explained input by the rule of :mod:`eli5_gradcam.nn.inputs`, as the
PyTorch adapter does; "the first input" is the first of ``model.inputs``,
whatever the order of a dict's keys.

Whatever the document's form, the model is called the way it was built: a
list in the order of ``model.inputs``, or a dict keyed by the names it was
built with.  ``offset_mapping`` is never passed to the model;
``attention_mask`` (or KerasHub's ``padding_mask``, see :data:`MASK_KEYS`)
marks padding, and is passed where it is one of the model's inputs.  A key
that is not one of the model's inputs is an error.  A model that declares no
inputs (subclassed) is called with the document's own dict or list.
"""
from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..nn.inputs import (MASK_KEY, OFFSETS_KEY, Key, check_batch_sizes,
                         check_single_input_key, explained_key)
from .documents import Declared, checked_array, declared_inputs
from .inputs import KerasInputs

__all__ = ['MASK_KEYS', 'keras_inputs', 'is_input_list']

#: Keys of a dict document that mark padding (0 or False at padding), in order of
#: preference: Hugging Face's ``attention_mask``, then the ``padding_mask`` input of
#: KerasHub's text backbones (True at the tokens, as ``attention_mask`` is 1 there).
MASK_KEYS = (MASK_KEY, 'padding_mask')


def _is_array(value: Any) -> bool:
    """A numpy array or a framework tensor (not a Python list or number)."""
    return isinstance(value, np.ndarray) or (
        hasattr(value, 'shape') and hasattr(value, 'dtype') and not isinstance(value, type))


def is_input_list(model: Any, docs: Any, declared: Optional[Declared]) -> bool:
    """``docs`` is a list of the model's inputs, not a list of documents.

    A list or tuple is the model's inputs where the model declares several,
    or declares none and every item is an array or a tensor; for a model of
    one declared input it is documents, as before.
    """
    if not isinstance(docs, (list, tuple)) or not docs:
        return False
    if declared is not None:
        return len(declared.tensors) > 1
    return all(_is_array(item) for item in docs)


def _array(model: Any, value: Any, tensor: Any, where: Key) -> np.ndarray:
    """One input, checked as :func:`.documents.check_docs` checks a document."""
    if not _is_array(value):
        raise TypeError(f'doc[{where!r}] must be a numpy array or a TensorFlow / torch / JAX '
                        f'tensor with a batch axis; got {type(value).__name__}')
    try:
        return checked_array(model, value, tensor)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f'doc[{where!r}]: {exc}') from exc


def _named_key(input_key: Optional[Key], names: Sequence[str]) -> Optional[Key]:
    """``input_key`` as an input name: an index in range names the input at it."""
    if (isinstance(input_key, numbers.Integral) and not isinstance(input_key, bool)
            and 0 <= input_key < len(names)):
        return names[int(input_key)]
    return input_key


def _mapping_names(docs: Mapping, declared: Optional[Declared]) -> List[str]:
    """The document's keys the model is called with, or a ValueError."""
    keys = [str(key) for key in docs if key != OFFSETS_KEY]
    if declared is None:
        return keys
    unknown = [key for key in keys if key not in declared.names and key not in MASK_KEYS]
    missing = [name for name in declared.names if name not in keys]
    if unknown or missing:
        problem = (f'{unknown} {"is not an input" if len(unknown) == 1 else "are not inputs"}'
                   if unknown else f'it lacks {missing}')
        raise ValueError(f'doc: {problem} of the model; its inputs are '
                         f'{list(declared.names)} (a dict keyed by these names, or a list '
                         'in this order)')
    return [key for key in keys if key in declared.names]


def _from_mapping(model: Any, docs: Mapping, declared: Optional[Declared],
                  input_key: Optional[Key]) -> Tuple[Dict[str, np.ndarray], Key, Any]:
    """The checked inputs of a mapping document (the model's order), the
    explained key and the mask."""
    given = _mapping_names(docs, declared)
    if not given:
        raise ValueError(f'doc: a dict with no input; got keys {list(docs)}')
    names = list(declared.names) if declared is not None else given
    tensors = dict(zip(names, declared.tensors)) if declared is not None else {}
    arrays = {name: _array(model, docs[name], tensors.get(name), name) for name in names}
    key = explained_key(_named_key(input_key, names), names, mapping=True)
    mask_key = next((name for name in MASK_KEYS if docs.get(name) is not None), None)
    mask = None if mask_key is None else arrays.get(mask_key)
    if mask is None and mask_key is not None:
        mask = _array(model, docs[mask_key], None, mask_key)
    return arrays, key, mask


def _from_list(model: Any, docs: Sequence, declared: Optional[Declared],
               input_key: Optional[Key]) -> Tuple[Dict[str, np.ndarray], Key]:
    """The checked inputs of a list document and the explained input's name."""
    if declared is not None and len(docs) != len(declared.names):
        raise ValueError(f'doc: the model takes {len(declared.names)} inputs '
                         f'{list(declared.names)}; got a list of {len(docs)}')
    names = list(declared.names) if declared is not None else [str(i) for i in range(len(docs))]
    tensors: Sequence[Any] = declared.tensors if declared is not None else [None] * len(docs)
    arrays = {name: _array(model, value, tensor, index)
              for index, (name, value, tensor) in enumerate(zip(names, docs, tensors))}
    if declared is None:        # the inputs have no names: an index picks one
        return arrays, names[int(explained_key(input_key, list(range(len(names))),
                                               mapping=False))]
    return arrays, str(explained_key(_named_key(input_key, names), names, mapping=False))


def _offsets(docs: Any) -> Optional[np.ndarray]:
    offsets = docs.get(OFFSETS_KEY) if isinstance(docs, Mapping) else None
    if offsets is None:
        return None
    if hasattr(offsets, 'detach') and hasattr(offsets, 'cpu'):      # a torch tensor
        offsets = offsets.detach().cpu().numpy()
    return np.asarray(offsets)


def keras_inputs(model: Any, docs: Any, input_key: Optional[Key] = None
                 ) -> Union[np.ndarray, KerasInputs]:
    """The documents as the model takes them, or a named error.

    Parameters
    ----------
    model : keras.Model or tf_keras.Model
    docs : array-like, dict or list
        One input (see :func:`.documents.check_docs`), a dict keyed by the
        model's input names or a list of its inputs, every one batch first.
    input_key : int or str, optional
        The explained input: a name or an index (see the module docstring).

    Returns
    -------
    numpy.ndarray or KerasInputs
        One array for a model of one input (unless the document carries a
        mask of :data:`MASK_KEYS` or an ``offset_mapping``), else every input.
    """
    declared = declared_inputs(model)
    if isinstance(docs, Mapping):
        arrays, key, mask = _from_mapping(model, docs, declared, input_key)
    elif is_input_list(model, docs, declared):
        (arrays, key), mask = _from_list(model, docs, declared, input_key), None
    else:
        check_single_input_key(input_key)
        if declared is not None and len(declared.names) > 1:
            raise ValueError(f'doc: the model takes {len(declared.names)} inputs '
                             f'{list(declared.names)}: pass a list in this order or a dict '
                             f'keyed by these names; got one {type(docs).__name__}')
        return checked_array(model, docs, None if declared is None else declared.tensors[0])
    offsets = _offsets(docs)
    sizes = {name: int(array.shape[0]) for name, array in arrays.items()}
    if mask is not None:
        sizes[MASK_KEY] = int(mask.shape[0])
    check_batch_sizes(sizes)
    names = tuple(arrays)
    if (len(names) == 1 and mask is None and offsets is None and declared is not None
            and declared.packing == 'single'):
        return arrays[names[0]]
    packing = declared.packing if declared is not None else (
        'dict' if isinstance(docs, Mapping) else 'list')
    return KerasInputs(tuple(arrays.values()), names, packing, names.index(str(key)), mask,
                       offsets)
