"""Guided methods, several layers and smoothing on legacy tf_keras models.

The hand-computed model and its values are those of
``tests/keras/test_keras_guided.py`` (and ``tests/pytorch/test_pytorch_guided.py``).
"""
import warnings

import numpy as np
import pytest

tf_keras = pytest.importorskip('tf_keras')

import eli5  # noqa: E402
from eli5_gradcam.keras import capture_batch, explain_prediction_keras  # noqa: E402
from eli5_gradcam.nn import FlatHeatmapWarning  # noqa: E402

layers = tf_keras.layers
HAND_X = np.array([[1.0, -2.0], [3.0, 0.5]], dtype='float32').reshape(1, 2, 2, 1)


def hand_model():
    model = tf_keras.Sequential([
        layers.InputLayer((2, 2, 1)),
        layers.Conv2D(2, 1, use_bias=False, name='conv'), layers.ReLU(name='act'),
        layers.GlobalAveragePooling2D(), layers.Dense(2, use_bias=False, name='head')])
    model.set_weights([np.array([1.0, -1.0], dtype='float32').reshape(1, 1, 1, 2),
                       np.array([[1.0, -1.0], [-2.0, 3.0]], dtype='float32')])
    return model


def _maps(model, doc, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FlatHeatmapWarning)
        expl = explain_prediction_keras(model, doc, **kwargs)
    assert expl.error is None, expl.error
    return np.stack([np.asarray(t.heatmap, dtype=np.float64) for t in expl.targets])


def test_guided_methods_by_hand():
    model = hand_model()
    backprop = _maps(model, HAND_X, method='guided-backprop', targets=[0, 1], relu=False)
    np.testing.assert_allclose(backprop.reshape(2, 4), [[1, 0, 1, 1], [0, -1, 0, 0]], atol=1e-6)
    guided = _maps(model, HAND_X, method='guided-gradcam', layer='act', targets=[0])
    np.testing.assert_allclose(guided[0].ravel(), [1 / 3, 0, 1, 1 / 6], atol=1e-6)
    counter = _maps(model, HAND_X, method='guided-gradcam', layer='act', targets=[1],
                    counterfactual=True)
    np.testing.assert_allclose(counter[0].ravel(), [1 / 3, 0, 1, 1 / 6], atol=1e-6)


def cnn():
    rng = np.random.default_rng(1)
    model = tf_keras.Sequential([
        layers.InputLayer((12, 12, 3)),
        layers.Conv2D(4, 3, padding='same', activation='relu', name='conv1'),
        layers.MaxPooling2D(),
        layers.Conv2D(5, 3, padding='same', activation='relu', name='conv2'),
        layers.GlobalAveragePooling2D(), layers.Dense(3, activation='softmax', name='head')])
    model.set_weights([rng.normal(0, 0.5, w.shape).astype('float32')
                       for w in model.get_weights()])
    return model


DOC = np.random.default_rng(2).random((1, 12, 12, 3)).astype('float32')


def test_several_layers_and_smoothing():
    model = cnn()
    weights = [w.copy() for w in model.get_weights()]
    several = capture_batch(model, DOC, layer=['conv1', 'conv2'], targets=[1])
    for arrays in several.layers:
        alone = capture_batch(model, DOC, layer=arrays.layer_name, targets=[1])
        np.testing.assert_allclose(arrays.gradients, alone.gradients, rtol=1e-5, atol=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FlatHeatmapWarning)
        expl = eli5.explain_prediction(model, DOC, layer='conv1+conv2', smooth='aug+eigen',
                                       method='guided-gradcam')
    assert expl.layers == ('conv1', 'conv2') and expl.targets[0].heatmap.shape == (12, 12)
    assert eli5.format_as_image(expl).size == (12, 12)
    assert all('call' not in layer.__dict__ for layer in model.layers)
    for old, new in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(old, new)
