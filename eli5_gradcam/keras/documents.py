"""The documents of a Keras explanation: checked and converted to what the model takes."""
from __future__ import annotations

from typing import Any, List, NamedTuple, Optional, Tuple

import numpy as np
from PIL import Image

from ..nn.doc_checks import check_token_ids, missing_batch_advice, pil_doc_error

__all__ = ['check_docs', 'checked_array', 'declared_inputs', 'Declared']


class Declared(NamedTuple):
    """The inputs a model declares (a Functional or Sequential model)."""

    #: Input names: the keys of a dict-built model, else the input tensors' names.
    names: Tuple[str, ...]
    #: The symbolic input tensors, in the order of ``names``.
    tensors: Tuple[Any, ...]
    #: How the model is called: one tensor, a list or a dict (see :data:`.inputs.PACKINGS`).
    packing: str


def _attribute(model: Any, name: str) -> Any:
    """``model.<name>``, or None where reading it raises (a model never called)."""
    try:
        return getattr(model, name, None)
    except (AttributeError, ValueError, TypeError, RuntimeError):
        return None


def declared_inputs(model: Any) -> Optional[Declared]:
    """The model's declared inputs, or None where it declares none (subclassed, unbuilt).

    The input of a model of one input is named by its tensor's name (as Keras
    asks of dict keys); ``model.input`` is read only for several inputs, to
    see whether the model was built with a dict of them.
    """
    inputs = _attribute(model, 'inputs')          # the tensors the layers were called on
    tensors = tuple(inputs) if isinstance(inputs, (list, tuple)) else ()
    if not tensors:
        return None
    if len(tensors) > 1:
        structure = _attribute(model, 'input')
        if isinstance(structure, dict) and len(structure) == len(tensors):
            return Declared(tuple(str(name) for name in structure),
                            tuple(structure.values()), 'dict')
    names = tuple(str(getattr(tensor, 'name', index)) for index, tensor in enumerate(tensors))
    return Declared(names, tensors, 'single' if len(tensors) == 1 else 'list')


def _spec(tensor: Any) -> Tuple[Optional[Tuple[Optional[int], ...]], Optional[str]]:
    """Shape and dtype name of a declared input tensor, where it has them."""
    try:
        shape: Optional[Tuple[Optional[int], ...]] = tuple(
            None if d is None else int(d) for d in tensor.shape)
    except (TypeError, AttributeError, ValueError):
        shape = None
    dtype = getattr(tensor, 'dtype', None)
    name = getattr(dtype, 'name', dtype)
    return shape, None if name is None else str(name)


def _matches(shape: Tuple[int, ...], expected: Tuple[Optional[int], ...]) -> bool:
    return len(shape) == len(expected) and all(
        e is None or e == s for s, e in zip(shape[1:], expected[1:]))


def _as_array(docs: Any) -> np.ndarray:
    if isinstance(docs, Image.Image):
        raise pil_doc_error(channels_first=False)
    if isinstance(docs, (str, bytes)) or docs is None:
        raise TypeError('doc must be a numeric array with a batch axis (pixels, token ids, '
                        f'a signal); got {type(docs).__name__}')
    if hasattr(docs, 'detach') and hasattr(docs, 'cpu'):      # a torch tensor
        docs = docs.detach().cpu().numpy()
    try:
        array = np.asarray(docs)
    except (TypeError, ValueError) as exc:
        raise TypeError(f'doc must be a numeric array; got {type(docs).__name__}') from exc
    if array.dtype == bool:
        array = array.astype(np.float32)
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise TypeError('doc must be a numeric array (pixels, token ids, a signal); got an '
                        f'array of dtype {array.dtype}')
    if array.ndim < 2:
        raise ValueError(f'doc must have a batch axis: shape (1, ...); got shape {array.shape}'
                         ' (add one with doc[np.newaxis])')
    if array.shape[0] < 1 or array.size == 0:
        raise ValueError(f'doc is empty; got shape {array.shape}')
    if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
        raise ValueError(f'doc holds {int((~np.isfinite(array)).sum())} NaN or infinite '
                         f'value(s) (shape {array.shape}); Grad-CAM needs finite inputs')
    return array


