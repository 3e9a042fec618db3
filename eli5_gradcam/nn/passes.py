"""The extra forward passes of Score-CAM and Ablation-CAM, driven from the core.

:func:`channel_score_pass` asks the adapter for exactly what each method
needs, a batch of rows at a time, and fills in
``LayerCapture.channel_scores``:

* Score-CAM: the model's scores on one document multiplied by masks that
  the core made (:mod:`.masks`), :meth:`Adapter.masked_scores`;
* Ablation-CAM: the model's scores with one channel of the layer zeroed per
  row, :meth:`Adapter.ablated_scores`.  The adapter first runs the layers
  below the explained one once on the document and hands the layer's output
  on as a batch of ablated copies, so only the layers above it run once per
  channel.  Where the model's code does not take that change of batch size
  (a tensor from below the layer joined to one from above it, a forward
  that mixes the rows of a batch), the whole model runs on copies of the
  document instead; where that fails too, a ValueError names the layer.

Every target of a document comes from the same passes.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Iterator, List

import numpy as np

from .capture import LayerCapture
from .errors import library_fault
from .gradcam import METHOD_TITLES
from .kinds import DocumentKind
from .masks import input_spatial_axes, mask_shape, scorecam_masks
from .options import ExplainOptions
from .perturbation import default_rows, most_varied_channels

if TYPE_CHECKING:
    from .driver import Adapter

__all__ = ['channel_score_pass', 'PROGRESS_DELAY_S', 'REFERENCE_TOLERANCE']

#: The progress bar appears once the passes have taken this long (seconds).
PROGRESS_DELAY_S = 2.0

#: How closely the unablated reference row of Ablation-CAM's first batch must
#: reproduce the document's own scores, relative to the largest of them (at
#: least 1): a model whose layers above the explained one mix the rows of a
#: batch fails this check and is re-run whole.
REFERENCE_TOLERANCE = 1e-3


@contextmanager
def _progress(total: int, options: ExplainOptions) -> Iterator[Any]:
    from tqdm.auto import tqdm
    bar = tqdm(total=total, desc=f'{METHOD_TITLES[options.method]} passes', unit='input',
               delay=PROGRESS_DELAY_S, leave=False, disable=not options.progress)
    try:
        yield bar
    finally:
        bar.close()


def _chunks(channels: np.ndarray, rows: int) -> List[np.ndarray]:
    return [channels[start:start + rows] for start in range(0, len(channels), rows)]


def _rows(scores: Any, count: int, doing: str) -> np.ndarray:
    """The adapter's ``(count, outputs)`` scores as float64, or a ValueError."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[0] != count:
        raise ValueError(f'{doing}: the model gave scores of shape {scores.shape} for '
                         f'{count} inputs; expected ({count}, outputs)')
    return scores


def _scorecam(adapter: 'Adapter', model: Any, batch: Any, shape: tuple, kind: DocumentKind,
              options: ExplainOptions, capture: LayerCapture) -> np.ndarray:
    """``(batch, targets, channels)`` target scores on the masked documents."""
    axes = input_spatial_axes(shape, kind.kind, adapter.channels_first)
    size = [int(shape[axis]) for axis in axes]
    if len(size) != len(capture.spatial_shape):
        raise ValueError(f"method='scorecam': layer {capture.layer_name!r} has "
                         f'{len(capture.spatial_shape)} spatial axes but the documents '
                         f'{tuple(shape)} have {len(size)} to mask; pick another layer=')
    activations = capture.activations
    count, channels = activations.shape[0], activations.shape[-1]
    chosen = (most_varied_channels(activations, options.scorecam_maps)
              if options.scorecam_maps is not None
              else np.tile(np.arange(channels), (count, 1)))
    rows = default_rows('scorecam', 0, channels, options.batch_size)
    result = np.full(capture.targets.shape + (channels,), np.nan)
    with _progress(chosen.size, options) as bar:
        for item in range(count):
            for chunk in _chunks(chosen[item], rows):
                masks = scorecam_masks(activations[item], chunk, size).reshape(
                    mask_shape(shape, axes, len(chunk)))
                scores = _rows(adapter.masked_scores(model, batch, item, masks, kind, options),
                               len(chunk), "method='scorecam'")
                result[item][:, chunk] = scores[:, capture.targets[item]].T
                bar.update(len(chunk))
    return result


