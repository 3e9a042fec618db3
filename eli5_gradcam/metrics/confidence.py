"""Average drop and increase in confidence (Chattopadhay et al. 2018, Grad-CAM++).

Each document is multiplied by its map (scaled to [0, 1]): what the map
marks stays, the rest fades to the baseline.  If the map holds the
evidence, the target's score barely drops.  Over a set of documents:

* **average drop** ``= 100 / n * sum(max(0, Y - O) / Y)``: lower is better;
* **increase in confidence** ``= 100 / n * #(O > Y)``: higher is better,

where ``Y`` is the score on the document and ``O`` on the masked one.
See https://arxiv.org/abs/1710.11063.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Sequence

import numpy as np
from eli5.base import Explanation, TargetExplanation

from .baselines import baseline_docs
from .maps import fit_map, positions_of, select_map, unit_map
from .model import resolve_target, scored_model, target_scores
from .options import ScoreOptions, with_score_options

__all__ = ['ConfidenceChange', 'confidence_change']


@dataclass(frozen=True)
class ConfidenceChange:
    """Scores of documents before and after masking them by their maps.

    Attributes
    ----------
    original : numpy.ndarray
        ``(n,)`` target scores on the documents.
    masked : numpy.ndarray
        ``(n,)`` target scores on the documents multiplied by their maps.
    targets : numpy.ndarray
        ``(n,)`` output indices.
    """

    original: np.ndarray
    masked: np.ndarray
    targets: np.ndarray

    @property
    def drops(self) -> np.ndarray:
        """``(n,)`` relative drops ``max(0, Y - O) / Y``."""
        return np.maximum(self.original - self.masked, 0.0) / self.original

    @property
    def average_drop(self) -> float:
        """Average drop in percent: **lower is better**."""
        return float(100.0 * np.mean(self.drops))

    @property
    def increase(self) -> float:
        """Increase in confidence, percent of documents whose score rose: **higher is
        better**."""
        return float(100.0 * np.mean(self.masked > self.original))


def _map_list(heatmaps: Any, count: int) -> List[Any]:
    if isinstance(heatmaps, (Explanation, TargetExplanation)):
        items: List[Any] = [heatmaps]
    elif isinstance(heatmaps, np.ndarray) and heatmaps.ndim in (1, 2):
        items = [heatmaps]
    elif isinstance(heatmaps, (Sequence, np.ndarray)) and not isinstance(heatmaps, str):
        items = list(heatmaps)
    else:
        raise TypeError('heatmaps must be one map per document (a list of explanations or '
                        f'arrays); got {type(heatmaps).__name__}')
    if len(items) != count:
        raise ValueError(f'heatmaps: got {len(items)} maps for {count} documents; give one '
                         'per document')
    return items


def _targets_given(options: ScoreOptions, count: int) -> List[Any]:
    target = options.target
    if target is None or isinstance(target, (str, int, np.integer)):
        return [target] * count
    given = list(target)
    if len(given) != count:
        raise ValueError(f'target: got {len(given)} targets for {count} documents; give one '
                         'per document, or one for all')
    return given


@with_score_options
def confidence_change(model: Any, docs: Any, heatmaps: Any, *, baseline: Any = 0.0,
                      **options: Any) -> ConfidenceChange:
    """Average drop and increase in confidence over documents and their maps.

    Each document becomes ``baseline + m * (doc - baseline)`` where ``m`` is
    its map's positive part divided by its maximum (upsampled to the
    document), so a map of zeros leaves only the baseline.  With the default
    ``baseline=0`` this is the paper's ``doc * m`` (pytorch-grad-cam's
    ``CamMultImageConfidenceChange``); for ImageNet-normalised inputs 0 is
    the mean colour.

    Parameters
    ----------
    model
        As :func:`~eli5_gradcam.metrics.deletion`.
    docs : array-like or tensor
        ``(n, ...)`` documents, as the model takes them.
    heatmaps : sequence
        One map per document (explanations or arrays); a single map for
        ``n = 1``.
    baseline : {'blur', 'mean'}, number or array
        What the masked-out parts fade to (default 0).
    **options
        See :class:`~eli5_gradcam.metrics.options.ScoreOptions`; ``target``
        may hold one output per document.

    Returns
    -------
    ConfidenceChange
        ``average_drop`` (lower is better), ``increase`` (higher is better)
        and the per-document scores.

    Notes
    -----
    The drop is relative to the original score, so the scores must be
    positive: probabilities (``score='softmax'`` for a model returning logits).
    """
    settings = ScoreOptions.from_keywords(options, function='confidence_change')
    scored = scored_model(model, docs, settings)
    count = scored.docs.shape[0]
    if not np.issubdtype(scored.docs.dtype, np.floating):
        raise ValueError('confidence_change multiplies documents by their maps: it needs '
                         f'float documents (pixels, signals); got dtype {scored.docs.dtype} '
                         '(token ids?)')
    items, given = _map_list(heatmaps, count), _targets_given(settings, count)
    original_all = scored.predict(scored.docs)
    masks, targets = [], np.empty(count, dtype=np.int64)
    for item, (heatmap, target) in enumerate(zip(items, given)):
        name = settings.name_of(int(target)) if isinstance(target, (int, np.integer)) else None
        selected, label = select_map(heatmap, target, name)
        positions = positions_of(scored.docs.shape, selected.ndim, scored.channels_first)
        masks.append(unit_map(fit_map(selected, positions.shape)).ravel())
        targets[item] = resolve_target(target, label, original_all[item], settings)
    original = original_all[np.arange(count), targets]
    if (original <= 0).any():
        raise ValueError(f'score: the average drop is relative to the original score, which '
                         f'must be positive; got {original[original <= 0].tolist()}: use '
                         "probabilities (score='softmax' for a model returning logits)")
    base = baseline_docs(scored.docs, baseline, positions)
    weights = positions.expand(np.stack(masks))

    def make_batch(start: int, stop: int) -> np.ndarray:
        docs_part = scored.docs[start:stop].astype(np.float64)
        base_part = base[start:stop].astype(np.float64)
        masked = base_part + weights[start:stop] * (docs_part - base_part)
        return masked.astype(scored.docs.dtype)
    masked = target_scores(scored, make_batch, count, targets, settings, 'confidence')
    return ConfidenceChange(original=original, masked=masked, targets=targets)
