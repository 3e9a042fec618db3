"""``explain_predictions``: many documents, one forward (and backward) pass per batch."""
from __future__ import annotations

import numbers
from typing import Any, Iterator, List, Optional, Sequence, Tuple

import numpy as np
from eli5.base import Explanation

from ._dispatch import adapter_of
from .collate import (collate_mappings, fitted_tokens, is_mapping, join, mapping_size,
                      split_mapping, with_batch_axis, without_labels)

__all__ = ['explain_predictions', 'iterate_batches']


def _loader_inputs(element: Any) -> Any:
    """The inputs of a loader's element: ``x`` of ``(x, y)``; a mapping less its labels."""
    if isinstance(element, (tuple, list)) and element:
        element = element[0]
    return without_labels(element) if is_mapping(element) else element


def _size(inputs: Any) -> int:
    return mapping_size(inputs) if is_mapping(inputs) else int(inputs.shape[0])


def _length(docs: Any) -> Optional[int]:
    if is_mapping(docs):
        return mapping_size(without_labels(docs))
    dataset = getattr(docs, 'dataset', None)          # torch DataLoader
    if dataset is not None and hasattr(dataset, '__len__'):
        return len(dataset)
    cardinality = getattr(docs, 'cardinality', None)  # tf.data.Dataset
    if callable(cardinality) and type(docs).__module__.startswith('tensorflow'):
        count = int(cardinality())
        return count if count >= 0 else None
    if hasattr(docs, 'shape') and len(getattr(docs, 'shape')) > 0:
        return int(docs.shape[0])
    if hasattr(docs, '__len__'):
        return len(docs)
    return None


def _stack(items: List[Any]) -> Any:
    """Join single documents into a batch (they may carry a batch axis of 1)."""
    shapes = [tuple(getattr(item, 'shape', np.shape(item))) for item in items]
    if len(set(shapes)) > 1:
        raise ValueError(f'docs: the documents of one batch must all have the same shape; '
                         f'got {sorted(set(shapes))}')
    if all(shape[:1] == (1,) for shape in shapes):
        return join(items)
    return join([with_batch_axis(item) for item in items])


def _list_batches(docs: Sequence[Any], batch_size: int) -> Iterator[Tuple[Any, int]]:
    """A list of documents: arrays or tensors stacked, mappings collated."""
    mappings = [is_mapping(item) for item in docs]
    if any(mappings) and not all(mappings):
        other = mappings.index(not mappings[0])
        raise TypeError('docs: a list of documents holds mappings of inputs or arrays and '
                        f'tensors, not both; docs[0] is a {type(docs[0]).__name__}, '
                        f'docs[{other}] a {type(docs[other]).__name__}')
    for start in range(0, len(docs), batch_size):
        items = list(docs[start:start + batch_size])
        yield (collate_mappings(items, first=start) if mappings and mappings[0]
               else _stack(items)), len(items)


def _dataset_batches(docs: Any, batch_size: int) -> Iterator[Tuple[Any, int]]:
    """A tf.data.Dataset: batched here unless its elements are batches already."""
    spec = _loader_inputs(docs.element_spec)
    if is_mapping(spec):
        spec = next(iter(spec.values()), None)
    shape = getattr(spec, 'shape', None)
    batched = shape is not None and shape.rank and shape[0] is None
    dataset = docs if batched else docs.batch(batch_size)
    for element in dataset.as_numpy_iterator():
        inputs = _loader_inputs(element)
        yield inputs, _size(inputs)


