"""Pointing game and energy-based pointing game: known answers, errors, Quantus as oracle."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from eli5.base import Explanation, TargetExplanation
from PIL import Image

from eli5_gradcam import FlatHeatmapWarning, metrics


def test_a_map_equal_to_the_mask_scores_one() -> None:
    rng = np.random.default_rng(0)
    hits, energies = [], []
    for _ in range(20):
        mask = np.zeros((40, 50), dtype=bool)
        top, left = rng.integers(0, 30), rng.integers(0, 40)
        mask[top:top + rng.integers(1, 10), left:left + rng.integers(1, 10)] = True
        heatmap = mask.astype(float)
        hits.append(metrics.pointing_game(heatmap, mask=mask, tolerance=0).hit)
        energies.append(metrics.energy_pointing_game(heatmap, mask=mask))
    assert np.mean(hits) == 1.0
    assert energies == [1.0] * 20


@pytest.mark.parametrize('col, tolerance, hit', [(30, 15, True), (30, 10, False),
                                                  (34, 15, True), (35, 15, False),
                                                  (19, 0, True), (20, 0, False)])
def test_tolerance_is_the_distance_to_the_nearest_object_pixel(col, tolerance, hit) -> None:
    heatmap = np.zeros((40, 60))
    heatmap[15, col] = 1.0
    # box columns 10..19, rows 10..19: the nearest box pixel is (15, 19)
    result = metrics.pointing_game(heatmap, box=(10, 10, 20, 20), shape=(40, 60),
                                   tolerance=tolerance)
    assert result.hit is hit
    assert result.point == (15, col)
    assert result.distance == max(col - 19, 0)


def test_the_default_tolerance_is_zhangs_15_pixels() -> None:
    assert metrics.POINTING_TOLERANCE == 15
    heatmap = np.zeros((40, 60))
    heatmap[15, 34] = 1.0
    assert metrics.pointing_game(heatmap, box=(10, 10, 20, 20), shape=(40, 60)).hit


def test_tied_maxima_hit_if_any_of_them_is_on_the_object() -> None:
    heatmap = np.zeros((30, 30))
    heatmap[0, 0] = heatmap[20, 20] = 1.0
    result = metrics.pointing_game(heatmap, box=(18, 18, 25, 25), shape=(30, 30), tolerance=0)
    assert result.hit and result.point == (20, 20)


def test_a_flat_map_points_nowhere() -> None:
    with pytest.warns(FlatHeatmapWarning, match='flat'):
        result = metrics.pointing_game(np.zeros((8, 8)), box=(0, 0, 8, 8), shape=(8, 8))
    assert not result.hit and result.point is None
    with pytest.warns(FlatHeatmapWarning, match='no positive value'):
        assert metrics.energy_pointing_game(-np.ones((8, 8)), box=(0, 0, 4, 4),
                                            shape=(8, 8)) == 0.0


def test_energy_is_the_share_of_positive_mass_on_the_object() -> None:
    heatmap = np.zeros((10, 10))
    heatmap[2, 2] = 3.0          # inside the box
    heatmap[8, 8] = 1.0          # outside
    heatmap[9, 0] = -5.0         # negative evidence is not mass
    assert metrics.energy_pointing_game(heatmap, box=(0, 0, 5, 5), shape=(10, 10)) == 0.75


def test_layer_resolution_map_is_upsampled_to_the_image() -> None:
    coarse = np.zeros((7, 7))
    coarse[5, 1] = 1.0                              # cell (5, 1) of a 7x7 grid on 224 px
    result = metrics.pointing_game(coarse, box=(32, 160, 64, 192), shape=(224, 224),
                                   tolerance=0)
    assert result.hit
    assert 160 <= result.point[0] < 192 and 32 <= result.point[1] < 64


def test_explanation_with_an_image_gives_the_shape_and_the_target() -> None:
    first, second = np.zeros((4, 4)), np.zeros((4, 4))
    first[0, 0], second[3, 3] = 1.0, 1.0
    expl = Explanation('model', image=Image.new('RGB', (40, 40)),
                       targets=[TargetExplanation(target=0, heatmap=first),
                                TargetExplanation(target=1, heatmap=second)])
    assert metrics.pointing_game(expl, box=(0, 0, 10, 10), tolerance=0).hit
    assert not metrics.pointing_game(expl, box=(0, 0, 10, 10), tolerance=0, target=1).hit
    assert metrics.energy_pointing_game(expl, box=(30, 30, 40, 40), target=1) > 0.5


def test_sequences_take_a_start_stop_span() -> None:
    heatmap = np.array([0.0, 0.1, 0.9, 0.2, 0.0])
    assert metrics.pointing_game(heatmap, box=(2, 3), shape=(5,), tolerance=0).hit
    assert not metrics.pointing_game(heatmap, box=(3, 5), shape=(5,), tolerance=0).hit
    assert metrics.energy_pointing_game(heatmap, box=(1, 4), shape=(5,)) == pytest.approx(1.0)


@pytest.mark.parametrize('keywords, error, match', [
    ({'box': (0, 0, 50, 10)}, ValueError, 'outside the document of shape \\(20, 30\\)'),
    ({'box': (-1, 0, 5, 5)}, ValueError, 'outside the document'),
    ({'box': (5, 5, 5, 8)}, ValueError, 'or empty'),
    ({'box': (0, 0, 5)}, TypeError, 'box must be 4 ints'),
    ({'box': (0.5, 0, 5, 5)}, TypeError, 'box must be 4 ints'),
    ({}, ValueError, 'pass either box= or mask='),
    ({'box': (0, 0, 5, 5), 'mask': np.ones((20, 30), bool)}, ValueError, 'not both'),
    ({'mask': np.zeros((20, 30), bool)}, ValueError, 'mask is empty'),
    ({'box': (0, 0, 5, 5), 'tolerance': -1}, ValueError, 'tolerance must be a number >= 0'),
])
def test_bad_objects_get_named_errors(keywords, error, match) -> None:
    keywords.setdefault('shape', (20, 30)) if 'mask' not in keywords else None
    with pytest.raises(error, match=match):
        metrics.pointing_game(np.random.default_rng(0).random((20, 30)), **keywords)


def test_bad_maps_get_named_errors() -> None:
    with pytest.raises(ValueError, match='heatmap holds 1 NaN'):
        metrics.pointing_game(np.array([[0.0, np.nan], [1.0, 0.0]]), box=(0, 0, 1, 1),
                              shape=(2, 2))
    with pytest.raises(ValueError, match='shape is needed'):
        metrics.energy_pointing_game(np.ones((4, 4)), box=(0, 0, 1, 1))
    with pytest.raises(ValueError, match='heatmap is 1-D but the object has shape'):
        metrics.pointing_game(np.ones(4), box=(0, 0, 1, 1), shape=(4, 4))
    with pytest.raises(ValueError, match='another aspect ratio'):
        metrics.pointing_game(np.ones((2, 1)), mask=np.ones((2, 8), bool))


def test_agrees_with_quantus() -> None:
    """Quantus' PointingGame has no tolerance and counts tied maxima (our rule with
    tolerance=0); its RelevanceMassAccuracy is the energy share for non-negative maps."""
    quantus = pytest.importorskip('quantus')
    rng = np.random.default_rng(0)
    count, side = 24, 16
    maps = rng.random((count, 1, side, side)) ** 3
    masks = np.zeros((count, 1, side, side))
    for item in range(count):
        top, left = rng.integers(0, side - 4, size=2)
        masks[item, 0, top:top + rng.integers(2, 8), left:left + rng.integers(2, 8)] = 1
    images = rng.random((count, 3, side, side))
    labels = np.zeros(count, dtype=int)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        pointing = quantus.PointingGame(disable_warnings=True)(
            model=None, x_batch=images, y_batch=labels, a_batch=maps, s_batch=masks)
        mass = quantus.RelevanceMassAccuracy(disable_warnings=True)(
            model=None, x_batch=images, y_batch=labels, a_batch=maps, s_batch=masks)
    ours = [metrics.pointing_game(m[0], mask=s[0].astype(bool), tolerance=0).hit
            for m, s in zip(maps, masks)]
    energy = [metrics.energy_pointing_game(m[0], mask=s[0].astype(bool))
              for m, s in zip(maps, masks)]
    assert [bool(hit) for hit in pointing] == ours
    assert 0 < sum(ours) < count                      # both outcomes are exercised
    np.testing.assert_allclose(energy, mass, rtol=1e-6)
