"""Properties of XGrad-CAM, Eigen-CAM and EigenGrad-CAM on random arrays,
checked against plain-numpy oracles written here (loops, and the SVD of the
centred matrix where the package takes an eigendecomposition of a Gram matrix)."""
import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from eli5_gradcam.nn.gradcam import (XGRADCAM_EPS, FlatHeatmapWarning, compute_heatmaps,
                                     gradcam_channel_weights, gradcam_heatmaps, hirescam_map,
                                     xgradcam_channel_weights)
from eli5_gradcam.nn.methods_eigen import (ORIENTATION_TIE, eigencam_map, eigengradcam_map,
                                           first_principal_projection)

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=64)
NEW_METHODS = ['xgradcam', 'eigencam', 'eigengradcam']


@st.composite
def pairs(draw, max_batch=2, max_targets=3, min_positions=1):
    """Random (activations, gradients) of a random spatial rank (1 to 3)."""
    spatial = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    assume(int(np.prod(spatial)) >= min_positions)
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


def assert_oriented(projection, reference):
    """The documented sign rule: positive correlation with ``reference``, or,
    where that is zero, the first position of largest magnitude positive."""
    projection, reference = projection.ravel(), reference.ravel()
    # unit scale first, or tiny values underflow in the norms
    projection = projection / max(np.abs(projection).max(), 1e-300)
    reference = reference / max(np.abs(reference).max(), 1e-300)
    centred = reference - reference.mean()
    norms = np.linalg.norm(projection) * np.linalg.norm(centred)
    if norms == 0.0:
        correlation = 0.0
    else:
        correlation = float(projection @ centred) / norms
    assert correlation > -1e-9
    if abs(correlation) < 1e-12 and np.abs(projection).max() > 0.0:
        magnitude = np.abs(projection)
        first_peak = np.flatnonzero(magnitude >= magnitude.max() * (1 - ORIENTATION_TIE))[0]
        assert projection[first_peak] > 0.0


def principal_projection_oracle(matrix, gap=1e-6):
    """Projection on the first right singular vector of the centred matrix, by
    ``numpy.linalg.svd`` as pytorch-grad-cam does it (the package uses ``eigh``);
    ``None`` when the top singular value is not separated from the next by
    ``gap`` (relative): the first principal direction is then not well defined."""
    centred = matrix - matrix.mean(axis=0)
    _, values, right = np.linalg.svd(centred)
    if values.size > 1 and values[0] - values[1] <= gap * max(values[0], 1e-300):
        return None
    return centred @ right[0]


# ---------------------------------------------------------------- shapes

@given(pairs(), st.sampled_from(NEW_METHODS), st.booleans(), st.booleans())
def test_shapes_and_range_for_any_spatial_rank(pair, method, relu, counterfactual):
    activations, gradients = pair
    raw = compute_heatmaps(activations, gradients, method=method, relu=relu,
                           counterfactual=counterfactual)
    assert raw.shape == gradients.shape[:-1] and raw.dtype == np.float64
    heatmaps = quietly(gradcam_heatmaps, activations, gradients, method=method, relu=relu,
                       counterfactual=counterfactual)
    assert heatmaps.shape == gradients.shape[:-1] and np.isfinite(heatmaps).all()
    assert heatmaps.min() >= (0.0 if relu else -1.0) and heatmaps.max() <= 1.0


# ---------------------------------------------------------------- XGrad-CAM

@given(pairs())
def test_xgradcam_weights_match_a_loop_oracle(pair):
    activations, gradients = pair
    batch, targets, channels = gradients.shape[0], gradients.shape[1], gradients.shape[-1]
    expected = np.zeros((batch, targets, channels))
    for item in range(batch):
        for target in range(targets):
            for channel in range(channels):
                a = activations[item, ..., channel]
                g = gradients[item, target, ..., channel]
                denominator = a.sum() + XGRADCAM_EPS
                if denominator != 0.0:
                    expected[item, target, channel] = (g * a).sum() / denominator
    np.testing.assert_allclose(xgradcam_channel_weights(activations, gradients), expected,
                               rtol=1e-9, atol=1e-9 * max(1.0, np.abs(expected).max()))


@given(pairs(), st.floats(0.1, 100.0))
def test_xgradcam_is_gradcam_for_spatially_constant_channels(pair, level):
    # A^k_i = a_k everywhere: alpha_k = mean(g) * n a_k / (n a_k + eps)
    _, gradients = pair
    channels = gradients.shape[-1]
    values = level * (1.0 + np.arange(channels))
    activations = np.broadcast_to(values, gradients.shape[:1] + gradients.shape[2:]).copy()
    positions = int(np.prod(gradients.shape[2:-1]))
    factor = positions * values / (positions * values + XGRADCAM_EPS)
    np.testing.assert_allclose(xgradcam_channel_weights(activations, gradients),
                               gradcam_channel_weights(gradients) * factor,
                               rtol=1e-9, atol=1e-9)


# ---------------------------------------------------------------- Eigen-CAM

@given(pairs())
def test_eigencam_is_the_same_for_every_target_and_any_gradients(pair):
    activations, gradients = pair
    maps = eigencam_map(activations, gradients)
    assert maps.shape == gradients.shape[:-1]
    for target in range(1, maps.shape[1]):
        np.testing.assert_array_equal(maps[:, target], maps[:, 0])
    np.testing.assert_array_equal(eigencam_map(activations, np.zeros_like(gradients)), maps)


