"""Score-CAM and Ablation-CAM in the numpy core: values computed by hand.

Upsampling with half-pixel centres, 2 -> 4 samples: output sample i reads
the source at (i + 1/2) * 2/4 - 1/2 = -0.25, 0.25, 0.75, 1.25, clamped to
[0, 1]::

    rows of the matrix: (1, 0), (3/4, 1/4), (1/4, 3/4), (0, 1)

Score-CAM on two positions and two channels, ``A = [[1, 0], [0, 2]]``
(position x channel), masked scores ``S = (0, ln 3)``::

    softmax(S) = (1/4, 3/4);  map = 1/4 * (1, 0) + 3/4 * (0, 2) = (1/4, 3/2)
    relu, / max: (1/6, 1)

Ablation-CAM, same activations, target score 5, scores with each channel
zeroed ``(3, 6)``::

    drops = (5 - 3, 5 - 6) = (2, -1);  map = 2 * (1, 0) - 1 * (0, 2) = (2, -2)
    relu, / max: (1, 0);  signed: (1, -1);  counterfactual: (0, 1)
"""
import numpy as np
import pytest

from eli5_gradcam.nn import ExplainOptions, LayerCapture
from eli5_gradcam.nn.gradcam import (METHOD_TITLES, METHODS, compute_heatmaps,
                                     gradcam_heatmaps, resolve_method)
from eli5_gradcam.nn.masks import (input_spatial_axes, linear_resize_matrix, mask_shape,
                                   min_max_masks, scorecam_masks, upsample_maps)
from eli5_gradcam.nn.perturbation import (ablation_score_drops, default_rows, method_evidence,
                                          most_varied_channels, scorecam_channel_weights)

ACTIVATIONS = np.array([[[1.0, 0.0], [0.0, 2.0]]])            # (1, 2 positions, 2 channels)
MASKED_SCORES = np.array([[[0.0, np.log(3.0)]]])              # (1, 1 target, 2 channels)
ABLATED_SCORES = np.array([[[3.0, 6.0]]])
TARGET_SCORES = np.array([[5.0]])


def test_linear_resize_matrix_by_hand():
    np.testing.assert_allclose(linear_resize_matrix(2, 4),
                               [[1, 0], [0.75, 0.25], [0.25, 0.75], [0, 1]])
    np.testing.assert_allclose(linear_resize_matrix(3, 3), np.eye(3))
    # downsampling 4 -> 2 reads the source at 0.5 and 2.5
    np.testing.assert_allclose(linear_resize_matrix(4, 2), [[0.5, 0.5, 0, 0], [0, 0, 0.5, 0.5]])


def test_bilinear_upsampling_by_hand():
    maps = np.array([[0.0, 4.0], [8.0, 0.0]])
    rows = linear_resize_matrix(2, 4)
    np.testing.assert_allclose(upsample_maps(maps, (4, 4)), rows @ maps @ rows.T)
    np.testing.assert_allclose(upsample_maps(maps, (4, 4))[1, 1],
                               0.75 * (0.75 * 0 + 0.25 * 4) + 0.25 * (0.75 * 8 + 0.25 * 0))
    # leading axes are batch: each map on its own; equal sizes are left alone
    stacked = np.stack([maps, 2 * maps])
    np.testing.assert_allclose(upsample_maps(stacked, (4, 4))[1], 2 * upsample_maps(maps, (4, 4)))
    np.testing.assert_array_equal(upsample_maps(maps, (2, 2)), maps)


def test_min_max_masks_by_hand():
    maps = np.array([[[1.0, 3.0], [2.0, 5.0]], [[7.0, 7.0], [7.0, 7.0]]])
    np.testing.assert_allclose(min_max_masks(maps, 2),
                               [[[0.0, 0.5], [0.25, 1.0]], np.zeros((2, 2))])


