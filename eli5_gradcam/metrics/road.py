"""ROAD: RemOve And Debias (Rong et al. 2022), most- and least-relevant first.

For each percentage ``p``, the ``p%`` of pixels the map ranks highest
(MoRF) or lowest (LeRF) are removed by noisy linear imputation
(:mod:`.imputation`) and the target's score is read.  A faithful map makes
the MoRF scores low and the LeRF scores high.  See
https://arxiv.org/abs/2202.00449.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Sequence, Tuple

import numpy as np

from .imputation import ROAD_NOISE, impute
from .maps import Positions, fit_map, positions_of, ranking, select_map
from .model import resolve_target, scored_model, single_target, target_scores
from .options import ScoreOptions, with_score_options

__all__ = ['ROADResult', 'road', 'ROAD_PERCENTAGES']

#: The usual removal percentages of ROAD.
ROAD_PERCENTAGES: Tuple[int, ...] = (10, 20, 30, 40, 50, 60, 70, 80, 90)


@dataclass(frozen=True)
class ROADResult:
    """The target's score after imputing the most / least relevant pixels.

    Attributes
    ----------
    percentages : numpy.ndarray
        ``(k,)`` percentages of pixels removed.
    morf : numpy.ndarray
        ``(k,)`` scores with the most relevant pixels removed first.
    lerf : numpy.ndarray
        ``(k,)`` scores with the least relevant pixels removed first.
    target : int
    original_score : float
    """

    percentages: np.ndarray
    morf: np.ndarray
    lerf: np.ndarray
    target: int
    original_score: float

    @property
    def morf_mean(self) -> float:
        """Mean MoRF score over the percentages: **lower is better**."""
        return float(np.mean(self.morf))

    @property
    def lerf_mean(self) -> float:
        """Mean LeRF score over the percentages: **higher is better**."""
        return float(np.mean(self.lerf))

    @property
    def gap(self) -> float:
        """``lerf_mean - morf_mean``: higher is better (pytorch-grad-cam's
        ``ROADCombined`` is half of it)."""
        return self.lerf_mean - self.morf_mean


def _percentages(percentages: Any) -> np.ndarray:
    if isinstance(percentages, (str, bytes)) or not isinstance(
            percentages, (Sequence, np.ndarray)):
        raise TypeError('percentages must be a sequence of numbers in (0, 100); got '
                        f'{type(percentages).__name__}')
    values = list(percentages)
    if not values or any(isinstance(v, bool) or not isinstance(v, (numbers.Real, np.number))
                         for v in values):
        raise TypeError(f'percentages must be a non-empty sequence of numbers; got {values!r}')
    array = np.asarray(values, dtype=np.float64)
    if not ((array > 0) & (array < 100)).all():
        raise ValueError(f'percentages must lie strictly between 0 and 100; got {values!r}')
    return array


def _imputed_batch(docs: np.ndarray, positions: Positions, removed: np.ndarray,
                   noise: float, seed: int, start: int) -> np.ndarray:
    """``(k, ...)`` copies of the one document, the pixels of each ``removed`` row imputed.

    Row ``start + i``'s noise is seeded by ``(seed, start + i)``: the same
    whatever the batch size.
    """
    axes = [axis - 1 for axis in positions.axes]
    moved = np.moveaxis(docs[0], axes, [0, 1])                  # (H, W, rest...)
    image = moved.reshape(positions.shape + (-1,))
    out = []
    for index, row in enumerate(removed, start=start):
        filled = impute(image, row.reshape(positions.shape), noise=noise,
                        rng=np.random.default_rng([seed, index]))
        out.append(np.moveaxis(filled.reshape(moved.shape), [0, 1], axes))
    return np.stack(out).astype(docs.dtype)


@with_score_options
def road(model: Any, doc: Any, heatmap: Any, *,
         percentages: Sequence[float] = ROAD_PERCENTAGES, noise: float = ROAD_NOISE,
         **options: Any) -> ROADResult:
    """ROAD: the score after imputing the most (MoRF) and least (LeRF) relevant pixels.

    For each ``p`` in ``percentages`` the ``round(p / 100 * N)`` pixels the
    map ranks highest (MoRF) or lowest (LeRF) of the ``N`` are imputed
    from their neighbours (:func:`~eli5_gradcam.metrics.imputation.impute`),
    plus ``noise``.  Images only: token ids cannot be imputed (use
    :func:`deletion` with the pad id).

    Parameters
    ----------
    model, doc, heatmap
        As :func:`~eli5_gradcam.metrics.deletion`; ``heatmap`` is 2-D.
    percentages : sequence of float
        Percentages of pixels removed, in (0, 100); default 10, 20, ..., 90.
    noise : float
        Standard deviation of the imputation noise (the paper's 0.01), in
        the units of ``doc``; seeded by ``seed``.
    **options
        See :class:`~eli5_gradcam.metrics.options.ScoreOptions`.

    Returns
    -------
    ROADResult
        ``morf`` / ``lerf`` per percentage, ``morf_mean`` (lower is better),
        ``lerf_mean`` (higher is better) and their ``gap``.

    Notes
    -----
    pytorch-grad-cam's ``ROADMostRelevantFirst(percentile=q)`` removes the
    pixels at or above the map's ``q``-th percentile, that is the top
    ``100 - q`` percent: its ``q = 80`` is ``p = 20`` here.  It counts pixels
    by thresholding (ties all on one side), this by rank (exactly
    ``round(p / 100 * N)`` pixels, ties in a seeded random order).
    """
    settings = ScoreOptions.from_keywords(options, function='road')
    values_p = _percentages(percentages)
    if isinstance(noise, bool) or not isinstance(noise, (numbers.Real, np.number)) or (
            not np.isfinite(noise) or noise < 0):
        raise ValueError(f'noise must be a finite number >= 0; got {noise!r}')
    scored = scored_model(model, doc, settings)
    selected, label = select_map(heatmap, *single_target(settings))
    if selected.ndim != 2 or not np.issubdtype(scored.docs.dtype, np.floating):
        raise ValueError('ROAD imputes pixels from their neighbours: it needs a 2-D heatmap '
                         f'and a float image doc; got a {selected.ndim}-D heatmap and a doc of '
                         f'dtype {scored.docs.dtype}')
    positions = positions_of(scored.docs.shape, 2, scored.channels_first)
    order = ranking(fit_map(selected, positions.shape), settings.seed)
    counts = np.rint(values_p / 100.0 * positions.size).astype(np.int64)
    removed = np.zeros((2 * len(counts), positions.size), dtype=bool)
    for row, count in enumerate(counts):
        removed[row, order[:count]] = True                        # most relevant first
        removed[len(counts) + row, order[positions.size - count:]] = True    # least
    original = scored.predict(scored.docs)[0]
    target = resolve_target(single_target(settings)[0], label, original, settings)

    def make_batch(start: int, stop: int) -> np.ndarray:
        return _imputed_batch(scored.docs, positions, removed[start:stop], float(noise),
                              settings.seed, start)
    scores = target_scores(scored, make_batch, len(removed), np.full(len(removed), target),
                           settings, 'ROAD')
    return ROADResult(percentages=values_p, morf=scores[:len(counts)],
                      lerf=scores[len(counts):], target=target,
                      original_score=float(original[target]))
