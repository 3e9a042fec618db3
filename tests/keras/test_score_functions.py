"""Score functions as targets on every Keras backend (one process per backend)."""
import numpy as np
import pytest

keras = pytest.importorskip('keras')

import eli5  # noqa: E402

import eli5_gradcam  # noqa: E402,F401
from eli5_gradcam.keras import capture_batch  # noqa: E402
from eli5_gradcam.targets import BoxScore, ClassScore, RegionScore, SimilarityScore  # noqa: E402
from keras_helpers import seeded_weights, small_cnn  # noqa: E402

layers = keras.layers
SIZE = 16


def _numpy(tensor):
    return keras.ops.convert_to_numpy(tensor)


def _two_squares(first=(2, 2), second=(10, 10), side=4):
    image = np.zeros((1, SIZE, SIZE, 1), 'float32')
    masks = []
    for top, left in (first, second):
        image[0, top:top + side, left:left + side, 0] = 1.0
        mask = np.zeros((SIZE, SIZE))
        mask[top:top + side, left:left + side] = 1.0
        masks.append(mask)
    return image, masks


def segmenter():
    """Fixed weights: channel 0 local brightness, 1 darkness; class 1 = bright."""
    model = keras.Sequential([keras.Input((SIZE, SIZE, 1)),
                              layers.Conv2D(2, 3, padding='same', use_bias=False, name='features'),
                              layers.ReLU(name='relu'),
                              layers.Conv2D(2, 1, name='classify')])
    features = np.zeros((3, 3, 1, 2), 'float32')
    features[..., 0], features[..., 1] = 1 / 9, -1 / 9
    classify = np.array([[[[0.0, 1.0], [1.0, 0.0]]]], 'float32')
    model.set_weights([features, classify, np.array([0.0, 0.5], 'float32')])
    return model


@pytest.mark.parametrize('method', ['hirescam', 'layercam'])
def test_region_score_on_one_of_two_identical_objects_peaks_on_it(method):
    model, (image, masks) = segmenter(), _two_squares()
    for mask, other in ((masks[0], masks[1]), (masks[1], masks[0])):
        expl = eli5.explain_prediction(model, image, targets=[RegionScore(1, mask)],
                                       layer='relu', method=method)
        heatmap = expl.targets[0].heatmap
        assert heatmap[mask > 0].mean() > 0.5 and heatmap[other > 0].max() == 0.0


def test_region_score_gradient_is_the_mask_itself():
    """d sum(mask * logit_1) / d relu = mask * classify weight of class 1 (hand value)."""
    model, (image, masks) = segmenter(), _two_squares()
    capture = capture_batch(model, image, targets=[RegionScore(1, masks[0])], layer='relu')
    expected = np.stack([masks[0] * 1.0, masks[0] * 0.0], axis=-1)
    np.testing.assert_allclose(capture.gradients[0, 0], expected, atol=1e-6)
    assert capture.scores[0, 0] == pytest.approx(
        float((_numpy(model(image))[0, ..., 1] * masks[0]).sum()), rel=1e-5)


def test_class_score_and_function_mix_with_indices(image_doc):
    model = seeded_weights(small_cnn(), seed=3)
    expl = eli5.explain_prediction(model, image_doc, relu=False,
                                   targets=[2, ClassScore(2), lambda out: out[:, 0] * 2.0])
    assert [t.target for t in expl.targets] == [2, 'class 2', 'score function 1']
    probabilities = _numpy(model(image_doc))[0]
    assert expl.targets[1].score == pytest.approx(probabilities[2], rel=1e-5)
    assert expl.targets[2].score == pytest.approx(2 * probabilities[0], rel=1e-5)
    assert expl.targets[0].proba == pytest.approx(probabilities[2], rel=1e-5)
    assert expl.targets[1].proba is None


def test_similarity_and_box_scores():
    rng = np.random.default_rng(4)
    encoder = keras.Sequential([keras.Input((8, 8, 3)), layers.Conv2D(4, 3, name='conv'),
                                layers.GlobalAveragePooling2D(), layers.Dense(5)])
    seeded_weights(encoder, seed=5)
    doc = rng.random((1, 8, 8, 3)).astype('float32')
    reference = np.arange(5.0) - 2.0
    expl = eli5.explain_prediction(encoder, doc, targets=[SimilarityScore(reference)])
    embedding = _numpy(encoder(doc))[0]
    assert expl.targets[0].score == pytest.approx(
        embedding @ reference / np.linalg.norm(embedding) / np.linalg.norm(reference), rel=1e-4)
    grid = keras.Sequential([keras.Input((8, 8, 3)), layers.Conv2D(2, 3, padding='same',
                                                                   name='conv'),
                             layers.AveragePooling2D(4), layers.Reshape((4, 2))])
    seeded_weights(grid, seed=6)
    boxes = np.array([[0, 0, 4, 4], [4, 0, 8, 4], [0, 4, 4, 8], [4, 4, 8, 8]], 'float32')

    class WithBoxes(keras.Model):
        def __init__(self):
            super().__init__()
            self.grid = grid

        def call(self, x):
            cells = self.grid(x)
            anchors = keras.ops.broadcast_to(keras.ops.convert_to_tensor(boxes)[None],
                                             (keras.ops.shape(x)[0], 4, 4))
            return keras.ops.concatenate([anchors, cells], axis=-1)
    detector = WithBoxes()
    detector(doc)
    box = BoxScore((4.5, 4.5, 8, 8), 1, layout='dense', image_size=(8, 8))
    capture = capture_batch(detector, doc, targets=[box], layer=grid.layers[0])
    assert capture.scores[0, -1] == pytest.approx(float(_numpy(detector(doc))[0, 3, 5]),
                                                  rel=1e-5)
    assert np.abs(capture.gradients[0, 0, :4, :4]).max() == 0.0         # another anchor
    assert np.abs(capture.gradients[0, 0, 4:, 4:]).max() > 0.0


def test_dense_box_score_picks_the_reported_detection_on_every_backend():
    dense = np.array([[[0, 0, 10, 10, 0.2, 0.0], [1, 1, 10, 10, 0.9, 0.0],
                       [20, 20, 30, 30, 5.0, 0.0]]], dtype='float32')
    for min_iou, expected in ((0.1, 0.9), (0.9, 0.2)):
        score = BoxScore((0, 0, 10, 10), 0, layout='dense', min_iou=min_iou)(
            keras.ops.convert_to_tensor(dense))
        assert float(_numpy(score)[0]) == pytest.approx(expected)


def test_bad_score_function_shape_is_named(image_doc):
    model = seeded_weights(small_cnn(), seed=3)
    with pytest.raises(ValueError, match=r'score function .* one score per document'):
        eli5.explain_prediction(model, image_doc, targets=[lambda out: out])
