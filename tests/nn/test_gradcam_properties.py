"""Properties of the core maps, checked by hypothesis on random arrays."""
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from eli5_gradcam.nn.gradcam import (PAIR_METHODS, FlatHeatmapWarning, compute_heatmaps,
                                     gradcam_heatmaps)

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=64)


@st.composite
def pairs(draw, max_batch=2, max_targets=3):
    """Random (activations, gradients) of a random spatial rank (1 to 3)."""
    spatial = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    channels = draw(st.integers(1, 5))
    batch = draw(st.integers(1, max_batch))
    targets = draw(st.integers(1, max_targets))
    activations = draw(arrays(np.float64, (batch,) + spatial + (channels,), elements=finite))
    gradients = draw(arrays(np.float64, (batch, targets) + spatial + (channels,),
                            elements=finite))
    return activations, gradients


def quietly(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FlatHeatmapWarning)
        return function(*args, **kwargs)


methods = st.sampled_from(sorted(PAIR_METHODS))


@given(pairs(), methods, st.booleans(), st.booleans())
def test_range_and_finiteness(pair, method, relu, counterfactual):
    heatmaps = quietly(gradcam_heatmaps, *pair, method=method, relu=relu,
                       counterfactual=counterfactual)
    assert heatmaps.shape == pair[1].shape[:-1]
    assert np.all(np.isfinite(heatmaps))
    assert heatmaps.min() >= (0.0 if relu else -1.0)
    assert heatmaps.max() <= 1.0
    # every non-flat map reaches its bound
    peaks = np.abs(heatmaps).reshape(heatmaps.shape[:2] + (-1,)).max(axis=-1)
    assert np.all((peaks == 0.0) | np.isclose(peaks, 1.0))


@given(pairs(), st.sampled_from(['gradcam', 'hirescam', 'layercam']),
       st.floats(1e-3, 1e3), st.floats(1e-3, 1e3), st.booleans())
def test_normalised_map_is_scale_invariant(pair, method, activation_scale,
                                           gradient_scale, relu):
    activations, gradients = pair
    reference = quietly(gradcam_heatmaps, activations, gradients, method=method, relu=relu)
    scaled = quietly(gradcam_heatmaps, activations * activation_scale,
                     gradients * gradient_scale, method=method, relu=relu)
    np.testing.assert_allclose(scaled, reference, atol=1e-6)


@given(pairs(), methods, st.randoms(use_true_random=False))
def test_channel_permutation_invariance(pair, method, random):
    activations, gradients = pair
    order = list(range(activations.shape[-1]))
    random.shuffle(order)
    reference = compute_heatmaps(activations, gradients, method=method, relu=False)
    permuted = compute_heatmaps(activations[..., order], gradients[..., order],
                                method=method, relu=False)
    np.testing.assert_allclose(permuted, reference, rtol=1e-9,
                               atol=1e-9 * max(1.0, np.abs(reference).max()))


@given(pairs(), methods, st.booleans())
def test_counterfactual_is_map_of_negated_gradients(pair, method, relu):
    activations, gradients = pair
    counterfactual = compute_heatmaps(activations, gradients, method=method, relu=relu,
                                      counterfactual=True)
    negated = compute_heatmaps(activations, -gradients, method=method, relu=relu)
    np.testing.assert_array_equal(counterfactual, negated)


@given(pairs(max_batch=3, max_targets=3), methods, st.booleans())
def test_vectorised_equals_per_item(pair, method, relu):
    activations, gradients = pair
    together = quietly(gradcam_heatmaps, activations, gradients, method=method, relu=relu)
    for item in range(activations.shape[0]):
        for target in range(gradients.shape[1]):
            alone = quietly(gradcam_heatmaps, activations[item:item + 1],
                            gradients[item:item + 1, target:target + 1],
                            method=method, relu=relu)
            np.testing.assert_allclose(together[item, target], alone[0, 0],
                                       rtol=1e-9, atol=1e-12)


@given(pairs(), methods)
def test_relu_keeps_only_positive_part_of_signed_map(pair, method):
    activations, gradients = pair
    signed = compute_heatmaps(activations, gradients, method=method, relu=False)
    rectified = compute_heatmaps(activations, gradients, method=method, relu=True)
    np.testing.assert_array_equal(rectified, np.maximum(signed, 0.0))


@pytest.mark.parametrize('dtype', [np.float16, np.float32, np.float64])
def test_extreme_values_never_nan(dtype):
    big = np.finfo(dtype).max
    activations = np.full((1, 2, 2, 3), big, dtype=dtype)
    gradients = np.full((1, 1, 2, 2, 3), big, dtype=dtype)
    gradients[..., 0, 0, 0] = -big
    for method in PAIR_METHODS:
        heatmaps = quietly(gradcam_heatmaps, activations, gradients, method=method)
        assert np.all(np.isfinite(heatmaps)), method


def test_an_underflowed_map_is_flat_at_any_scale():
    # found by hypothesis: the map's only value, 5e-324, is a subnormal float64; scaled
    # inputs give it, unscaled ones underflow to 0: both are flat (zeros), not 1 vs 0
    activations = np.array([[[1.40129846e-45], [0.0]]])
    gradients = np.array([[[[9.17739525e-282], [0.0]]]])
    for scale in (1.0, 386.0):
        heatmaps = quietly(gradcam_heatmaps, activations, gradients * scale, method='gradcam',
                           relu=False)
        np.testing.assert_array_equal(heatmaps, np.zeros((1, 1, 2)))