def iterate_batches(docs: Any, batch_size: int) -> Iterator[Tuple[Any, int]]:
    """Yield ``(batch, size)`` from any supported container of documents.

    Parameters
    ----------
    docs : array, tensor, mapping, list, torch DataLoader or tf.data.Dataset
        An array or tensor is cut along its first (batch) axis, and so is a
        mapping of inputs (a dict, a Hugging Face ``BatchEncoding``: every
        input alike).  A list's items are documents: arrays or tensors with
        or without a batch axis of 1, stacked; or mappings, each input with
        or without a batch axis of 1, collated by
        :func:`~eli5_gradcam.collate.collate_mappings` (inputs of different
        lengths padded on the right with 0, ``attention_mask`` too).  A
        DataLoader's or a batched Dataset's batches are used as they come
        (their first element when they hold ``(x, y)``; a mapping whole); an
        unbatched Dataset is batched here.  Labels (``labels``, ``label``,
        ``label_ids``) are dropped from every mapping.
    batch_size : int

    Yields
    ------
    (batch, int)
        A mapping batch is a dict of inputs.
    """
    module = type(docs).__module__.split('.')[0]
    if module == 'tensorflow' and hasattr(docs, 'element_spec'):
        yield from _dataset_batches(docs, batch_size)
        return
    if is_mapping(docs):
        yield from split_mapping(docs, batch_size)
        return
    if hasattr(docs, 'shape') and not isinstance(docs, (list, tuple)):
        total = int(docs.shape[0])
        for start in range(0, total, batch_size):
            chunk = docs[start:start + batch_size]
            yield chunk, int(chunk.shape[0])
        return
    if isinstance(docs, (list, tuple)):
        yield from _list_batches(docs, batch_size)
        return
    if hasattr(docs, '__iter__') and hasattr(docs, 'dataset'):     # torch DataLoader
        for element in docs:
            inputs = _loader_inputs(element)
            yield inputs, _size(inputs)
        return
    raise TypeError('docs must be an array or tensor with a batch axis, a mapping of inputs '
                    '(a dict, a BatchEncoding), a list of documents, a torch DataLoader or a '
                    f'tf.data.Dataset; got {type(docs).__name__}')


def _progress_bar(total: Optional[int], enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, desc='explaining', unit='doc')


def _check_per_document(values: Any, name: str, total: Optional[int]) -> None:
    """``images`` / ``tokens`` / ``texts`` / ``offsets``: one entry per document."""
    if values is None:
        return
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)):
        raise TypeError(f'{name} must be a list with one entry per document; got '
                        f'{type(values).__name__}')
    if name in ('tokens', 'offsets') and len(values) and isinstance(values[0], (str, np.str_)):
        what = 'token list' if name == 'tokens' else 'array of (start, end) offsets'
        raise TypeError(f'{name} must hold one {what} per document (a list of lists); got a '
                        f'flat list of str starting {values[0]!r}')
    if total is not None and len(values) != total:
        raise ValueError(f'{name}: got {len(values)} entries for {total} documents; give '
                         'one per document')


def _per_document(values: Optional[Sequence[Any]], start: int, size: int,
                  name: str) -> Optional[List[Any]]:
    if values is None:
        return None
    chunk = list(values[start:start + size])
    if len(chunk) != size:
        raise ValueError(f'{name}: needs one entry per document; ran out at document '
                         f'{start + len(chunk)}')
    return chunk


