"""Golden values computed by hand for XGrad-CAM, Eigen-CAM and EigenGrad-CAM.

XGrad-CAM, on the 2x2 example of ``test_gradcam_golden.py`` (layout
``act[0, row, col, channel]``)::

    A0 = [[1, 0],     A1 = [[1, 1],     g0 = [[1, 1],     g1 = [[2,  0],
          [0, 2]]           [1, 0]]           [1, 1]]           [0, -4]]

    sum A0 = sum A1 = 3
    w0 = sum(g0 * A0) / (3 + eps) = 3 / (3 + eps)
    w1 = sum(g1 * A1) / (3 + eps) = (2 + 0 + 0 + 0) / (3 + eps) = 2 / (3 + eps)
    map = (3 A0 + 2 A1) / (3 + eps) = [[5, 2], [2, 6]] / (3 + eps)  -> / 6
    (Grad-CAM's map on the same arrays is [[0.5, -0.5], [-0.5, 2]].)

Eigen-CAM, four positions (a sequence, a 2x2 grid or a 1x2x2 volume), two
channels, built from two orthogonal directions ``v = (2, 1)`` and
``w = (1, -2)``::

    rows  A = (12, 6), (0, 0), (7, 1), (5, 5)        column means (6, 3)
    centred = (6, 3), (-6, -3), (1, -2), (-1, 2) = 3v, -3v, w, -w
    centred^T centred = [[74, 32], [32, 26]]:  eigenvalue 90 on v, 10 on w
    first principal direction v / sqrt(5); projection = (15, -15, 0, 0) / sqrt(5)
                                                       = (3 sqrt5, -3 sqrt5, 0, 0)
    sign: row sums (18, 0, 8, 10) correlate positively with it -> kept
    relu, / max: (1, 0, 0, 0);  signed, / max |.|: (1, -1, 0, 0)
    (the channel-sum map would rank position 4 second: this is the PCA.)

EigenGrad-CAM on the same activations, three targets with gradients constant
over positions::

    g = (1, 1):  products = A                 -> the Eigen-CAM map above
    g = (0, 1):  products = (0,6),(0,0),(0,1),(0,5); one non-zero column,
                 centred (3, -3, -2, 2) -> direction (0, 1), projection
                 (3, -3, -2, 2); HiResCAM map (6, 0, 1, 5) agrees -> kept
                 relu, / max: (1, 0, 0, 2/3)
    g = (0, -1): products negated, reference negated -> (-3, 3, 2, -2)
                 relu, / max: (0, 1, 2/3, 0)
"""
import numpy as np
import pytest

from eli5_gradcam.nn.gradcam import (METHOD_TITLES, METHODS, XGRADCAM_EPS,
                                     FlatHeatmapWarning, compute_heatmaps, gradcam_heatmaps,
                                     resolve_method, xgradcam_channel_weights, xgradcam_map)
from eli5_gradcam.nn.methods_eigen import (eigencam_map, eigengradcam_map,
                                           first_principal_projection)

A0 = np.array([[1.0, 0.0], [0.0, 2.0]])
A1 = np.array([[1.0, 1.0], [1.0, 0.0]])
G0 = np.ones((2, 2))
G1 = np.array([[2.0, 0.0], [0.0, -4.0]])
ACTIVATIONS = np.stack([A0, A1], axis=-1)[np.newaxis]                  # (1, 2, 2, 2)
GRADIENTS = np.stack([G0, G1], axis=-1)[np.newaxis, np.newaxis]        # (1, 1, 2, 2, 2)

ROWS = np.array([[12.0, 6.0], [0.0, 0.0], [7.0, 1.0], [5.0, 5.0]])     # (positions, channels)
EIGEN_RAW = np.array([3.0, -3.0, 0.0, 0.0]) * np.sqrt(5.0)
CONSTANT_GRADIENTS = np.array([[1.0, 1.0], [0.0, 1.0], [0.0, -1.0]])   # (targets, channels)
EIGENGRAD_RAW = np.stack([EIGEN_RAW, [3.0, -3.0, -2.0, 2.0], [-3.0, 3.0, 2.0, -2.0]])
SPATIAL_SHAPES = [(4,), (2, 2), (1, 2, 2)]


