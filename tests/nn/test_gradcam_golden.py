"""Golden values computed by hand for each method on one tiny example.

Two channels on a 2x2 grid (layout ``act[0, row, col, channel]``)::

    A0 = [[1, 0],     A1 = [[1, 1],     g0 = [[1, 1],     g1 = [[2,  0],
          [0, 2]]           [1, 0]]           [1, 1]]           [0, -4]]

Grad-CAM   alpha = (mean g0, mean g1) = (1, -0.5)
           map = A0 - 0.5 A1 = [[0.5, -0.5], [-0.5, 2]]
HiResCAM   map = g0*A0 + g1*A1 = [[1+2, 0], [0, 2+0]] = [[3, 0], [0, 2]]
LayerCAM   map = relu(g0)*A0 + relu(g1)*A1 = [[3, 0], [0, 2]]
Grad-CAM++ alpha0 = 1 / (2*1 + sum(A0)=3 * 1) = 0.2 everywhere -> w0 = 4 * 0.2 * 1 = 0.8
           at g1=2: 4 / (2*4 + 3*8) = 0.125, times relu(2) -> 0.25;
           at g1=-4: relu(-4) = 0; at g1=0: alpha = 0          -> w1 = 0.25
           map = 0.8 A0 + 0.25 A1 = [[1.05, 0.25], [0.25, 1.6]]
"""
import numpy as np
import pytest

from eli5_gradcam.nn.gradcam import (FlatHeatmapWarning, compute_heatmaps,
                                     gradcam_channel_weights,
                                     gradcam_plus_plus_channel_weights, gradcam_heatmaps,
                                     resolve_method)

A0 = np.array([[1.0, 0.0], [0.0, 2.0]])
A1 = np.array([[1.0, 1.0], [1.0, 0.0]])
G0 = np.ones((2, 2))
G1 = np.array([[2.0, 0.0], [0.0, -4.0]])
ACTIVATIONS = np.stack([A0, A1], axis=-1)[np.newaxis]                  # (1, 2, 2, 2)
GRADIENTS = np.stack([G0, G1], axis=-1)[np.newaxis, np.newaxis]        # (1, 1, 2, 2, 2)


def test_gradcam_channel_weights_are_mean_gradients():
    np.testing.assert_allclose(gradcam_channel_weights(GRADIENTS), [[[1.0, -0.5]]])


def test_gradcam_plus_plus_channel_weights_by_hand():
    np.testing.assert_allclose(
        gradcam_plus_plus_channel_weights(ACTIVATIONS, GRADIENTS), [[[0.8, 0.25]]])


@pytest.mark.parametrize('method, relu, expected', [
    ('gradcam', True, [[0.25, 0.0], [0.0, 1.0]]),
    ('gradcam', False, [[0.25, -0.25], [-0.25, 1.0]]),
    ('hirescam', True, [[1.0, 0.0], [0.0, 2 / 3]]),
    ('layercam', True, [[1.0, 0.0], [0.0, 2 / 3]]),
    ('gradcam++', True, [[1.05 / 1.6, 0.25 / 1.6], [0.25 / 1.6, 1.0]]),
])
def test_golden_heatmaps(method, relu, expected):
    heatmaps = gradcam_heatmaps(ACTIVATIONS, GRADIENTS, method=method, relu=relu)
    assert heatmaps.shape == (1, 1, 2, 2)
    np.testing.assert_allclose(heatmaps[0, 0], expected, rtol=1e-12, atol=1e-12)


def test_raw_gradcam_map_before_normalisation():
    raw = compute_heatmaps(ACTIVATIONS, GRADIENTS, relu=False)
    np.testing.assert_allclose(raw[0, 0], [[0.5, -0.5], [-0.5, 2.0]])


def test_counterfactual_gradcam_by_hand():
    # alpha = (-1, 0.5): map = -A0 + 0.5 A1 = [[-0.5, 0.5], [0.5, -2]] -> relu / 0.5
    heatmaps = gradcam_heatmaps(ACTIVATIONS, GRADIENTS, counterfactual=True)
    np.testing.assert_allclose(heatmaps[0, 0], [[0.0, 1.0], [1.0, 0.0]])


def test_flat_map_is_zeros_with_warning_not_nan():
    # counterfactual LayerCAM: relu(-g0) = 0; relu(-g1) is 4 only where A1 is 0
    with pytest.warns(FlatHeatmapWarning, match='all zero or constant'):
        heatmaps = gradcam_heatmaps(ACTIVATIONS, GRADIENTS, method='layercam',
                                    counterfactual=True)
    assert np.all(heatmaps == 0.0)


def test_constant_map_is_zeros_with_warning():
    activations = np.ones((1, 3, 3, 2))
    gradients = np.ones((1, 1, 3, 3, 2))
    with pytest.warns(FlatHeatmapWarning):
        heatmaps = gradcam_heatmaps(activations, gradients)
    assert np.all(heatmaps == 0.0)


def test_one_dimensional_and_three_dimensional_layers():
    activations = np.array([[[1.0], [3.0], [2.0]]])                # (1, 3 steps, 1)
    gradients = np.ones((1, 1, 3, 1))
    np.testing.assert_allclose(gradcam_heatmaps(activations, gradients)[0, 0],
                               [1 / 3, 1.0, 2 / 3])
    volume = np.zeros((1, 2, 2, 2, 1))
    volume[0, 1, 0, 1, 0] = 5.0
    heatmaps = gradcam_heatmaps(volume, np.ones((1, 1, 2, 2, 2, 1)))
    assert heatmaps.shape == (1, 1, 2, 2, 2)
    assert heatmaps[0, 0, 1, 0, 1] == 1.0 and heatmaps.sum() == 1.0


@pytest.mark.parametrize('spelling, name', [
    ('Grad-CAM', 'gradcam'), ('gradcampp', 'gradcam++'), ('LayerCAM', 'layercam'),
    ('HiResCAM', 'hirescam'), ('gradcam++', 'gradcam++')])
def test_method_spellings(spelling, name):
    assert resolve_method(spelling) == name


def test_bad_method_and_shapes():
    with pytest.raises(ValueError, match="method must be one of"):
        resolve_method('gradcam-deluxe')
    with pytest.raises(TypeError, match='method must be a str'):
        resolve_method(3)
    with pytest.raises(ValueError, match='gradients must have shape'):
        compute_heatmaps(ACTIVATIONS, GRADIENTS[:, :, :1])
    with pytest.raises(ValueError, match='activations must have shape'):
        compute_heatmaps(np.ones(3), np.ones((1, 3)))
