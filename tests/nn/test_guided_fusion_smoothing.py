"""Guided maps, several layers, smoothing: the numpy core, by hand.

Linear resizing with half-pixel centres, 2 -> 4 positions: output ``j`` reads
input coordinate ``max(0, (j + 0.5) / 2 - 0.5)`` = 0, 0.25, 0.75, 1 (clipped at
the last), so ``[a, b] -> [a, 0.75 a + 0.25 b, 0.25 a + 0.75 b, b]``: the matrix
``UP`` below.  4 -> 2: coordinates 0.5 and 2.5, the means of pairs.

Fusion of a deep 1x2 map ``[1, 0]`` and a shallow 1x4 map ``[0, 0, 2, 4]``
(LayerCAM: normalise, ``tanh(2 m)``, resize to the finest, maximum)::

    deep:    [1, 0] -> tanh(2 [1, 0]) = [t2, 0] -> UP -> [t2, .75 t2, .25 t2, 0]
    shallow: [0, 0, .5, 1] -> [0, 0, tanh 1, t2]          (t2 = tanh 2 = 0.964)
    maximum: [t2, .75 t2, tanh 1, t2]                      (.25 t2 = 0.241 < tanh 1)

Test-time augmentation on a 1x4 image whose "map" is ``image[j] + j`` (it
depends on where the pixel is, so the views differ), the layer at the
input's resolution (one cell = one pixel)::

    identity          image[j] + j
    flip, back        image[j] + 3 - j
    shift right, back image[j] + j + 1   (j = 0..2; column 3 left the image)
    shift left, back  image[j] + j - 1   (j = 1..3)
    shift up / down   nothing: the one row leaves the image
    average           image + [4/3, 5/4, 7/4, 5/3]
"""
import warnings

import numpy as np
import pytest

from eli5_gradcam.nn.augment import VIEWS, augment_images, augmented_heatmaps, cell_stride, realign
from eli5_gradcam.nn.capture import LayerArrays, LayerCapture
from eli5_gradcam.nn.eigen_smooth import channel_terms, eigen_smooth_heatmaps
from eli5_gradcam.nn.explanation import Documents, GradCAMExplanation, explain_capture
from eli5_gradcam.nn.fusion import FUSION_GAMMA, finest_shape, fuse_layer_heatmaps
from eli5_gradcam.nn.gradcam import (METHOD_TITLES, METHODS, FlatHeatmapWarning,
                                     compute_heatmaps, resolve_method)
from eli5_gradcam.nn.guided import (check_guided_documents, guided_backprop_heatmaps,
                                    guided_gradcam_heatmaps)
from eli5_gradcam.nn.maps import capture_heatmaps
from eli5_gradcam.nn.methods_eigen import eigengradcam_map
from eli5_gradcam.nn.options import ExplainOptions
from eli5_gradcam.nn.resize import resize_linear

UP = np.array([[1.0, 0.0], [0.75, 0.25], [0.25, 0.75], [0.0, 1.0]])
T1, T2 = np.tanh(1.0), np.tanh(2.0)

# the 2x2 example of test_gradcam_golden.py: Grad-CAM's raw map is [[.5, -.5], [-.5, 2]]
A0, A1 = np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([[1.0, 1.0], [1.0, 0.0]])
G0, G1 = np.ones((2, 2)), np.array([[2.0, 0.0], [0.0, -4.0]])
ACTIVATIONS = np.stack([A0, A1], axis=-1)[np.newaxis]                  # (1, 2, 2, 2)
GRADIENTS = np.stack([G0, G1], axis=-1)[np.newaxis, np.newaxis]        # (1, 1, 2, 2, 2)
GRADCAM_RAW = np.array([[0.5, -0.5], [-0.5, 2.0]])
# guided gradients of a 4x4, 2-channel input: channel sums are GUIDED_SUM
GUIDED_SUM = np.arange(16.0).reshape(4, 4) - 5.0
INPUT_GRADIENTS = np.stack([GUIDED_SUM * 0.25, GUIDED_SUM * 0.75], axis=-1)[None, None]


def _capture(**kwargs):
    defaults = dict(activations=ACTIVATIONS, gradients=GRADIENTS, scores=np.array([[1.0, 2.0]]),
                    targets=np.array([[1]]), layer_name='conv')
    defaults.update(kwargs)
    return LayerCapture(**defaults)


