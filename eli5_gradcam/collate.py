"""Mapping documents in batches: cut along the batch axis, or joined and padded.

A mapping document (a dict, a Hugging Face ``BatchEncoding``) holds keyword
inputs, each batch first (see :mod:`eli5_gradcam.pytorch.documents`).
:func:`split_mapping` cuts a mapping of ``N`` documents into batches, every
key alike; :func:`collate_mappings` joins single-document mappings into one
batch, padding sequences of different lengths on the right with 0, which
their ``attention_mask`` then marks as padding; :func:`fitted_tokens` places a
document's own token list on its positions of such a padded batch.

Labels (:data:`LABEL_KEYS`, what a data set or a collator adds for
training) are never inputs: a Hugging Face model's ``forward`` takes
``labels`` and would add a loss to its output.

No framework is imported here: torch values are joined with torch, imported
only when one is met.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

__all__ = ['LABEL_KEYS', 'MASK_KEY', 'PAD_TOKEN', 'is_mapping', 'without_labels',
           'mapping_size', 'split_mapping', 'collate_mappings', 'fitted_tokens', 'join',
           'with_batch_axis']

#: Keys of a mapping that hold labels, not inputs: dropped before the model is called.
LABEL_KEYS = ('labels', 'label', 'label_ids')

#: The input whose zeros mark padding (the padding added here included).
MASK_KEY = 'attention_mask'

#: The token put at padded positions of a document's own token list (:func:`fitted_tokens`).
PAD_TOKEN = '[PAD]'


def is_mapping(value: Any) -> bool:
    """A mapping of keyword inputs (a dict, a ``BatchEncoding``)."""
    return isinstance(value, Mapping)


def without_labels(mapping: Mapping) -> Dict[Any, Any]:
    """The mapping's inputs: every item but those of :data:`LABEL_KEYS`."""
    return {key: value for key, value in mapping.items() if key not in LABEL_KEYS}


def _is_torch(value: Any) -> bool:
    return type(value).__module__.split('.')[0] == 'torch'


def join(values: Sequence[Any], axis: int = 0) -> Any:
    """Concatenate along ``axis``: torch tensors with torch, anything else with numpy."""
    if _is_torch(values[0]):
        import torch
        return torch.cat(list(values), dim=axis)
    return np.concatenate([np.asarray(value) for value in values], axis=axis)


def with_batch_axis(value: Any) -> Any:
    """``value`` with a leading axis of 1 (a tensor stays a tensor)."""
    return value[None] if _is_torch(value) else np.asarray(value)[None]


def _shape(value: Any, where: str) -> Tuple[int, ...]:
    shape = getattr(value, 'shape', None)
    if shape is None:
        raise TypeError(f'{where} must be a torch.Tensor or a numpy.ndarray; got '
                        f"{type(value).__name__} (tokenizers: pass return_tensors='pt')")
    return tuple(int(size) for size in shape)


def _shapes(mapping: Mapping, where: str) -> Dict[Any, Tuple[int, ...]]:
    """The shape of every input of a mapping (labels already dropped)."""
    if not mapping:
        raise ValueError(f'{where}: a mapping of inputs needs at least one input besides '
                         f'the labels {LABEL_KEYS}; got none')
    return {key: _shape(value, f'{where}[{key!r}]') for key, value in mapping.items()}


def mapping_size(mapping: Mapping, where: str = 'docs') -> int:
    """The batch size of a mapping of inputs: the first axis, the same for every key.

    Parameters
    ----------
    mapping : mapping of str to tensor or array
        Labels already dropped (:func:`without_labels`).
    where : str
        How errors name the mapping.

    Returns
    -------
    int
    """
    sizes = {}
    for key, shape in _shapes(mapping, where).items():
        if not shape:
            raise ValueError(f'{where}[{key!r}] needs a batch axis; got a scalar')
        sizes[key] = shape[0]
    if len(set(sizes.values())) > 1:
        raise ValueError(f'{where}: every input of a mapping needs the same batch size (its '
                         f'first axis); got {sizes}')
    return next(iter(sizes.values()))


def split_mapping(mapping: Mapping, batch_size: int) -> Iterator[Tuple[Dict[Any, Any], int]]:
    """Cut a mapping of ``N`` documents into batches of ``batch_size``, every key alike.

    Yields
    ------
    (dict, int)
        The batch's inputs (labels dropped) and its size.
    """
    inputs = without_labels(mapping)
    total = mapping_size(inputs)
    for start in range(0, total, batch_size):
        yield ({key: value[start:start + batch_size] for key, value in inputs.items()},
               min(batch_size, total - start))


