"""Metrics through the Keras adapter (run once per backend): the same numbers as the same
network written as a numpy ``predict`` callable, and the model left as it was."""
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

import eli5

import eli5_gradcam  # noqa: F401
from eli5_gradcam import metrics
from keras_helpers import assert_same_snapshot, snapshot


def _numpy_small_cnn(model):
    """``small_cnn`` (valid 3x3 convs, relu, global average pool, dense softmax) in numpy."""
    kernel1, bias1, kernel2, bias2, dense, dense_bias = (
        np.asarray(w, dtype=np.float64) for w in model.get_weights())

    def conv(inputs, kernel, bias):
        windows = sliding_window_view(inputs, (3, 3), axis=(1, 2))      # n, h, w, c, 3, 3
        return np.maximum(np.einsum('nhwcij,ijck->nhwk', windows, kernel) + bias, 0.0)

    def predict(batch):
        features = conv(conv(batch, kernel1, bias1), kernel2, bias2).mean(axis=(1, 2))
        logits = features @ dense + dense_bias
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)
    return predict


def test_keras_and_callable_paths_agree(cnn, image_doc):
    predict = _numpy_small_cnn(cnn)
    heatmap = np.random.default_rng(3).random((8, 8))
    np.testing.assert_allclose(predict(image_doc), cnn.predict_on_batch(image_doc), rtol=1e-5)
    for metric in (metrics.deletion, metrics.insertion):
        ours = metric(cnn, image_doc, heatmap, steps=16)
        reference = metric(predict, image_doc, heatmap, steps=16, channels_first=False)
        assert ours.target == reference.target
        np.testing.assert_allclose(ours.scores, reference.scores, rtol=1e-5)
    road = metrics.road(cnn, image_doc, heatmap, percentages=[25, 75])
    road_numpy = metrics.road(predict, image_doc, heatmap, percentages=[25, 75],
                              channels_first=False)
    np.testing.assert_allclose(road.morf, road_numpy.morf, rtol=1e-5)
    np.testing.assert_allclose(road.lerf, road_numpy.lerf, rtol=1e-5)


def test_explanation_scored_on_its_target_and_the_model_untouched(cnn, image_doc):
    expl = eli5.explain_prediction(cnn, image_doc, targets=[1])
    before = snapshot(cnn)
    curve = metrics.deletion(cnn, image_doc, expl, steps=12, batch_size=5)
    change = metrics.confidence_change(cnn, image_doc, [expl])
    assert_same_snapshot(before, snapshot(cnn))
    assert curve.target == 1 and change.targets.tolist() == [1]
    reference = metrics.deletion(_numpy_small_cnn(cnn), image_doc, expl.targets[0].heatmap,
                                 steps=12, target=1, channels_first=False)
    np.testing.assert_allclose(curve.scores, reference.scores, rtol=1e-5)


def test_model_errors_are_named(cnn):
    with pytest.raises(ValueError, match='doc has shape .* but the model expects'):
        metrics.deletion(cnn, np.zeros((1, 10, 10, 3), 'float32'), np.ones((10, 10)))