# ------------------------------------------------------------------ resizing

def test_resize_linear_by_hand():
    np.testing.assert_allclose(resize_linear(np.array([[0.0, 1.0]]), (4,)),
                               [[0.0, 0.25, 0.75, 1.0]])
    grid = np.array([[0.0, 1.0], [2.0, 3.0]])
    np.testing.assert_allclose(resize_linear(grid, (4, 4)), UP @ grid @ UP.T)
    np.testing.assert_allclose(resize_linear(np.arange(4.0), (2,)), [0.5, 2.5])
    same = np.random.default_rng(0).random((2, 3, 5))
    np.testing.assert_array_equal(resize_linear(same, (3, 5)), same)


def test_resize_linear_stays_in_range_for_any_shape():
    rng = np.random.default_rng(1)
    for shape_in, shape_out in [((3, 7), (11, 2)), ((1, 5), (6, 6)), ((4,), (9,))]:
        values = rng.normal(size=(2,) + shape_in)
        resized = resize_linear(values, shape_out)
        assert resized.shape == (2,) + shape_out
        assert resized.min() >= values.min() - 1e-12 and resized.max() <= values.max() + 1e-12


# ------------------------------------------------------------------ guided maps

def test_guided_backprop_map_is_the_channel_sum():
    np.testing.assert_allclose(guided_backprop_heatmaps(INPUT_GRADIENTS)[0, 0], GUIDED_SUM)


def test_guided_gradcam_by_hand():
    layer_map = np.maximum(GRADCAM_RAW, 0.0)[None, None]
    expected = (UP @ np.maximum(GRADCAM_RAW, 0.0) @ UP.T) * GUIDED_SUM
    np.testing.assert_allclose(guided_gradcam_heatmaps(layer_map, INPUT_GRADIENTS)[0, 0],
                               expected)


def test_capture_heatmaps_of_the_guided_methods():
    capture = _capture(input_gradients=INPUT_GRADIENTS)
    rectified = (UP @ np.maximum(GRADCAM_RAW, 0.0) @ UP.T) * GUIDED_SUM
    np.testing.assert_allclose(
        capture_heatmaps(capture, ExplainOptions(method='guided-gradcam'))[0, 0],
        np.maximum(rectified, 0.0))
    np.testing.assert_allclose(
        capture_heatmaps(capture, ExplainOptions(method='guided-gradcam', relu=False))[0, 0],
        (UP @ GRADCAM_RAW @ UP.T) * GUIDED_SUM)
    np.testing.assert_allclose(
        capture_heatmaps(capture, ExplainOptions(method='Guided Backprop'))[0, 0],
        np.maximum(GUIDED_SUM, 0.0))


def test_guided_explanation_is_at_the_input_resolution():
    capture = _capture(input_gradients=INPUT_GRADIENTS)
    expl = explain_capture(capture, estimator='m', kind='image',
                           options=ExplainOptions(method='guided-gradcam'),
                           documents=Documents(docs=np.zeros((1, 4, 4, 3)),
                                               channels_first=False))[0]
    assert expl.targets[0].heatmap.shape == (4, 4)
    assert expl.layer == 'conv' and expl.layers == ('conv',)
    assert expl.method == 'Guided Grad-CAM' and 'input\'s pixels' in expl.description
    backprop = explain_capture(capture, estimator='m', kind='image',
                               options=ExplainOptions(method='guided-backprop'))[0]
    assert backprop.layer is None and backprop.layers == ()
    np.testing.assert_allclose(backprop.targets[0].heatmap,
                               np.maximum(GUIDED_SUM, 0.0) / GUIDED_SUM.max())


def test_guided_methods_need_input_gradients():
    for method in ('guided-gradcam', 'guided-backprop'):
        assert method in METHOD_TITLES and method not in METHODS
        assert resolve_method(method.upper()) == method
        with pytest.raises(ValueError, match='input_gradients are missing'):
            capture_heatmaps(_capture(), ExplainOptions(method=method))
        with pytest.raises(ValueError, match=f"method '{method}' needs guided gradients"):
            compute_heatmaps(ACTIVATIONS, GRADIENTS, method=method)