def _eigen_pair(spatial, rows=ROWS):
    """(activations, gradients) of the Eigen example laid out on ``spatial``."""
    activations = rows.reshape((1,) + spatial + (2,))
    gradients = np.broadcast_to(
        CONSTANT_GRADIENTS.reshape((1, 3) + (1,) * len(spatial) + (2,)),
        (1, 3) + spatial + (2,)).copy()
    return activations, gradients


# ---------------------------------------------------------------- XGrad-CAM

def test_xgradcam_channel_weights_by_hand():
    np.testing.assert_allclose(xgradcam_channel_weights(ACTIVATIONS, GRADIENTS),
                               [[[3.0 / (3.0 + XGRADCAM_EPS), 2.0 / (3.0 + XGRADCAM_EPS)]]],
                               rtol=1e-15)


def test_xgradcam_raw_map_by_hand():
    np.testing.assert_allclose(xgradcam_map(ACTIVATIONS, GRADIENTS)[0, 0],
                               np.array([[5.0, 2.0], [2.0, 6.0]]) / (3.0 + XGRADCAM_EPS),
                               rtol=1e-15)


@pytest.mark.parametrize('relu', [True, False])
def test_xgradcam_heatmap_by_hand(relu):
    heatmaps = gradcam_heatmaps(ACTIVATIONS, GRADIENTS, method='xgradcam', relu=relu)
    np.testing.assert_allclose(heatmaps[0, 0], [[5 / 6, 1 / 3], [1 / 3, 1.0]], rtol=1e-14)


def test_xgradcam_counterfactual_by_hand():
    # negated weights: map = -[[5, 2], [2, 6]] / (3 + eps), all negative
    signed = gradcam_heatmaps(ACTIVATIONS, GRADIENTS, method='xgradcam', relu=False,
                              counterfactual=True)
    np.testing.assert_allclose(signed[0, 0], [[-5 / 6, -1 / 3], [-1 / 3, -1.0]], rtol=1e-14)
    with pytest.warns(FlatHeatmapWarning):
        rectified = gradcam_heatmaps(ACTIVATIONS, GRADIENTS, method='xgradcam',
                                     counterfactual=True)
    assert np.all(rectified == 0.0)


def test_xgradcam_zero_channel_gets_weight_zero():
    # channel 1 is zero everywhere: 0 / (0 + eps) = 0, not NaN
    activations = np.stack([A0, np.zeros((2, 2))], axis=-1)[np.newaxis]
    weights = xgradcam_channel_weights(activations, GRADIENTS)
    np.testing.assert_allclose(weights, [[[3.0 / (3.0 + XGRADCAM_EPS), 0.0]]], rtol=1e-15)


def test_xgradcam_zero_denominator_gets_weight_zero():
    # the activations of channel 1 sum to -eps exactly: the denominator is 0
    channel = np.array([[-XGRADCAM_EPS, 0.0], [0.0, 0.0]])
    activations = np.stack([A0, channel], axis=-1)[np.newaxis]
    weights = xgradcam_channel_weights(activations, GRADIENTS)
    assert weights[0, 0, 1] == 0.0 and np.isfinite(weights).all()


# ---------------------------------------------------------------- Eigen-CAM

@pytest.mark.parametrize('spatial', SPATIAL_SHAPES)
def test_eigencam_raw_map_by_hand(spatial):
    activations, gradients = _eigen_pair(spatial)
    maps = eigencam_map(activations, gradients)
    assert maps.shape == (1, 3) + spatial
    for target in range(3):                       # class-agnostic: one map for all
        np.testing.assert_allclose(maps[0, target].ravel(), EIGEN_RAW, atol=1e-12)


