"""Reach the model: through the framework adapters, or a user's ``predict`` callable.

:func:`scored_model` turns a PyTorch module, a Keras model or any callable
``predict(batch) -> scores`` into a :class:`ScoredModel`: the document as a
numpy batch in the model's own layout, and a function from such batches to
scores ``(n, outputs)``.  :func:`target_scores` runs many perturbed documents
through it, ``batch_size`` at a time, with a progress bar on long runs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Protocol, Tuple

import numpy as np

from .._dispatch import adapter_of, framework_of
from ..nn.errors import library_fault, model_boundary
from ..nn.options import ExplainOptions
from .options import ScoreOptions

__all__ = ['ScoredModel', 'scored_model', 'target_scores', 'resolve_target', 'single_target',
           'PROGRESS_MIN_DOCUMENTS']

#: With ``progress=None``, runs scoring more documents than this show a bar.
PROGRESS_MIN_DOCUMENTS = 256

_IMAGE_CHANNELS = (1, 3, 4)


class ScoringAdapter(Protocol):
    """What the metrics use of a framework adapter (``pytorch/``, ``keras/``)."""

    channels_first: bool

    def documents(self, model: Any, docs: Any, options: ExplainOptions
                  ) -> Tuple[Any, Tuple[int, ...]]:
        """The documents as the model takes them, and their shape."""

    def as_numpy(self, batch: Any) -> np.ndarray:
        """Those documents as numpy."""

    def predict(self, model: Any, docs: Any, options: ExplainOptions) -> np.ndarray:
        """The model's scores ``(batch, outputs)`` on ``docs``, without gradients."""

    def view(self, batch: Any, items: Any, docs: np.ndarray) -> Any:
        """Documents ``items`` of ``batch``, the explained input replaced by ``docs``."""


@dataclass(frozen=True)
class ScoredModel:
    """A model as the metrics use it.

    Attributes
    ----------
    docs : numpy.ndarray
        The documents, batch first, in the layout the model takes (of a model
        of several inputs, the explained input: the one perturbed).
    score_rows : callable
        ``score_rows(batch, rows) -> (n, outputs)`` float64 scores, ``score``
        applied: row ``i`` of ``batch`` replaces the explained input of
        document ``rows[i]``, whose other inputs go with it.
    channels_first : bool
        Whether image documents are NCHW.
    """

    docs: np.ndarray
    score_rows: Callable[[np.ndarray, np.ndarray], np.ndarray]
    channels_first: bool

    def predict(self, batch: np.ndarray, start: int = 0) -> np.ndarray:
        """Scores of ``batch``: of one document, every row is a version of it; of
        several, row ``i`` is a version of document ``start + i``."""
        rows = (np.zeros(len(batch), int) if self.docs.shape[0] == 1
                else np.arange(start, start + len(batch)))
        return self.score_rows(batch, rows)


def _as_numpy(value: Any, name: str) -> np.ndarray:
    if hasattr(value, 'detach') and hasattr(value, 'cpu'):             # a torch tensor
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f'{name} must be an array; got {type(value).__name__}') from exc


@model_boundary
def _call_predict(predict: Callable[[np.ndarray], Any], batch: np.ndarray) -> Any:
    return predict(batch)


def _callable_scores(predict: Callable[[np.ndarray], Any], batch: np.ndarray) -> np.ndarray:
    try:
        raw = _call_predict(predict, batch)
    except Exception as exc:
        if library_fault(exc):
            raise
        raise ValueError(f'model: the predict callable failed on a batch of shape '
                         f'{batch.shape}: {type(exc).__name__}: {exc}') from exc
    scores = _as_numpy(raw, 'the output of the predict callable').astype(np.float64)
    if scores.ndim == 1:
        scores = scores[:, np.newaxis]
    if scores.ndim != 2 or scores.shape[0] != batch.shape[0]:
        raise ValueError(f'model: the predict callable returned shape {np.shape(raw)} for a '
                         f'batch of {batch.shape[0]}; it must return scores (batch, outputs)')
    return scores


def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _guess_channels_first(shape: tuple) -> bool:
    """NCHW / NCL rather than NHWC / NLC: the smaller of the two axes beside the
    positions is taken for the channels (images: among 1, 3 or 4)."""
    if len(shape) == 4:
        first, last = shape[1] in _IMAGE_CHANNELS, shape[-1] in _IMAGE_CHANNELS
        if first and last:
            return bool(shape[1] < shape[-1])
        return bool(first)
    return len(shape) == 3 and shape[1] < shape[2]