@pytest.mark.parametrize('kind, dtype, match', [
    ('text', np.float32, 'these documents are text documents'),
    ('other', np.float32, 'these documents are other documents'),
    ('image', np.int32, 'needs float documents; got dtype int32'),
])
def test_guided_methods_need_float_images(kind, dtype, match):
    with pytest.raises(ValueError, match=match):
        check_guided_documents('guided-gradcam', kind, np.dtype(dtype))
    check_guided_documents('gradcam', kind, np.dtype(dtype))     # other methods: no check


# ------------------------------------------------------------------ several layers

def test_fusion_by_hand():
    deep = np.array([1.0, 0.0]).reshape(1, 1, 2)
    shallow = np.array([0.0, 0.0, 2.0, 4.0]).reshape(1, 1, 4)
    fused = fuse_layer_heatmaps([deep, shallow], relu=True)
    np.testing.assert_allclose(fused[0, 0], [T2, 0.75 * T2, T1, T2])
    assert FUSION_GAMMA == 2.0
    # order does not matter; one layer is returned as it is
    np.testing.assert_allclose(fuse_layer_heatmaps([shallow, deep]), fused)
    np.testing.assert_array_equal(fuse_layer_heatmaps([shallow]), shallow)


def test_signed_fusion_keeps_the_value_of_largest_magnitude():
    first = np.array([1.0, -1.0]).reshape(1, 1, 2)
    second = np.array([-2.0, 1.0]).reshape(1, 1, 2)      # normalised: [-1, 0.5]
    fused = fuse_layer_heatmaps([first, second], relu=False)
    np.testing.assert_allclose(fused[0, 0], [T2, -T2])   # ties: the first layer's
    fused = fuse_layer_heatmaps([np.array([0.5, 1.0]).reshape(1, 1, 2), second], relu=False)
    np.testing.assert_allclose(fused[0, 0], [-T2, T2])


def test_finest_shape_and_rank_mismatch():
    assert finest_shape([(7, 7), (14, 10), (3, 28)]) == (14, 28)
    with pytest.raises(ValueError, match='different spatial ranks'):
        fuse_layer_heatmaps([np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 4))])


def test_explanation_of_several_layers():
    shallow = LayerArrays(np.ones((1, 4, 4, 1)), np.ones((1, 1, 4, 4, 1)), 'block1')
    capture = _capture(more_layers=(shallow,))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FlatHeatmapWarning)
        expl = explain_capture(capture, estimator='m', kind='other')[0]
    assert expl.layer == 'conv+block1' and expl.layers == ('conv', 'block1')
    assert "layers 'conv' (2x2 positions, 2 channels), 'block1' (4x4 positions, " \
           '1 channels), fused on the finest grid' in expl.description
    assert expl.targets[0].heatmap.shape == (4, 4)
    expected = fuse_layer_heatmaps([np.maximum(GRADCAM_RAW, 0)[None, None],
                                    np.ones((1, 1, 4, 4))])
    np.testing.assert_allclose(expl.targets[0].heatmap, expected[0, 0] / expected.max())
    with pytest.raises(ValueError, match=r"layer: \['conv'\] listed more than once"):
        capture_heatmaps(_capture(more_layers=(LayerArrays(ACTIVATIONS, GRADIENTS, 'conv'),)),
                         ExplainOptions())


def test_gradcam_explanation_layer_attributes():
    assert GradCAMExplanation('m', layers=('a', 'b')).layer == 'a+b'
    assert GradCAMExplanation('m', layer='a').layers == ('a',)
    assert GradCAMExplanation('m').layers == () and GradCAMExplanation('m').layer is None


# ------------------------------------------------------------------ smooth='eigen'

ROWS = np.array([[12.0, 6.0], [0.0, 0.0], [7.0, 1.0], [5.0, 5.0]])    # test_methods_golden.py