def explain_predictions(model: Any,
                        docs: Any,
                        *,
                        batch_size: int = 32,
                        progress: bool = True,
                        images: Optional[Sequence[Any]] = None,
                        tokens: Optional[Sequence[Any]] = None,
                        texts: Optional[Sequence[Optional[str]]] = None,
                        offsets: Optional[Sequence[Any]] = None,
                        **kwargs: Any) -> Iterator[Explanation]:
    """Explain many documents, one forward and backward pass per batch.

    Parameters
    ----------
    model : torch.nn.Module, keras.Model or tf_keras.Model
    docs : array, tensor, mapping, list, torch DataLoader or tf.data.Dataset
        The documents, see :func:`iterate_batches`.  Layout as for
        :func:`eli5.explain_prediction` on the same model (NCHW images for
        PyTorch, NHWC for Keras).  PyTorch models also take several inputs:
        a mapping of them (a dict, a Hugging Face ``BatchEncoding`` from
        ``tokenizer(texts, padding=True, return_tensors='pt')``) cut into
        batches, a list of one-document mappings, or a DataLoader of mapping
        batches (what ``DataCollatorWithPadding`` yields); labels
        (``labels``, ``label``, ``label_ids``) are dropped, never passed to
        the model.  Single mappings of different lengths are padded on the
        right with 0 and their ``attention_mask`` with 0 (tokenizers whose
        padding id is not 0: pad with the tokenizer).
    batch_size : int
        Documents per pass (DataLoaders and batched Datasets keep their own);
        also the inputs per extra forward pass of Score-CAM and Ablation-CAM
        (``batch_size`` of :class:`~eli5_gradcam.nn.options.ExplainOptions`).
    progress : bool
        Show a tqdm progress bar (notebook-aware), and one over the extra
        passes of Score-CAM and Ablation-CAM when they are long.
    images : sequence of PIL.Image.Image, optional
        One picture per document to draw on (default: drawn from the docs).
    tokens : sequence of token lists, optional
        One token list per document: text explanations.  Padding that an
        ``attention_mask`` marks is removed from each document's
        explanation, as for one document.  With mapping documents a token
        list may also be the document's own, one token per 1 of its
        ``attention_mask``: the batch's padding is unknown before a
        collator pads it (see :func:`~eli5_gradcam.collate.fitted_tokens`).
    texts : sequence of str, optional
        One original text per document (``text=`` of
        :func:`eli5.explain_prediction`): each explanation highlights its
        text at the tokens' characters, special tokens and padding left out,
        word pieces merged into words.  The offsets come from the documents'
        ``offset_mapping`` (``tokenizer(texts, return_offsets_mapping=True,
        ...)``) unless ``offsets`` is given.
    offsets : sequence of arrays, optional
        One ``(length, 2)`` array of token character offsets per document.
    **kwargs
        Everything else :func:`eli5.explain_prediction` takes for the model's
        framework: ``targets``, ``top_targets``, ``target_names``, ``layer``,
        ``method``, ``relu``, ``counterfactual``, ``score``, ``output``,
        ``pad_value``, ``pad_token``, ``padding``, ``interpolation_kind``...

    Yields
    ------
    eli5.base.Explanation
        One per document, in order.

    Examples
    --------
    >>> for expl in eli5_gradcam.explain_predictions(model, images, top_targets=2):  # doctest: +SKIP
    ...     eli5.format_as_image(expl).save(f'{expl.targets[0].target}.png')
    >>> encoded = tokenizer(texts, padding=True, return_tensors='pt')  # doctest: +SKIP
    >>> tokens = [tokenizer.convert_ids_to_tokens(row) for row in encoded['input_ids']]  # doctest: +SKIP
    >>> explanations = list(eli5_gradcam.explain_predictions(  # doctest: +SKIP
    ...     model, encoded, tokens=tokens, batch_size=16))
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral):
        raise TypeError(f'batch_size must be a positive int; got {type(batch_size).__name__} '
                        f'{batch_size!r}')
    if batch_size < 1:
        raise ValueError(f'batch_size must be a positive int; got {batch_size!r}')
    batch_size = int(batch_size)
    if not isinstance(progress, bool):
        raise TypeError(f'progress must be True or False; got {progress!r}')
    for name in ('doc', 'image'):
        if name in kwargs:
            raise TypeError(f'explain_predictions takes docs and images= (one per document), '
                            f'not {name}=')
    from .nn.driver import explain_documents
    from .nn.options import ExplainOptions

    adapter = adapter_of(model)
    # batch_size and progress also bound and show Score-CAM's / Ablation-CAM's passes
    options = ExplainOptions.from_keywords(
        {'batch_size': batch_size, 'progress': progress, **kwargs},
        function='explain_predictions', unsupported=adapter.unsupported)
    total = _length(docs)
    _check_per_document(images, 'images', total)
    _check_per_document(tokens, 'tokens', total)
    _check_per_document(texts, 'texts', total)
    _check_per_document(offsets, 'offsets', total)
    bar = _progress_bar(total, progress)
    start = 0
    try:
        for batch, size in iterate_batches(docs, batch_size):
            explanations = explain_documents(
                adapter, model, batch, options,
                images=_per_document(images, start, size, 'images'),
                tokens=fitted_tokens(_per_document(tokens, start, size, 'tokens'), batch),
                texts=_per_document(texts, start, size, 'texts'),
                offsets=_per_document(offsets, start, size, 'offsets'))
            start += size
            if bar is not None:
                bar.update(size)
            yield from explanations
    finally:
        if bar is not None:
            bar.close()