def _check_shape(array: np.ndarray, expected: Optional[Tuple[Optional[int], ...]]) -> None:
    if expected is None or _matches(array.shape, expected):
        return
    if _matches((1,) + array.shape, expected):
        advice = missing_batch_advice(array.shape, channels_first=False) or (
            f'doc {array.shape} has no batch axis: pass doc[None] for a batch of one')
        raise ValueError(f'{advice} (the model expects input of shape {expected})')
    if array.ndim == 3 and _matches((1,) + np.moveaxis(array, 0, -1).shape, expected):
        raise ValueError(f'{missing_batch_advice(array.shape, channels_first=False)} (the '
                         f'model expects input of shape {expected})')
    moved = np.moveaxis(array, 1, -1).shape if array.ndim == 4 else None
    if moved is not None and _matches(moved, expected):
        raise ValueError(f'doc has shape {array.shape}, which looks channels-first, but '
                         f'the model expects channels-last input {expected}; pass '
                         'np.moveaxis(doc, 1, -1)')
    unbatched = (missing_batch_advice(array.shape, channels_first=False)
                 if array.ndim == len(expected) - 1 else None)
    raise ValueError(f'doc has shape {array.shape} but the model expects input of shape '
                     f'{expected} (None: any size)'
                     + ('' if unbatched is None else f'; {unbatched}'))


def _cast(array: np.ndarray, dtype: Optional[str]) -> np.ndarray:
    """Floats in the model's input dtype (float32 by default), integers as int32."""
    floating = np.issubdtype(array.dtype, np.floating)
    if floating and dtype and dtype.startswith(('int', 'uint')):
        if not np.array_equal(array, np.round(array)):
            raise ValueError(f'doc: the model takes integer input ({dtype}, e.g. token ids) '
                             f'but doc holds non-integer floats (dtype {array.dtype})')
        return array.astype(np.int32)
    if floating:
        return array.astype(dtype if dtype and dtype.startswith(('float', 'bfloat'))
                            else 'float32')
    if dtype and dtype.startswith('float'):
        return array.astype(dtype)
    return array.astype(np.int32)


def _embeddings_reading(model: Any, tensor: Any) -> List[Any]:
    """Embedding layers called directly on the model's input ``tensor``."""
    found = []
    for layer in getattr(model, 'layers', None) or []:
        if 'Embedding' not in [cls.__name__ for cls in type(layer).__mro__] or not hasattr(
                layer, 'input_dim'):
            continue
        for node in getattr(layer, '_inbound_nodes', None) or []:
            tensors = getattr(node, 'input_tensors', None)   # tf_keras: maybe one tensor
            if not isinstance(tensors, (list, tuple)):
                tensors = [tensors]
            if any(given is tensor for given in tensors):
                found.append(layer)
                break
    return found


def _check_vocabulary(model: Any, array: np.ndarray, tensor: Any) -> None:
    """Token ids must index each embedding that reads them (JAX would clamp them silently)."""
    if tensor is None or not np.issubdtype(array.dtype, np.integer):
        return
    for layer in _embeddings_reading(model, tensor):
        check_token_ids(int(array.min()), int(array.max()), vocabulary=int(layer.input_dim),
                        layer=str(layer.name))


def checked_array(model: Any, docs: Any, tensor: Any) -> np.ndarray:
    """One input as a numpy batch that fits the declared input ``tensor`` (None: any)."""
    array = _as_array(docs)
    shape, dtype = (None, None) if tensor is None else _spec(tensor)
    _check_shape(array, shape)
    cast = np.ascontiguousarray(_cast(array, dtype))
    _check_vocabulary(model, cast, tensor)
    return cast


def check_docs(model: Any, docs: Any) -> np.ndarray:
    """Documents as a numpy batch the model accepts, or a named error.

    Parameters
    ----------
    model : keras.Model or tf_keras.Model
    docs : array-like
        ``(batch, ...)``: numpy array, list, or a TensorFlow / torch / JAX tensor.

    Returns
    -------
    numpy.ndarray
        Floats in the model's input dtype (float32 by default), integers as int32.
    """
    declared = declared_inputs(model)
    single = declared.tensors[0] if declared is not None and len(declared.tensors) == 1 else None
    return checked_array(model, docs, single)
