"""Deletion and insertion (Petsiuk et al. 2018, RISE): does the score follow the map?

*Deletion* removes the positions (pixels, tokens) the map ranks highest
first, in ``steps``, and follows the target's score: a faithful map makes
it fall fast (a low area under the curve).  *Insertion* starts from the
baseline and reveals the highest-ranked positions first: the score should
rise fast (a high area).  See https://arxiv.org/abs/1806.07421.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

from .baselines import baseline_docs
from .maps import Positions, fit_map, positions_of, ranking, select_map
from .model import ScoredModel, resolve_target, scored_model, single_target, target_scores
from .options import ScoreOptions, with_score_options

__all__ = ['PerturbationCurve', 'deletion', 'insertion', 'DEFAULT_STEPS', 'removal_counts',
           'area_under_curve']

#: Steps of a deletion or insertion curve by default.
DEFAULT_STEPS = 50


def area_under_curve(fractions: np.ndarray, scores: np.ndarray) -> float:
    """Trapezoidal area under ``scores`` over ``fractions`` (in [0, 1])."""
    widths = np.diff(fractions)
    return float(np.sum(widths * (scores[1:] + scores[:-1]) / 2.0))


@dataclass(frozen=True)
class PerturbationCurve:
    """The target's score as positions are removed (deletion) or revealed (insertion).

    Attributes
    ----------
    kind : {'deletion', 'insertion'}
    fractions : numpy.ndarray
        ``(steps + 1,)``: the fraction of positions removed (revealed), 0 to 1.
    scores : numpy.ndarray
        ``(steps + 1,)``: the target's score at each step.
    target : int
        The output index followed.
    original_score : float
        The target's score on the unperturbed document.
    """

    kind: str
    fractions: np.ndarray
    scores: np.ndarray
    target: int
    original_score: float

    @property
    def auc(self) -> float:
        """Area under the curve (trapezoids): lower is better for deletion, higher for
        insertion."""
        return area_under_curve(self.fractions, self.scores)


def removal_counts(size: int, steps: Any) -> np.ndarray:
    """How many positions are removed at each of ``steps + 1`` steps: ``round(i * size / steps)``.

    ``steps=None``: :data:`DEFAULT_STEPS`, or one step per position if there are fewer.
    """
    if steps is None:
        steps = min(DEFAULT_STEPS, size)
    if isinstance(steps, bool) or not isinstance(steps, (numbers.Integral, np.integer)):
        raise TypeError(f'steps must be an int; got {type(steps).__name__} {steps!r}')
    count = int(steps)
    if not 1 <= count <= size:
        raise ValueError(f'steps must be between 1 and the number of positions ({size}); got '
                         f'{count}')
    return np.rint(np.arange(count + 1) * size / count).astype(np.int64)


def _perturbed(model: ScoredModel, positions: Positions, order: np.ndarray,
               counts: np.ndarray, base: np.ndarray, kind: str
               ) -> Callable[[int, int], np.ndarray]:
    def make_batch(start: int, stop: int) -> np.ndarray:
        chosen = np.zeros((stop - start, positions.size), dtype=bool)
        for row, count in enumerate(counts[start:stop]):
            chosen[row, order[:count]] = True
        mask = positions.expand(chosen)
        if kind == 'deletion':
            return np.where(mask, base, model.docs)
        return np.where(mask, model.docs, base)
    return make_batch


def _curve(kind: str, model: Any, doc: Any, heatmap: Any, steps: Any, baseline: Any,
           options: ScoreOptions) -> PerturbationCurve:
    scored = scored_model(model, doc, options)
    if scored.docs.shape[0] != 1:
        raise ValueError(f'doc must hold one document (a batch axis of 1); got shape '
                         f'{scored.docs.shape}')
    target_given, name = single_target(options)
    selected, label = select_map(heatmap, target_given, name)
    positions = positions_of(scored.docs.shape, selected.ndim, scored.channels_first)
    values = fit_map(selected, positions.shape)
    counts = removal_counts(positions.size, steps)
    if baseline is None:
        floating = np.issubdtype(scored.docs.dtype, np.floating)
        baseline = 'blur' if kind == 'insertion' and floating else 0
    base = baseline_docs(scored.docs, baseline, positions)
    original = scored.predict(scored.docs)[0]
    target = resolve_target(target_given, label, original, options)
    make_batch = _perturbed(scored, positions, ranking(values, options.seed), counts, base,
                            kind)
    scores = target_scores(scored, make_batch, len(counts), np.full(len(counts), target),
                           options, kind)
    return PerturbationCurve(kind=kind, fractions=counts / positions.size, scores=scores,
                             target=target, original_score=float(original[target]))


@with_score_options
def deletion(model: Any, doc: Any, heatmap: Any, *, steps: Optional[int] = None,
             baseline: Any = None, **options: Any) -> PerturbationCurve:
    """Deletion curve: remove the most important positions first (RISE).

    At step ``i`` of ``steps`` the ``round(i * N / steps)`` positions the
    map ranks highest (of ``N`` pixels or tokens) are replaced by the
    baseline, every channel of a pixel at once; ties in the map are removed
    in a seeded random order.  A faithful map makes the target's score fall
    early: **lower AUC is better**.

    Parameters
    ----------
    model : torch.nn.Module, keras.Model, tf_keras.Model or callable
        A callable ``predict(batch) -> scores (batch, outputs)`` takes numpy
        batches in ``doc``'s layout (LIME's and SHAP's maps of any model are
        scored the same way).
    doc : array-like or tensor
        One document with a batch axis of 1, as the model takes it.
    heatmap : Explanation, TargetExplanation or array
        A 2-D map (images) or 1-D map (sequences) at any resolution up to
        the document's; layer-resolution maps are upsampled (bilinear /
        linear), as the explanation's overlay is.
    steps : int, optional
        Number of steps (1 to ``N``); default 50 (:data:`DEFAULT_STEPS`), or
        ``N`` for a shorter document.
    baseline : {'blur', 'mean'}, number or array, optional
        What removed positions become (see
        :func:`~eli5_gradcam.metrics.baselines.baseline_docs`).  Default
        ``0``, as RISE's deletion (for ImageNet-normalised inputs, the mean
        colour; for token ids, id 0, usually padding).
    **options
        ``target``, ``target_names``, ``score``, ``output``, ``batch_size``,
        ``progress``, ``channels_first``, ``seed``: see
        :class:`~eli5_gradcam.metrics.options.ScoreOptions`.

    Returns
    -------
    PerturbationCurve
        ``auc``, ``fractions``, ``scores`` (for plotting), ``target``.

    Examples
    --------
    >>> curve = deletion(model, doc, eli5.explain_prediction(model, doc))  # doctest: +SKIP
    >>> curve.auc                                                           # doctest: +SKIP
    """
    return _curve('deletion', model, doc, heatmap, steps, baseline,
                  ScoreOptions.from_keywords(options, function='deletion'))


@with_score_options
def insertion(model: Any, doc: Any, heatmap: Any, *, steps: Optional[int] = None,
              baseline: Any = None, **options: Any) -> PerturbationCurve:
    """Insertion curve: reveal the most important positions first (RISE).

    Starts from the baseline document and puts back the original values
    of the positions the map ranks highest, in ``steps``.  A faithful map
    makes the target's score rise early: **higher AUC is better**.

    Parameters
    ----------
    model, doc, heatmap, steps, **options
        As :func:`deletion`.
    baseline : {'blur', 'mean'}, number or array, optional
        The starting document.  Default ``'blur'`` for float documents, as
        RISE's insertion, and ``0`` (padding) for token ids.

    Returns
    -------
    PerturbationCurve
    """
    return _curve('insertion', model, doc, heatmap, steps, baseline,
                  ScoreOptions.from_keywords(options, function='insertion'))
