"""``explain_predictions``: many documents, one forward (and backward) pass per batch."""
from __future__ import annotations

import numbers
from typing import Any, Iterator, List, Optional, Sequence, Tuple

import numpy as np
from eli5.base import Explanation

from ._dispatch import adapter_of

__all__ = ['explain_predictions', 'iterate_batches']


def _first_input(element: Any) -> Any:
    """The inputs of a loader element: ``x`` of ``(x, y)`` or of ``{'x': ...}``."""
    if isinstance(element, (tuple, list)) and element:
        return element[0]
    if isinstance(element, dict) and element:
        return next(iter(element.values()))
    return element


def _length(docs: Any) -> Optional[int]:
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
    first = items[0]
    with_batch_axis = all(getattr(item, 'shape', (None,))[:1] == (1,) for item in items)
    shapes = [tuple(getattr(item, 'shape', np.shape(item))) for item in items]
    if len(set(shapes)) > 1:
        raise ValueError(f'docs: the documents of one batch must all have the same shape; '
                         f'got {sorted(set(shapes))}')
    if type(first).__module__.split('.')[0] == 'torch':
        import torch
        return torch.cat(items) if with_batch_axis else torch.stack(items)
    arrays = [np.asarray(item) for item in items]
    return np.concatenate(arrays) if with_batch_axis else np.stack(arrays)


def iterate_batches(docs: Any, batch_size: int) -> Iterator[Tuple[Any, int]]:
    """Yield ``(batch, size)`` from any supported container of documents.

    Parameters
    ----------
    docs : array, tensor, list, torch DataLoader or tf.data.Dataset
        An array or tensor is cut along its first (batch) axis; a list's items
        are documents, with or without a batch axis of 1; a DataLoader's or a
        batched Dataset's batches are used as they come (their first element
        when they hold ``(x, y)``); an unbatched Dataset is batched here.
    batch_size : int

    Yields
    ------
    (batch, int)
    """
    module = type(docs).__module__.split('.')[0]
    if module == 'tensorflow' and hasattr(docs, 'element_spec'):
        spec = _first_input(docs.element_spec)
        shape = getattr(spec, 'shape', None)
        batched = shape is not None and shape.rank and shape[0] is None
        dataset = docs if batched else docs.batch(batch_size)
        for element in dataset.as_numpy_iterator():
            inputs = _first_input(element)
            yield inputs, int(inputs.shape[0])
        return
    if hasattr(docs, 'shape') and not isinstance(docs, (list, tuple)):
        total = int(docs.shape[0])
        for start in range(0, total, batch_size):
            chunk = docs[start:start + batch_size]
            yield chunk, int(chunk.shape[0])
        return
    if isinstance(docs, (list, tuple)):
        for start in range(0, len(docs), batch_size):
            items = list(docs[start:start + batch_size])
            yield _stack(items), len(items)
        return
    if hasattr(docs, '__iter__') and hasattr(docs, 'dataset'):     # torch DataLoader
        for element in docs:
            inputs = _first_input(element)
            yield inputs, int(inputs.shape[0])
        return
    raise TypeError('docs must be an array or tensor with a batch axis, a list of documents, '
                    f'a torch DataLoader or a tf.data.Dataset; got {type(docs).__name__}')


def _progress_bar(total: Optional[int], enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, desc='explaining', unit='doc')


def _check_per_document(values: Any, name: str, total: Optional[int]) -> None:
    """``images`` / ``tokens``: a sequence with one entry per document."""
    if values is None:
        return
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)):
        raise TypeError(f'{name} must be a list with one entry per document; got '
                        f'{type(values).__name__}')
    if name == 'tokens' and len(values) and isinstance(values[0], (str, np.str_)):
        raise TypeError('tokens must hold one token list per document (a list of lists of '
                        f'str); got a flat list of str starting {values[0]!r}')
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
                        **kwargs: Any) -> Iterator[Explanation]:
    """Explain many documents, one forward and backward pass per batch.

    Parameters
    ----------
    model : torch.nn.Module, keras.Model or tf_keras.Model
    docs : array, tensor, list, torch DataLoader or tf.data.Dataset
        The documents, see :func:`iterate_batches`.  Layout as for
        :func:`eli5.explain_prediction` on the same model (NCHW images for
        PyTorch, NHWC for Keras).
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
        One token list per document: text explanations.
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
    bar = _progress_bar(total, progress)
    start = 0
    try:
        for batch, size in iterate_batches(docs, batch_size):
            explanations = explain_documents(
                adapter, model, batch, options,
                images=_per_document(images, start, size, 'images'),
                tokens=_per_document(tokens, start, size, 'tokens'))
            start += size
            if bar is not None:
                bar.update(size)
            yield from explanations
    finally:
        if bar is not None:
            bar.close()
