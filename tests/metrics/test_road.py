"""ROAD: the imputation's known answers, MoRF / LeRF on a one-pixel model, errors."""
from __future__ import annotations

import numpy as np
import pytest

from eli5_gradcam import metrics
from eli5_gradcam.metrics.imputation import NEIGHBOUR_WEIGHTS
from metric_models import pixel_reader, rank_map, token_counter


def test_neighbour_weights_are_the_papers() -> None:
    weights = {(r, c): w for r, c, w in NEIGHBOUR_WEIGHTS}
    assert weights[(0, 1)] == weights[(-1, 0)] == 1 / 6
    assert weights[(1, 1)] == weights[(-1, -1)] == 1 / 12
    assert sum(weights.values()) == pytest.approx(1.0) and len(weights) == 8


def test_interior_pixels_of_a_linear_ramp_are_imputed_exactly() -> None:
    # the symmetric neighbour mean of a linear function is its value at the centre,
    # so removed pixels whose neighbours all lie inside the image come back exactly
    rows, cols = np.mgrid[0:12, 0:15]
    image = np.stack([0.3 * rows - 0.2 * cols + 1.0, 2.0 * cols, -rows], axis=-1)
    removed = np.zeros((12, 15), dtype=bool)
    removed[3:9, 4:11] = True
    removed[1, 1] = True
    filled = metrics.impute(image, removed, noise=0.0)
    np.testing.assert_allclose(filled, image, atol=1e-10)


def test_each_imputed_pixel_is_the_weighted_mean_of_its_neighbours() -> None:
    rng = np.random.default_rng(0)
    image = rng.random((9, 10, 2))
    removed = rng.random((9, 10)) < 0.5
    filled = metrics.impute(image, removed, noise=0.0)
    np.testing.assert_array_equal(filled[~removed], image[~removed])      # known: kept
    for row, col in np.argwhere(removed):
        total, weight_sum = np.zeros(2), 0.0
        for dr, dc, weight in NEIGHBOUR_WEIGHTS:
            r, c = row + dr, col + dc
            if 0 <= r < 9 and 0 <= c < 10:
                total += weight * filled[r, c]
                weight_sum += weight
        np.testing.assert_allclose(filled[row, col], total / weight_sum, atol=1e-10)


def test_noise_is_added_to_imputed_pixels_only_and_seeded() -> None:
    image = np.zeros((6, 6, 1))
    removed = np.zeros((6, 6), dtype=bool)
    removed[2:4, 2:4] = True
    first = metrics.impute(image, removed, noise=0.5, rng=np.random.default_rng(1))
    again = metrics.impute(image, removed, noise=0.5, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(first, again)
    assert np.all(first[~removed] == 0.0) and np.all(first[removed] != 0.0)
    with pytest.raises(ValueError, match='every pixel removed'):
        metrics.impute(image, np.ones((6, 6), dtype=bool))


def test_morf_removes_the_top_pixel_and_lerf_keeps_it() -> None:
    doc = np.zeros((1, 1, 10, 10))
    doc[0, 0, 4, 6] = 1.0
    heatmap = rank_map((10, 10), (4, 6))
    result = metrics.road(pixel_reader(4, 6), doc, heatmap, noise=0.0)
    np.testing.assert_array_equal(result.percentages, metrics.ROAD_PERCENTAGES)
    np.testing.assert_allclose(result.morf, 0.0, atol=1e-12)      # neighbours are all 0
    np.testing.assert_array_equal(result.lerf, 1.0)                # never removed
    assert result.original_score == 1.0
    assert result.morf_mean == pytest.approx(0.0) and result.gap == pytest.approx(1.0)


def test_lerf_removes_the_bottom_pixel_at_the_percentage_that_reaches_it() -> None:
    doc = np.zeros((1, 10, 10, 3))
    doc[0, 2, 3, 0] = 1.0
    heatmap = rank_map((10, 10), (0, 0))
    heatmap[2, 3] = -1.0                                           # ranked last
    result = metrics.road(pixel_reader(2, 3, channels_first=False), doc, heatmap,
                          noise=0.0, percentages=[1, 50, 99])
    np.testing.assert_allclose(result.lerf, 0.0, atol=1e-12)        # the bottom 1% is it
    np.testing.assert_array_equal(result.morf, 1.0)       # even the top 99% leave the last


def test_noise_does_not_depend_on_the_batch_size() -> None:
    rng = np.random.default_rng(2)
    doc, heatmap = rng.random((1, 3, 8, 8)), rng.random((8, 8))

    def total(batch: np.ndarray) -> np.ndarray:
        return batch.reshape(len(batch), -1).sum(axis=1)[:, np.newaxis]
    one = metrics.road(total, doc, heatmap, batch_size=1, seed=5)
    many = metrics.road(total, doc, heatmap, batch_size=7, seed=5)
    np.testing.assert_array_equal(one.morf, many.morf)
    np.testing.assert_array_equal(one.lerf, many.lerf)


@pytest.mark.parametrize('keywords, error, match', [
    ({'percentages': [0, 50]}, ValueError, 'strictly between 0 and 100'),
    ({'percentages': [50, 100]}, ValueError, 'strictly between 0 and 100'),
    ({'percentages': []}, TypeError, 'non-empty sequence'),
    ({'percentages': 50}, TypeError, 'percentages must be a sequence'),
    ({'noise': -0.1}, ValueError, 'noise must be a finite number >= 0'),
    ({'target': [0, 1]}, TypeError, 'one int or str for one document'),
])
def test_bad_arguments_get_named_errors(keywords, error, match) -> None:
    with pytest.raises(error, match=match):
        metrics.road(pixel_reader(0, 0), np.ones((1, 3, 8, 8)), np.ones((8, 8)), **keywords)


def test_token_ids_cannot_be_imputed() -> None:
    with pytest.raises(ValueError, match='ROAD imputes pixels'):
        metrics.road(token_counter(3), np.array([[1, 3, 2]]), np.ones(3))