def test_eigen_smoothed_gradcam_by_hand():
    # constant gradients (1, 1): Grad-CAM's channel terms are the activations themselves,
    # whose first principal component is (3 sqrt5, -3 sqrt5, 0, 0) (test_methods_golden.py)
    activations = ROWS.reshape(1, 4, 2)
    gradients = np.ones((1, 1, 4, 2))
    np.testing.assert_allclose(channel_terms(activations, gradients)[0, 0], ROWS)
    raw = eigen_smooth_heatmaps(activations, gradients, relu=False)
    np.testing.assert_allclose(raw[0, 0], np.array([3.0, -3.0, 0.0, 0.0]) * np.sqrt(5.0),
                               atol=1e-12)
    np.testing.assert_allclose(eigen_smooth_heatmaps(activations, gradients)[0, 0],
                               np.array([3.0, 0.0, 0.0, 0.0]) * np.sqrt(5.0), atol=1e-12)


def test_eigen_smoothed_hirescam_is_eigengradcam():
    rng = np.random.default_rng(3)
    activations = np.maximum(rng.normal(size=(2, 3, 4, 5)), 0.0)
    gradients = rng.normal(size=(2, 3, 3, 4, 5))
    for counterfactual in (False, True):
        expected = eigengradcam_map(activations, -gradients if counterfactual else gradients)
        np.testing.assert_allclose(
            eigen_smooth_heatmaps(activations, gradients, method='hirescam', relu=False,
                                  counterfactual=counterfactual), expected, atol=1e-10)


def test_eigen_smoothing_keeps_a_rank_one_map():
    # terms of rank one (one spatial pattern times channel weights, all positive):
    # the principal component is the pattern, as is the channel sum (up to centring)
    pattern = np.array([0.0, 1.0, 3.0, 2.0])
    activations = (pattern[:, None] * np.array([1.0, 2.0, 0.5]))[None]
    gradients = np.ones((1, 1, 4, 3))
    smoothed = eigen_smooth_heatmaps(activations, gradients, relu=False)[0, 0]
    np.testing.assert_allclose(smoothed / np.abs(smoothed).max(),
                               (pattern - pattern.mean()) / 1.5, atol=1e-12)


# ------------------------------------------------------------------ smooth='aug'

def test_views_augment_and_realign_round_trip():
    rng = np.random.default_rng(4)
    maps = rng.random((2, 3, 5, 6))
    for view in VIEWS:
        # a map at the input's resolution moved as the image, then moved back
        moved = augment_images(np.moveaxis(maps, 1, -1), view, (1, 1), channels_first=False)
        aligned, valid = realign(np.moveaxis(moved, -1, 1), view, (1, 1))
        np.testing.assert_array_equal(np.where(valid, aligned, 0.0), np.where(valid, maps, 0))
        assert valid.sum() == 30 - 6 * abs(view[1][0]) - 5 * abs(view[1][1])
    assert cell_stride((224, 224), (7, 7), (7, 7)) == ((32, 32), (1, 1))
    assert cell_stride((224, 224), (7, 7), (224, 224)) == ((32, 32), (32, 32))
    assert cell_stride((12, 12), (10, 8), (10, 8)) == ((1, 1), (1, 1))


def _image_capture(images, targets=(0,)):
    return LayerCapture(activations=images, gradients=np.ones((len(images), 1) + images.shape[1:]),
                        scores=np.zeros((len(images), 2)),
                        targets=np.tile(np.array(targets), (len(images), 1)), layer_name='px')


def test_augmentation_average_by_hand():
    image = np.array([5.0, 1.0, 2.0, 7.0]).reshape(1, 1, 4, 1)        # NHWC, 1x4
    calls = []

    def capture_view(images, targets, items):
        calls.append(targets)
        return _image_capture(images, targets)

    average = augmented_heatmaps(_image_capture(image), image, channels_first=False,
                                 heatmaps=lambda c: c.activations[..., 0][:, None] + np.arange(4),
                                 capture_view=capture_view)
    np.testing.assert_allclose(average[0, 0, 0], image[0, 0, :, 0] + [4 / 3, 5 / 4, 7 / 4, 5 / 3])
    assert calls == [(0,)] * (len(VIEWS) - 1)


