"""Reference maps: random and centre prior."""
from __future__ import annotations

import numpy as np
import pytest

from eli5_gradcam import metrics


def test_random_map_is_seeded_uniform_noise() -> None:
    first = metrics.random_map((30, 40), seed=1)
    assert first.shape == (30, 40) and first.min() >= 0.0 and first.max() < 1.0
    np.testing.assert_array_equal(first, metrics.random_map((30, 40), seed=1))
    assert not np.array_equal(first, metrics.random_map((30, 40), seed=2))
    assert metrics.random_map(12).shape == (12,)


def test_centre_map_peaks_in_the_middle_and_is_symmetric() -> None:
    centre = metrics.centre_map((9, 11))
    assert centre[4, 5] == 1.0 and np.unravel_index(np.argmax(centre), centre.shape) == (4, 5)
    np.testing.assert_allclose(centre, centre[::-1, ::-1])
    # sigma is a quarter of the side: 101 positions from the centre of 404 is 1 sigma
    wide = metrics.centre_map((1, 404))
    assert wide[0, 0] == pytest.approx(np.exp(-0.5 * (201.5 / 101) ** 2), rel=1e-12)
    assert np.interp(302.5, np.arange(404), wide[0]) == pytest.approx(np.exp(-0.5), rel=1e-4)
    assert metrics.pointing_game(metrics.centre_map((64, 64)), box=(28, 28, 36, 36),
                                 shape=(64, 64), tolerance=0).hit


@pytest.mark.parametrize('call, error', [
    (lambda: metrics.random_map((0, 4)), ValueError),
    (lambda: metrics.random_map((2, 2, 2)), TypeError),
    (lambda: metrics.random_map('big'), TypeError),
    (lambda: metrics.centre_map((4, 4), sigma=0), ValueError),
])
def test_bad_shapes_get_named_errors(call, error) -> None:
    with pytest.raises(error):
        call()