@pytest.mark.parametrize('spatial', SPATIAL_SHAPES)
@pytest.mark.parametrize('relu, expected', [(True, [1.0, 0.0, 0.0, 0.0]),
                                            (False, [1.0, -1.0, 0.0, 0.0])])
def test_eigencam_heatmap_by_hand(spatial, relu, expected):
    heatmaps = gradcam_heatmaps(*_eigen_pair(spatial), method='eigencam', relu=relu)
    for target in range(3):
        np.testing.assert_allclose(heatmaps[0, target].ravel(), expected, atol=1e-12)


def test_eigencam_is_centred_before_the_decomposition():
    # adding a constant to each channel changes nothing (the paper's uncentred
    # version would change); scaling by 10 scales the raw map by 10
    shifted = eigencam_map(*_eigen_pair((4,), ROWS + np.array([100.0, -3.0])))
    scaled = eigencam_map(*_eigen_pair((4,), 10.0 * ROWS))
    np.testing.assert_allclose(shifted[0, 0], EIGEN_RAW, atol=1e-10)
    np.testing.assert_allclose(scaled[0, 0], 10.0 * EIGEN_RAW, atol=1e-10)


def test_eigencam_sign_follows_the_total_activation():
    # negated activations: the row sums are negated too, so is the map
    maps = eigencam_map(*_eigen_pair((4,), -ROWS))
    np.testing.assert_allclose(maps[0, 0], -EIGEN_RAW, atol=1e-12)


def test_eigencam_batch_by_hand():
    activations = np.stack([ROWS, -ROWS])                    # (2 documents, 4, 2)
    gradients = np.zeros((2, 1, 4, 2))
    maps = eigencam_map(activations, gradients)
    np.testing.assert_allclose(maps[:, 0], [EIGEN_RAW, -EIGEN_RAW], atol=1e-12)


def test_eigencam_ignores_gradients_and_counterfactual():
    activations, gradients = _eigen_pair((2, 2))
    reference = compute_heatmaps(activations, gradients, method='eigencam', relu=False)
    for other in (np.zeros_like(gradients), -gradients, 1e6 * gradients):
        np.testing.assert_array_equal(
            compute_heatmaps(activations, other, method='eigencam', relu=False), reference)
    np.testing.assert_array_equal(
        compute_heatmaps(activations, gradients, method='eigencam', relu=False,
                         counterfactual=True), reference)


@pytest.mark.parametrize('rows', [[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]])
def test_sign_tie_makes_the_first_peak_positive(rows):
    # rows (1, 0), (0, 1): centred (1/2, -1/2), (-1/2, 1/2); direction
    # (1, -1)/sqrt2; projection +-(1, -1)/sqrt2.  The row sums are constant, so
    # the correlation rule ties: the first position of largest |value| is made
    # positive, whatever the order of the channels.
    maps = eigencam_map(np.array([rows]), np.zeros((1, 1, 2, 2)))
    np.testing.assert_allclose(maps[0, 0], [np.sqrt(0.5), -np.sqrt(0.5)], atol=1e-15)


def test_sign_tie_peak_not_first():
    # rows (a, 4 - a) with a = (1, 0, 4): constant row sums (a tie); the
    # direction is (1, -1)/sqrt2, the projection sqrt2 (a - 5/3) up to sign;
    # its largest magnitude is at position 3, made positive.
    rows = np.array([[1.0, 3.0], [0.0, 4.0], [4.0, 0.0]])
    projection = first_principal_projection(rows[np.newaxis])
    np.testing.assert_allclose(projection[0], np.sqrt(2.0) * np.array([-2.0, -5.0, 7.0]) / 3,
                               atol=1e-14)


# ---------------------------------------------------------------- EigenGrad-CAM

@pytest.mark.parametrize('spatial', SPATIAL_SHAPES)
def test_eigengradcam_raw_maps_by_hand(spatial):
    maps = eigengradcam_map(*_eigen_pair(spatial))
    assert maps.shape == (1, 3) + spatial
    np.testing.assert_allclose(maps[0].reshape(3, -1), EIGENGRAD_RAW, atol=1e-12)