@given(pairs(max_targets=1))
def test_eigencam_sign_rule_holds(pair):
    activations, gradients = pair
    maps = eigencam_map(activations, gradients)
    for item in range(activations.shape[0]):
        assert_oriented(maps[item, 0], activations[item].sum(axis=-1))


@given(pairs(max_targets=1, min_positions=2))
def test_eigencam_matches_an_svd_oracle(pair):
    activations, gradients = pair
    maps = eigencam_map(activations, gradients)
    for item in range(activations.shape[0]):
        matrix = activations[item].reshape(-1, activations.shape[-1])
        expected = principal_projection_oracle(matrix)
        if expected is None:
            continue
        got = maps[item, 0].ravel()
        scale = max(1.0, np.abs(expected).max())
        # the oracle's sign is arbitrary: compare up to sign, the rule is checked above
        error = min(np.abs(got - expected).max(), np.abs(got + expected).max())
        assert error <= 1e-6 * scale


@given(pairs(max_targets=1), st.floats(1e-3, 1e3), st.data())
def test_eigencam_ignores_channel_offsets_and_scales_linearly(pair, factor, data):
    activations, gradients = pair
    channels = activations.shape[-1]
    # a principal direction that is not unique is not a property of the data
    for item in range(activations.shape[0]):
        assume(principal_projection_oracle(activations[item].reshape(-1, channels),
                                           gap=1e-3) is not None)
    offsets = data.draw(arrays(np.float64, (channels,), elements=finite))
    reference = eigencam_map(activations, gradients)
    bound = 1e-6 * max(1.0, np.abs(activations).max())
    # the projection ignores offsets; its orientation rule reads the uncentred channel
    # sums, which offsets change, so the offset map is compared up to its sign
    shifted = eigencam_map(activations + offsets, gradients)
    bound_shifted = 2e-6 * max(1.0, np.abs(activations).max(), np.abs(offsets).max())
    for item in range(shifted.shape[0]):
        error = min(np.abs(shifted[item] - reference[item]).max(),
                    np.abs(shifted[item] + reference[item]).max())
        assert error <= bound_shifted
    np.testing.assert_allclose(eigencam_map(activations * factor, gradients),
                               reference * factor, atol=bound * factor)


# ---------------------------------------------------------------- EigenGrad-CAM

@given(pairs())
def test_eigengradcam_sign_rule_follows_hirescam(pair):
    activations, gradients = pair
    maps = eigengradcam_map(activations, gradients)
    hirescam = hirescam_map(activations, gradients)
    for item in range(gradients.shape[0]):
        for target in range(gradients.shape[1]):
            assert_oriented(maps[item, target], hirescam[item, target])


@given(pairs(min_positions=2))
def test_eigengradcam_matches_an_svd_oracle(pair):
    activations, gradients = pair
    maps = eigengradcam_map(activations, gradients)
    channels = activations.shape[-1]
    for item in range(gradients.shape[0]):
        for target in range(gradients.shape[1]):
            products = (gradients[item, target] * activations[item]).reshape(-1, channels)
            expected = principal_projection_oracle(products)
            if expected is None:
                continue
            got = maps[item, target].ravel()
            scale = max(1.0, np.abs(expected).max())
            error = min(np.abs(got - expected).max(), np.abs(got + expected).max())
            assert error <= 1e-6 * scale


# ---------------------------------------------------------------- the projection

@given(arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 6), st.integers(1, 4)),
              elements=finite))
def test_projection_has_zero_mean_and_follows_the_rule(matrices):
    projection = first_principal_projection(matrices)
    assert projection.shape == matrices.shape[:-1]
    for matrix, row in zip(matrices, projection):
        assert abs(row.sum()) <= 1e-9 * max(1.0, np.abs(matrix).max()) * row.size
        assert_oriented(row, matrix.sum(axis=-1))


@pytest.mark.parametrize('exponent', [-44, -30, 0, 30, 38])
def test_float32_matrices_without_rescaling_match_the_rescaled_float64_path(exponent):
    # float32 matrices skip the rescaling that float64 ones get; at every
    # magnitude float32 can hold, the two give the same projection
    rng = np.random.default_rng(exponent + 50)
    matrices = (rng.random((3, 7, 5)) * 3.0 - 1.0) * 10.0 ** exponent
    matrices = matrices.astype(np.float32)
    matrices[2] = matrices[2, :1]                 # one matrix with the same row everywhere
    got = first_principal_projection(matrices)
    want = first_principal_projection(matrices.astype(np.float64))
    assert got.dtype == np.float64 and np.isfinite(got).all()
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * np.abs(want).max())
    assert not got[2].any()
    for matrix, row in zip(matrices[:2].astype(np.float64), got[:2]):
        assert_oriented(row, matrix.sum(axis=-1))


@pytest.mark.parametrize('method', NEW_METHODS)
@pytest.mark.parametrize('bad', [np.nan, np.inf, -np.inf])
def test_non_finite_input_never_gives_nan(method, bad):
    activations = np.random.default_rng(2).normal(size=(1, 3, 3, 2))
    gradients = np.random.default_rng(3).normal(size=(1, 2, 3, 3, 2))
    activations[0, 1, 1, 0] = bad
    gradients[0, 0, 2, 2, 1] = bad
    heatmaps = quietly(gradcam_heatmaps, activations, gradients, method=method, relu=False)
    assert np.isfinite(heatmaps).all()