def _single(doc: Mapping, where: str) -> Dict[Any, Any]:
    """One document's inputs, each with a batch axis of 1 (added unless all have one)."""
    inputs = without_labels(doc)
    if all(shape[:1] == (1,) for shape in _shapes(inputs, where).values()):
        return inputs
    return {key: with_batch_axis(value) for key, value in inputs.items()}


def _pad_right(value: Any, length: int) -> Any:
    """``value`` (batch, positions, ...) padded with zeros to ``length`` positions."""
    missing = length - int(value.shape[1])
    if missing == 0:
        return value
    shape = (int(value.shape[0]), missing) + tuple(int(size) for size in value.shape[2:])
    zeros = value.new_zeros(shape) if _is_torch(value) else np.zeros(shape, value.dtype)
    return join([value, zeros], axis=1)


def _join_padded(values: List[Any], where: str) -> Tuple[Any, bool]:
    """One input of every document joined, padded first where lengths differ."""
    shapes = [tuple(int(size) for size in value.shape) for value in values]
    if len(set(shapes)) == 1:
        return join(values), False
    if len({len(shape) for shape in shapes}) > 1 or len(shapes[0]) < 2 or len(
            {shape[:1] + shape[2:] for shape in shapes}) > 1:
        raise ValueError(f'{where}: the documents of one batch may differ only in length '
                         f'(axis 1, padded here); got shapes {sorted(set(shapes))}')
    length = max(shape[1] for shape in shapes)
    return join([_pad_right(value, length) for value in values]), True


def collate_mappings(docs: Sequence[Mapping], first: int = 0) -> Dict[Any, Any]:
    """Single-document mappings as one batch, padded where their lengths differ.

    Inputs of the same shape are joined along the batch axis.  Inputs whose
    lengths (axis 1) differ are padded on the right with 0 to the longest,
    ``attention_mask`` too, so that its 0 marks the padding (a tokenizer whose
    padding id is not 0 should pad itself: ``padding=True``).

    Parameters
    ----------
    docs : sequence of mapping
        One document each: every input with a batch axis of 1, or none.
    first : int
        Index of ``docs[0]`` among all documents, for error messages.

    Returns
    -------
    dict
        The batch's inputs, labels dropped.
    """
    singles = [_single(doc, f'docs[{first + number}]') for number, doc in enumerate(docs)]
    keys = list(singles[0])
    for number, single in enumerate(singles):
        if set(single) != set(keys):
            raise ValueError(f'docs[{first + number}] has the inputs {list(single)} but '
                             f'docs[{first}] has {keys}; every document needs the same keys')
    where = f'docs[{first}:{first + len(singles)}]'
    joined = {key: _join_padded([single[key] for single in singles], f'{where}[{key!r}]')
              for key in keys}
    if MASK_KEY not in keys and any(padded for _, padded in joined.values()):
        raise ValueError(f'{where}: documents of different lengths are padded here, which '
                         f'needs an {MASK_KEY!r} input to mark the padding; got the inputs '
                         f'{keys} (pad them yourself, or add an attention mask)')
    return {key: value for key, (value, _) in joined.items()}


def _as_numpy(value: Any) -> np.ndarray:
    if _is_torch(value):
        value = value.detach().cpu()
    return np.asarray(value)


def fitted_tokens(tokens: Optional[List[Any]], batch: Any) -> Optional[List[Any]]:
    """Token lists of a mapping batch, each as long as the batch's sequences.

    A token list with one token per 1 of its document's ``attention_mask``
    (the document's own tokens, without the padding a collator or
    :func:`collate_mappings` added) gets its tokens at those positions and
    :data:`PAD_TOKEN` at the padding, which the explanation then leaves out.
    Any other token list is kept as given.

    Parameters
    ----------
    tokens : list of token lists, optional
        One per document of the batch.
    batch : mapping or other
        The batch's inputs; only a mapping with an ``attention_mask`` of
        shape ``(batch, length)`` changes anything.

    Returns
    -------
    list of token lists, or None
    """
    if tokens is None or not is_mapping(batch) or MASK_KEY not in batch:
        return tokens
    mask = _as_numpy(batch[MASK_KEY]) != 0
    if mask.ndim != 2 or mask.shape[0] != len(tokens):
        return tokens
    from .nn.text import as_tokens
    fitted = []
    for given, real in zip(tokens, mask):
        listed = as_tokens(given)
        if len(listed) != int(real.sum()) or real.all():
            fitted.append(given)
            continue
        placed = np.full(real.shape, PAD_TOKEN, dtype=object)
        placed[real] = listed
        fitted.append([str(token) for token in placed])
    return fitted
