"""Documents of several inputs: the rules every framework adapter follows.

A document may be one array, a mapping of named inputs (a dict, a Hugging
Face ``BatchEncoding``) or a sequence of positional inputs.  Each adapter
checks and converts the arrays in its own framework; what is decided here,
once for every framework:

* which input the explanation is about (:func:`explained_key`): the
  ``input_key`` option, else the first of :data:`EXPLAINED_KEYS` that a
  mapping holds, else the first input;
* every input has the same batch size (:func:`check_batch_sizes`);
* an ``attention_mask`` (:data:`MASK_KEY`) marks the padding dropped from a
  text explanation (:func:`padding_from_mask`), and an ``offset_mapping``
  (:data:`OFFSETS_KEY`) holds the tokens' character offsets: it is never
  passed to the model.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence, Union

import numpy as np

__all__ = ['EXPLAINED_KEYS', 'MASK_KEY', 'OFFSETS_KEY', 'Key', 'explained_key',
           'check_single_input_key', 'check_batch_sizes', 'padding_from_mask']

#: Keys of a mapping document explained by default, in order of preference.
EXPLAINED_KEYS = ('input_ids', 'pixel_values', 'inputs_embeds', 'input_values')

#: The key of a mapping document that marks padding (0 at padding).
MASK_KEY = 'attention_mask'

#: The key of a mapping document that holds token character offsets.
OFFSETS_KEY = 'offset_mapping'

#: An input of a document: a key of a mapping or an index into a sequence.
Key = Union[int, str]


def explained_key(input_key: Optional[Key], keys: Sequence[Key], *, mapping: bool) -> Key:
    """The input the explanation is about.

    Parameters
    ----------
    input_key : int or str, optional
        The ``input_key`` option; None chooses by the rule below.
    keys : sequence of int or str
        The document's inputs that the model is called with, in order.
    mapping : bool
        The document is a mapping (its keys are names).

    Returns
    -------
    int or str
        ``input_key`` where given (it must be one of ``keys``), else the first
        of :data:`EXPLAINED_KEYS` among the keys of a mapping, else ``keys[0]``.

    Raises
    ------
    ValueError
        ``input_key`` is not one of ``keys``.
    """
    if input_key is not None:
        if input_key not in keys:
            raise ValueError(f'input_key={input_key!r} is not one of the inputs of doc '
                             f'({list(keys)})')
        return input_key
    if mapping:
        return next((key for key in EXPLAINED_KEYS if key in keys), keys[0])
    return keys[0]


def check_single_input_key(input_key: Optional[Key]) -> None:
    """A document of one input takes ``input_key`` None (or 0), else a ValueError."""
    if input_key not in (None, 0):
        raise ValueError(f'input_key={input_key!r}, but doc is a single input; leave '
                         'input_key=None')


def check_batch_sizes(sizes: Mapping[Any, int]) -> None:
    """Every input's batch size (first axis) is the same, else a ValueError.

    Parameters
    ----------
    sizes : mapping
        Input key to its batch size.
    """
    if len(set(sizes.values())) > 1:
        raise ValueError(f'doc: every input needs the same batch size; got {dict(sizes)}')


def padding_from_mask(mask: Any) -> np.ndarray:
    """``(batch, length)`` bool, True at padding, from an ``attention_mask`` (0 at padding)."""
    return np.asarray(mask) == 0