def _describe(problem: BaseException) -> str:
    """A problem as one short line (frameworks' messages span lines and carry
    terminal colour codes)."""
    text = ' '.join(re.sub(r'\x1b\[[0-9;]*m', '', str(problem)).split())
    return f'{type(problem).__name__}: {text[:300]}'


def _reference_matches(reference: np.ndarray, expected: np.ndarray) -> bool:
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    return bool(np.all(np.abs(reference - expected) <= REFERENCE_TOLERANCE * scale))


def _first_ablation(adapter: 'Adapter', model: Any, batch: Any, kind: DocumentKind,
                    options: ExplainOptions, capture: LayerCapture,
                    channels: np.ndarray) -> tuple:
    """The first batch of ablations, with an unablated reference row first:
    ``(scores, whole)``, re-run on the whole model where the layers above
    the explained one do not take the batch of ablated copies."""
    request = np.concatenate([[-1], channels]).astype(np.int64)
    problems: List[BaseException] = []
    for whole in (False, True):
        try:
            raw = adapter.ablated_scores(model, batch, 0, request, kind, options, whole=whole)
        except Exception as exc:   # the model's code failed on the ablated batch
            if library_fault(exc):
                raise
            problems.append(exc)
            continue
        scores = np.asarray(raw, dtype=np.float64)
        if scores.shape != (len(request),) + capture.scores.shape[1:]:
            problems.append(ValueError(f'the model gave scores of shape {scores.shape} for '
                                       f'{len(request)} ablated copies'))
        elif not _reference_matches(scores[0], capture.scores[0]):
            problems.append(ValueError('with no channel zeroed, the scores differ from the '
                                       "document's own: the model mixes the rows of a batch"))
        else:
            return scores[1:], whole
    above, whole_model = (_describe(problem) for problem in problems)
    raise ValueError(f"method='ablationcam': layer {capture.layer_name!r} cannot be re-run "
                     f'with its channels zeroed (the layers above it on the ablated copies: '
                     f'{above}; the whole model on copies of the document: {whole_model}); '
                     'pick another layer= or another method') from problems[-1]


def _ablation(adapter: 'Adapter', model: Any, batch: Any, kind: DocumentKind,
              options: ExplainOptions, capture: LayerCapture) -> np.ndarray:
    """``(batch, targets, channels)`` target scores with each channel zeroed."""
    activations = capture.activations
    count, channels = activations.shape[0], activations.shape[-1]
    row_bytes = 4 * int(np.prod(activations.shape[1:]))
    rows = default_rows('ablationcam', row_bytes, channels, options.batch_size)
    result = np.empty(capture.targets.shape + (channels,))
    whole = False
    with _progress(count * channels, options) as bar:
        for item in range(count):
            if item == 0:
                # the call's first batch also carries a reference row, see _first_ablation
                first = min(max(rows - 1, 1), channels)
                scores, whole = _first_ablation(adapter, model, batch, kind, options, capture,
                                                np.arange(first))
                result[0, :, :first] = scores[:, capture.targets[0]].T
                bar.update(first)
            for chunk in _chunks(np.arange(first if item == 0 else 0, channels), rows):
                scores = _rows(adapter.ablated_scores(model, batch, item, chunk, kind, options,
                                                      whole=whole),
                               len(chunk), "method='ablationcam'")
                result[item][:, chunk] = scores[:, capture.targets[item]].T
                bar.update(len(chunk))
    return result


def channel_score_pass(adapter: 'Adapter', model: Any, batch: Any, shape: tuple,
                       kind: DocumentKind, options: ExplainOptions,
                       capture: LayerCapture) -> LayerCapture:
    """``capture`` with :attr:`LayerCapture.channel_scores` filled in by the
    extra passes of ``options.method`` (``'scorecam'`` or ``'ablationcam'``).

    Parameters
    ----------
    adapter : Adapter
    model : the framework's model
    batch : the documents, as the adapter's :meth:`Adapter.documents` gave them
    shape : tuple of int
        Their shape.
    kind : DocumentKind
    options : ExplainOptions
    capture : LayerCapture
        The gradient-free capture of the same documents.

    Returns
    -------
    LayerCapture
    """
    if options.method == 'scorecam':
        scores = _scorecam(adapter, model, batch, shape, kind, options, capture)
    else:
        scores = _ablation(adapter, model, batch, kind, options, capture)
    return replace(capture, channel_scores=scores)