def test_scorecam_masks_by_hand():
    # one document, 2 positions, 2 channels: A0 = (0, 2), A1 = (3, 3) (constant)
    activations = np.array([[0.0, 3.0], [2.0, 3.0]])
    masks = scorecam_masks(activations, np.array([0, 1]), (4,))
    # A0 upsampled: (0, 0.5, 1.5, 2) -> min-max (0, 1/4, 3/4, 1); A1 constant -> zeros
    np.testing.assert_allclose(masks, [[0.0, 0.25, 0.75, 1.0], [0.0, 0.0, 0.0, 0.0]])
    assert masks.dtype == np.float32
    np.testing.assert_allclose(scorecam_masks(activations, np.array([1, 0]), (4,)), masks[::-1])


def test_scorecam_weights_by_hand():
    np.testing.assert_allclose(scorecam_channel_weights(MASKED_SCORES), [[[0.25, 0.75]]])
    # a channel that was not evaluated (NaN) gets weight 0, the others share the softmax
    with_missing = np.array([[[np.nan, 0.0, np.log(3.0)]]])
    np.testing.assert_allclose(scorecam_channel_weights(with_missing), [[[0.0, 0.25, 0.75]]])
    # large scores do not overflow
    np.testing.assert_allclose(scorecam_channel_weights(MASKED_SCORES + 1e4), [[[0.25, 0.75]]])


def test_scorecam_map_by_hand():
    np.testing.assert_allclose(compute_heatmaps(ACTIVATIONS, MASKED_SCORES, method='scorecam'),
                               [[[0.25, 1.5]]])
    np.testing.assert_allclose(gradcam_heatmaps(ACTIVATIONS, MASKED_SCORES, method='scorecam'),
                               [[[1 / 6, 1.0]]])


def test_ablationcam_map_by_hand():
    drops = ablation_score_drops(TARGET_SCORES, ABLATED_SCORES)
    np.testing.assert_allclose(drops, [[[2.0, -1.0]]])
    np.testing.assert_allclose(compute_heatmaps(ACTIVATIONS, drops, method='ablationcam',
                                                relu=False), [[[2.0, -2.0]]])
    np.testing.assert_allclose(gradcam_heatmaps(ACTIVATIONS, drops, method='ablationcam'),
                               [[[1.0, 0.0]]])
    np.testing.assert_allclose(gradcam_heatmaps(ACTIVATIONS, drops, method='ablationcam',
                                                relu=False), [[[1.0, -1.0]]])
    np.testing.assert_allclose(gradcam_heatmaps(ACTIVATIONS, drops, method='ablationcam',
                                                counterfactual=True), [[[0.0, 1.0]]])


def test_scorecam_has_no_counterfactual():
    with pytest.raises(ValueError, match='counterfactual=True.*Score-CAM'):
        compute_heatmaps(ACTIVATIONS, MASKED_SCORES, method='scorecam', counterfactual=True)
    with pytest.raises(ValueError, match='counterfactual=True.*Score-CAM'):
        ExplainOptions(method='scorecam', counterfactual=True)


def test_channel_evidence_shape_is_checked():
    with pytest.raises(ValueError, match=r"method='scorecam' takes channel evidence of shape"):
        compute_heatmaps(ACTIVATIONS, np.zeros((1, 1, 3)), method='scorecam')
    with pytest.raises(ValueError, match='channel evidence'):
        compute_heatmaps(ACTIVATIONS, np.zeros((1, 1, 2, 2)), method='ablationcam')


def test_most_varied_channels_by_hand():
    # stds over positions: channel 0: 0, channel 1: 1, channel 2: 2, channel 3: 1 (a tie)
    activations = np.array([[[5.0, 0.0, 0.0, 3.0], [5.0, 2.0, 4.0, 1.0]]])
    np.testing.assert_array_equal(most_varied_channels(activations, 3), [[2, 1, 3]])
    np.testing.assert_array_equal(most_varied_channels(activations, 9), [[2, 1, 3, 0]])


def test_methods_are_listed_and_named():
    assert {'scorecam', 'ablationcam'} <= set(METHODS)
    assert METHOD_TITLES['scorecam'] == 'Score-CAM'
    assert METHOD_TITLES['ablationcam'] == 'Ablation-CAM'
    assert resolve_method('Score-CAM') == 'scorecam'
    assert resolve_method('ablation_cam') == 'ablationcam'
    with pytest.raises(ValueError, match="'ablationcam'.*'scorecam'"):
        resolve_method('scorecamm')


