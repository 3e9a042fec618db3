"""Average drop and increase in confidence: hand-computed answers over a few documents."""
from __future__ import annotations

import numpy as np
import pytest
from eli5.base import Explanation, TargetExplanation

from eli5_gradcam import metrics


def mean_and_rest(batch: np.ndarray) -> np.ndarray:
    """Two 'probabilities': the mean pixel and one minus it."""
    mean = batch.reshape(len(batch), -1).mean(axis=1)
    return np.stack([mean, 1.0 - mean], axis=1)


def test_hand_computed_drop_and_increase() -> None:
    docs = np.full((3, 1, 4, 4), 0.5)
    left_half = np.zeros((4, 4))
    left_half[:, :2] = 2.0                     # scaled to 1 by its maximum
    everything = np.ones((4, 4))
    result = metrics.confidence_change(mean_and_rest, docs, [left_half, everything, left_half],
                                       target=[0, 0, 1])
    # doc 0: mean 0.5 -> 0.25, a drop of 50%; doc 1: unchanged; doc 2 (output 1):
    # 0.5 -> 0.75, no drop, an increase
    np.testing.assert_allclose(result.original, [0.5, 0.5, 0.5])
    np.testing.assert_allclose(result.masked, [0.25, 0.5, 0.75])
    np.testing.assert_allclose(result.drops, [0.5, 0.0, 0.0])
    assert result.average_drop == pytest.approx(100 * 0.5 / 3)
    assert result.increase == pytest.approx(100 / 3)
    np.testing.assert_array_equal(result.targets, [0, 0, 1])


def test_baseline_is_what_the_masked_out_part_fades_to() -> None:
    docs = np.full((1, 1, 4, 4), 0.5)
    zeros = np.zeros((4, 4))                   # a flat map keeps nothing but the baseline
    faded = metrics.confidence_change(mean_and_rest, docs, [zeros], baseline=0.2, target=0)
    np.testing.assert_allclose(faded.masked, [0.2])


def test_targets_come_from_the_explanations_or_the_top_prediction() -> None:
    docs = np.full((2, 1, 4, 4), 0.25)                    # top prediction: output 1
    expl = Explanation('model', targets=[TargetExplanation(target=0, heatmap=np.ones((2, 2)))])
    result = metrics.confidence_change(mean_and_rest, docs, [expl, np.ones((4, 4))])
    np.testing.assert_array_equal(result.targets, [0, 1])


def test_channels_last_images() -> None:
    docs = np.full((1, 4, 4, 3), 0.5)
    top_row = np.zeros((4, 4))
    top_row[0] = 1.0
    result = metrics.confidence_change(mean_and_rest, docs, [top_row], target=0)
    np.testing.assert_allclose(result.masked, [0.125])


def test_errors_are_named() -> None:
    docs = np.full((2, 1, 4, 4), 0.5)
    with pytest.raises(ValueError, match='got 1 maps for 2 documents'):
        metrics.confidence_change(mean_and_rest, docs, [np.ones((4, 4))])
    with pytest.raises(ValueError, match='got 3 targets for 2 documents'):
        metrics.confidence_change(mean_and_rest, docs, [np.ones((4, 4))] * 2, target=[0, 1, 0])
    with pytest.raises(ValueError, match='must be positive'):
        metrics.confidence_change(lambda b: mean_and_rest(b) - 1.0, docs,
                                  [np.ones((4, 4))] * 2)
    with pytest.raises(ValueError, match='needs float documents'):
        metrics.confidence_change(lambda b: np.ones((len(b), 2)), np.array([[1, 2, 3]]),
                                  [np.ones(3)])
    with pytest.raises(TypeError, match='heatmaps must be one map per document'):
        metrics.confidence_change(mean_and_rest, docs, 3)