@pytest.mark.parametrize('spatial', SPATIAL_SHAPES)
def test_eigengradcam_heatmaps_by_hand(spatial):
    heatmaps = gradcam_heatmaps(*_eigen_pair(spatial), method='eigengradcam')
    np.testing.assert_allclose(heatmaps[0].reshape(3, -1),
                               [[1.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 2 / 3],
                                [0.0, 1.0, 2 / 3, 0.0]], atol=1e-12)


def test_eigengradcam_counterfactual_negates_by_hand():
    maps = compute_heatmaps(*_eigen_pair((4,)), method='eigengradcam', relu=False,
                            counterfactual=True)
    np.testing.assert_allclose(maps[0], -EIGENGRAD_RAW, atol=1e-12)


# ---------------------------------------------------------------- flat input

@pytest.mark.parametrize('method, value', [
    ('xgradcam', 0.0), ('xgradcam', 1.0), ('xgradcam', 7.5),
    ('eigencam', 0.0), ('eigencam', 1.0), ('eigencam', 7.5),
    ('eigengradcam', 0.0),       # constant non-zero activations leave g * A varying
])
def test_flat_activations_give_zeros_and_a_warning(method, value):
    activations = np.full((1, 2, 2, 3), value)
    gradients = np.random.default_rng(0).normal(size=(1, 2, 2, 2, 3))
    with pytest.warns(FlatHeatmapWarning):
        heatmaps = gradcam_heatmaps(activations, gradients, method=method, relu=False)
    assert np.all(heatmaps == 0.0)


@pytest.mark.parametrize('method', ['xgradcam', 'eigengradcam'])
def test_zero_gradients_give_zeros(method):
    activations = np.random.default_rng(1).normal(size=(1, 3, 3, 2))
    with pytest.warns(FlatHeatmapWarning):
        heatmaps = gradcam_heatmaps(activations, np.zeros((1, 2, 3, 3, 2)), method=method)
    assert np.all(heatmaps == 0.0)


@pytest.mark.parametrize('method', ['eigencam', 'eigengradcam'])
def test_single_position_gives_zeros(method):
    activations = np.array([[[1.0, 2.0, 3.0]]])               # (1, 1 position, 3)
    raw = compute_heatmaps(activations, np.ones((1, 2, 1, 3)), method=method, relu=False)
    assert raw.shape == (1, 2, 1) and np.all(raw == 0.0)


# ---------------------------------------------------------------- names

@pytest.mark.parametrize('spelling, name', [
    ('xgradcam', 'xgradcam'), ('XGrad-CAM', 'xgradcam'), ('x-grad-cam', 'xgradcam'),
    ('xgrad_cam', 'xgradcam'), ('XGradCAM', 'xgradcam'),
    ('eigencam', 'eigencam'), ('Eigen-CAM', 'eigencam'), ('eigen_cam', 'eigencam'),
    ('EigenCAM', 'eigencam'),
    ('eigengradcam', 'eigengradcam'), ('EigenGrad-CAM', 'eigengradcam'),
    ('eigen-grad-cam', 'eigengradcam'), ('eigen_grad_cam', 'eigengradcam'),
    ('EigenGradCAM', 'eigengradcam'),
])
def test_method_spellings(spelling, name):
    assert resolve_method(spelling) == name


def test_every_method_has_a_title():
    # every layer method, and the guided methods, which need the input's gradients too
    assert set(METHOD_TITLES) == set(METHODS) | {'guided-backprop', 'guided-gradcam'}
    assert METHOD_TITLES['xgradcam'] == 'XGrad-CAM'
    assert METHOD_TITLES['eigencam'] == 'Eigen-CAM'
    assert METHOD_TITLES['eigengradcam'] == 'EigenGrad-CAM'