def test_input_spatial_axes_and_mask_shapes():
    assert input_spatial_axes((2, 3, 8, 9), 'image', channels_first=True) == (2, 3)
    assert input_spatial_axes((2, 8, 9, 3), 'image', channels_first=False) == (1, 2)
    assert input_spatial_axes((2, 10, 16), 'text', channels_first=True) == (1,)
    assert input_spatial_axes((2, 12, 500), 'other', channels_first=True) == (2,)
    assert input_spatial_axes((2, 500, 12), 'other', channels_first=False) == (1,)
    assert input_spatial_axes((2, 500), 'other', channels_first=True) == (1,)
    assert mask_shape((2, 3, 8, 9), (2, 3), 5) == (5, 1, 8, 9)
    assert mask_shape((2, 8, 9, 3), (1, 2), 5) == (5, 8, 9, 1)


def test_default_rows():
    assert default_rows('scorecam', 10 ** 9, 2048, None) == 32
    assert default_rows('scorecam', 10, 2048, 7) == 7
    assert default_rows('ablationcam', 2 ** 20, 2048, None) == 128     # 128 MiB of 1 MiB rows
    assert default_rows('ablationcam', 2 ** 30, 2048, None) == 32      # at least 32
    assert default_rows('ablationcam', 4, 8, None) == 9                # at most channels + 1


@pytest.mark.parametrize('name, value, error', [
    ('batch_size', 0, ValueError), ('batch_size', -3, ValueError), ('batch_size', 2.0, TypeError),
    ('batch_size', True, TypeError), ('scorecam_maps', 0, ValueError),
    ('scorecam_maps', '4', TypeError), ('progress', 'yes', TypeError)])
def test_options_are_validated_by_name(name, value, error):
    with pytest.raises(error, match=name):
        ExplainOptions(method='scorecam', **{name: value})


def test_scorecam_maps_is_for_scorecam_only():
    assert ExplainOptions(method='scorecam', scorecam_maps=4, batch_size=8).scorecam_maps == 4
    with pytest.raises(ValueError, match=r"scorecam_maps=4 is for method='scorecam'"):
        ExplainOptions(method='ablationcam', scorecam_maps=4)


def _capture(**fields):
    base = dict(activations=ACTIVATIONS, gradients=None, scores=np.array([[5.0, 1.0]]),
                targets=np.array([[0]]), layer_name='conv')
    return LayerCapture(**{**base, **fields})


def test_method_evidence():
    np.testing.assert_allclose(method_evidence(_capture(channel_scores=ABLATED_SCORES),
                                               'ablationcam'), [[[2.0, -1.0]]])
    assert method_evidence(_capture(channel_scores=MASKED_SCORES), 'scorecam') is MASKED_SCORES
    placeholder = method_evidence(_capture(), 'eigencam')
    assert placeholder.shape == (1, 1, 2, 2) and placeholder.strides == (0, 0, 0, 0)
    with pytest.raises(ValueError, match="method='gradcam' needs gradients"):
        method_evidence(_capture(), 'gradcam')
    with pytest.raises(ValueError, match="method='scorecam' needs channel_scores"):
        method_evidence(_capture(), 'scorecam')


def test_masks_of_extreme_activations_are_finite():
    big = np.finfo(np.float32).max
    activations = np.array([[big, -big], [-big, big], [0.0, np.inf]], dtype=np.float32)
    masks = scorecam_masks(activations, np.array([0, 1]), (6,))
    assert np.isfinite(masks).all() and masks.min() >= 0.0 and masks.max() <= 1.0
    # channel 0 scaled to (1, -1, 0), upsampled to (1, 1/2, -1/2, -3/4, -1/4, 0)
    np.testing.assert_allclose(masks[0], np.array([7, 5, 1, 0, 2, 3]) / 7, rtol=1e-6)