def test_augmentation_is_exact_for_an_equivariant_map():
    # the "layer" sums 2x2 blocks of the image (stride 2): flips and shifts by one cell
    # (2 pixels) move its map exactly, so the average is the map of the image itself
    rng = np.random.default_rng(5)
    images = rng.random((3, 2, 8, 8))                                 # NCHW

    def blocks(images):
        summed = images.reshape(len(images), 2, 4, 2, 4, 2).sum(axis=(3, 5))
        return _image_capture(np.moveaxis(summed, 1, -1))

    heatmaps = lambda c: c.activations.sum(axis=-1)[:, None]           # noqa: E731
    average = augmented_heatmaps(blocks(images), images, channels_first=True,
                                 heatmaps=heatmaps, capture_view=lambda im, t, items: blocks(im))
    np.testing.assert_allclose(average, heatmaps(blocks(images)), rtol=1e-12)


def test_augmentation_keeps_each_documents_targets():
    images = np.zeros((3, 4, 4, 1))
    first = LayerCapture(activations=images, gradients=np.ones((3, 1, 4, 4, 1)),
                         scores=np.zeros((3, 5)), targets=np.array([[2], [4], [2]]),
                         layer_name='px')
    seen = []

    def capture_view(view_images, targets, items):
        seen.append((tuple(items), targets))
        return _image_capture(view_images, targets)

    augmented_heatmaps(first, images, channels_first=False, heatmaps=lambda c: c.activations
                       [..., 0][:, None], capture_view=capture_view)
    assert sorted(set(seen)) == [((0, 2), (2,)), ((1,), (4,))]


# ------------------------------------------------------------------ options

@pytest.mark.parametrize('given, normalised', [
    (None, ()), ('aug', ('aug',)), ('eigen', ('eigen',)), ('aug+eigen', ('aug', 'eigen')),
    (['eigen', 'aug'], ('aug', 'eigen')), (('AUG',), ('aug',)),
])
def test_smooth_option(given, normalised):
    assert ExplainOptions(smooth=given).smooth == normalised
    assert ExplainOptions(smooth=given).replace(relu=False).smooth == normalised


@pytest.mark.parametrize('given, error, match', [
    ('blur', ValueError, "smooth must be None, one of \\('aug', 'eigen'\\)"),
    ('', ValueError, 'smooth must be None'),
    ([], ValueError, 'smooth is empty'),
    (1, TypeError, 'smooth must be None'),
    (['aug', 2], TypeError, 'smooth must hold str names'),
    (True, TypeError, 'smooth must be None'),
])
def test_bad_smooth_values_are_named(given, error, match):
    with pytest.raises(error, match=match):
        ExplainOptions(smooth=given)


@pytest.mark.parametrize('method', ['eigencam', 'eigengradcam', 'guided-backprop', 'scorecam',
                                    'ablationcam'])
def test_eigen_smoothing_needs_channel_terms(method):
    with pytest.raises(ValueError, match=f"smooth='eigen' needs .*method='{method}'"):
        ExplainOptions(method=method, smooth='eigen')
    ExplainOptions(method=method, smooth='aug')


@pytest.mark.parametrize('method', ['eigencam', 'scorecam', 'ablationcam'])
def test_several_layers_need_a_gradient_method(method):
    with pytest.raises(ValueError, match=rf"layer: several layers \(\['layer3', 'layer4'\]\).*"
                                         rf"method='{method}' takes no gradients"):
        ExplainOptions(method=method, layer=['layer3', 'layer4'])
    assert ExplainOptions(method=method, layer=['layer4']).layer == 'layer4'


@pytest.mark.parametrize('given, normalised', [
    ('layer4', 'layer4'), (['layer4'], 'layer4'), ('layer3+layer4', ('layer3', 'layer4')),
    (['layer3', 4], ('layer3', 4)), (('a', 'b', 'c'), ('a', 'b', 'c')),
    (' a + b ', ('a', 'b')),
])
def test_layer_lists(given, normalised):
    options = ExplainOptions(layer=given)
    assert options.layer == normalised
    assert options.replace(relu=False).layer == normalised
    assert ExplainOptions(layer=normalised).layer_key == options.layer_key


@pytest.mark.parametrize('given, error, match', [
    ([], ValueError, 'layer is an empty list'),
    ('a++b', ValueError, "layer: 'a\\+\\+b' has an empty name"),
    ([['a']], TypeError, 'layer: a list of layers must hold'),
    (['a', None], TypeError, 'layer: a list of layers must hold'),
])
def test_bad_layer_lists_are_named(given, error, match):
    with pytest.raises(error, match=match):
        ExplainOptions(layer=given)