def scored_model(model: Any, docs: Any, options: ScoreOptions) -> ScoredModel:
    """The documents as numpy and a scoring function, for a framework model or a callable.

    Parameters
    ----------
    model : torch.nn.Module, keras.Model, tf_keras.Model or callable
        A callable takes a numpy batch of documents (the layout of ``docs``)
        and returns scores ``(batch, outputs)`` (numpy, a list or a tensor).
    docs : array-like or tensor
        Batch first.
    options : ScoreOptions

    Returns
    -------
    ScoredModel
    """
    if framework_of(model) is not None:
        adapter: ScoringAdapter = adapter_of(model)
        explain_options = ExplainOptions(output=options.output)
        batch, _ = adapter.documents(model, docs, explain_options)
        array = np.asarray(adapter.as_numpy(batch))
        predict = _adapter_scores(adapter, model, batch, explain_options)
        channels_first = bool(adapter.channels_first)
    elif callable(model):
        if options.output is not None:
            raise TypeError('output= picks among a framework model\'s outputs; a predict '
                            'callable returns its scores directly: leave output=None')
        array = _as_numpy(docs, 'doc')
        if array.ndim < 2 or array.size == 0:
            raise ValueError(f'doc must have a batch axis first, e.g. (1, ...); got shape '
                             f'{array.shape}')
        predict = _bind(model)
        channels_first = _guess_channels_first(array.shape)
    else:
        raise TypeError('model must be a PyTorch nn.Module, a Keras model or a callable '
                        f'predict(batch) -> scores; got {type(model).__name__}')
    if options.channels_first is not None:
        channels_first = options.channels_first
    final = predict if options.score == 'output' else _with_softmax(predict)
    return ScoredModel(docs=array, score_rows=final, channels_first=channels_first)


def _adapter_scores(adapter: ScoringAdapter, model: Any, documents: Any,
                    options: ExplainOptions) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    def scores(batch: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return np.asarray(adapter.predict(model, adapter.view(documents, rows, batch), options))
    return scores


def _bind(model: Callable[[np.ndarray], Any]) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    return lambda batch, rows: _callable_scores(model, batch)


def _with_softmax(predict: Callable[[np.ndarray, np.ndarray], np.ndarray]
                  ) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    return lambda batch, rows: _softmax(predict(batch, rows))


def single_target(options: ScoreOptions) -> Tuple[Any, Optional[str]]:
    """``target`` of a one-document metric and its name (from ``target_names``)."""
    target = options.target
    if target is not None and not isinstance(target, (str, int, np.integer)):
        raise TypeError(f'target must be one int or str for one document; got {target!r}')
    name = options.name_of(int(target)) if isinstance(target, (int, np.integer)) else None
    return target, name


def resolve_target(target: Any, label: Any, scores: np.ndarray, options: ScoreOptions) -> int:
    """The output index to follow: ``target``, else the map's label, else the top score.

    Parameters
    ----------
    target : int, str or None
        As given (one document's).
    label : int, str or None
        The explanation's target label, if the map came from one.
    scores : numpy.ndarray
        ``(outputs,)`` scores of the unperturbed document.
    options : ScoreOptions
        For ``target_names``.
    """
    chosen = target if target is not None else label
    if chosen is None:
        return int(np.argmax(scores))
    if isinstance(chosen, str):
        if options.target_names is None:
            raise ValueError(f'target {chosen!r} is a name: pass target_names= (or target= as '
                             'an int output index)')
        chosen = options.index_of(chosen)
    index = int(chosen)
    if not -scores.shape[0] <= index < scores.shape[0]:
        raise ValueError(f'target={index} is out of range: the model has {scores.shape[0]} '
                         'outputs')
    return index % scores.shape[0]


def _progress(total: int, options: ScoreOptions, description: str) -> Any:
    show = options.progress if options.progress is not None else (
        total > PROGRESS_MIN_DOCUMENTS)
    if not show:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=description, unit='doc')


def target_scores(model: ScoredModel, make_batch: Callable[[int, int], np.ndarray],
                  total: int, targets: np.ndarray, options: ScoreOptions,
                  description: str) -> np.ndarray:
    """Score ``total`` documents, ``batch_size`` at a time: each one's target's score.

    Parameters
    ----------
    model : ScoredModel
    make_batch : callable
        ``make_batch(start, stop)``: documents ``start`` to ``stop`` (a numpy batch).
    total : int
    targets : numpy.ndarray
        ``(total,)`` output index per document.
    options : ScoreOptions
    description : str
        The progress bar's label.

    Returns
    -------
    numpy.ndarray
        ``(total,)`` float64.
    """
    result = np.empty(total, dtype=np.float64)
    bar: Optional[Any] = _progress(total, options, description)
    try:
        for start in range(0, total, options.batch_size):
            stop = min(start + options.batch_size, total)
            scores = model.predict(make_batch(start, stop), start)
            result[start:stop] = scores[np.arange(stop - start), targets[start:stop]]
            if bar is not None:
                bar.update(stop - start)
    finally:
        if bar is not None:
            bar.close()
    return result
