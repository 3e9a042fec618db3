"""Guided methods, several layers and smoothing on Keras 3 (run once per backend).

The hand-computed model is the one of ``tests/pytorch/test_pytorch_guided.py``
(see the values there): a 2x2 one-channel image ``[[1, -2], [3, .5]]``, a 1x1
convolution with kernel (1, -1) and no bias followed by a ReLU, global average
pooling and a dense layer without bias ``[[1, -1], [-2, 3]]`` (Keras' kernel is
PyTorch's weight transposed)::

    guided backprop, target 0: (.25, 0, .25, .25)    target 1: (0, -.75, 0, 0)
    Guided Grad-CAM, target 0: (1/3, 0, 1, 1/6)      target 1: flat (signed: (0, -1, 0, 0))
    Guided Grad-CAM, target 1, counterfactual: (1/3, 0, 1, 1/6)

The ReLU is written three ways (``activation='relu'``, a ``ReLU`` layer,
``Activation('relu')``): the same values.
"""
import warnings

import eli5
import numpy as np
import pytest

keras = pytest.importorskip('keras')

from eli5_gradcam.keras import capture_batch, explain_prediction_keras  # noqa: E402
from eli5_gradcam.nn import FlatHeatmapWarning  # noqa: E402
from eli5_gradcam.nn.fusion import fuse_layer_heatmaps  # noqa: E402
from eli5_gradcam.nn.gradcam import compute_heatmaps  # noqa: E402
from keras_helpers import assert_same_snapshot, seeded_weights, snapshot  # noqa: E402

layers = keras.layers
HAND_X = np.array([[1.0, -2.0], [3.0, 0.5]], dtype='float32').reshape(1, 2, 2, 1)
ZEROS = dict(kernel_initializer='zeros')


def hand_model(relu='activation'):
    if relu == 'activation':
        stack = [layers.Conv2D(2, 1, use_bias=False, activation='relu', name='act', **ZEROS)]
    else:
        stack = [layers.Conv2D(2, 1, use_bias=False, name='conv', **ZEROS),
                 layers.ReLU(name='act') if relu == 'layer' else layers.Activation('relu',
                                                                                   name='act')]
    model = keras.Sequential([keras.Input((2, 2, 1))] + stack + [
        layers.GlobalAveragePooling2D(), layers.Dense(2, use_bias=False, name='head', **ZEROS)])
    model.get_layer('conv' if relu != 'activation' else 'act').set_weights(
        [np.array([1.0, -1.0], dtype='float32').reshape(1, 1, 1, 2)])
    model.get_layer('head').set_weights([np.array([[1.0, -1.0], [-2.0, 3.0]], dtype='float32')])
    return model


def _maps(model, doc, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FlatHeatmapWarning)
        expl = explain_prediction_keras(model, doc, **kwargs)
    assert expl.error is None, expl.error
    return np.stack([np.asarray(t.heatmap, dtype=np.float64) for t in expl.targets])


@pytest.mark.parametrize('relu', ['activation', 'layer', 'activation-layer'])
def test_guided_methods_by_hand(relu):
    model = hand_model(relu)
    backprop = _maps(model, HAND_X, method='guided-backprop', targets=[0, 1], relu=False)
    np.testing.assert_allclose(backprop.reshape(2, 4), [[1, 0, 1, 1], [0, -1, 0, 0]], atol=1e-6)
    guided = _maps(model, HAND_X, method='guided-gradcam', layer='act', targets=[0, 1])
    np.testing.assert_allclose(guided[0].ravel(), [1 / 3, 0, 1, 1 / 6], atol=1e-6)
    np.testing.assert_array_equal(guided[1], np.zeros((2, 2)))
    signed = _maps(model, HAND_X, method='guided-gradcam', layer='act', targets=[1], relu=False)
    np.testing.assert_allclose(signed[0].ravel(), [0, -1, 0, 0], atol=1e-6)
    counter = _maps(model, HAND_X, method='guided-gradcam', layer='act', targets=[1],
                    counterfactual=True)
    np.testing.assert_allclose(counter[0].ravel(), [1 / 3, 0, 1, 1 / 6], atol=1e-6)


def test_guided_input_gradients_and_plain_layer_gradients_by_hand():
    model = hand_model()
    guided = capture_batch(model, HAND_X, method='guided-gradcam', layer='act', targets=[0, 1])
    assert guided.input_gradients.shape == (1, 2, 2, 2, 1)
    np.testing.assert_allclose(guided.input_gradients[0, :, :, :, 0].reshape(2, 4),
                               [[0.25, 0, 0.25, 0.25], [0, -0.75, 0, 0]], atol=1e-7)
    plain = capture_batch(model, HAND_X, layer='act', targets=[0, 1])
    assert plain.input_gradients is None
    np.testing.assert_allclose(guided.gradients, plain.gradients, atol=1e-8)
    np.testing.assert_allclose(plain.gradients[0, 0, 0, 0], [0.25, -0.5], atol=1e-8)


def test_no_relu_to_guide_is_a_named_error():
    model = seeded_weights(keras.Sequential([
        keras.Input((6, 6, 3)), layers.Conv2D(3, 3, activation='tanh', name='conv', **ZEROS),
        layers.ReLU(max_value=6.0), layers.GlobalAveragePooling2D(),
        layers.Dense(2, **ZEROS)]))
    doc = np.random.default_rng(0).random((1, 6, 6, 3)).astype('float32')
    before = snapshot(model)
    for method in ('guided-backprop', 'guided-gradcam'):
        with pytest.raises(ValueError, match=f"method='{method}': the model has no ReLU layer"):
            explain_prediction_keras(model, doc, method=method)
    assert_same_snapshot(before, snapshot(model))


def test_guided_methods_need_float_images():
    model = keras.Sequential([keras.Input((5,), dtype='int32'),
                              layers.Embedding(10, 4, embeddings_initializer='zeros'),
                              layers.Conv1D(3, 2, activation='relu', **ZEROS),
                              layers.GlobalMaxPooling1D(), layers.Dense(2, **ZEROS)])
    with pytest.raises(ValueError, match="method='guided-backprop' gives a map at the pixels"):
        explain_prediction_keras(model, np.array([[1, 2, 3, 4, 5]]), tokens=list('abcde'),
                                 method='guided-backprop')


# --------------------------------------------------------------------- several layers

def cnn():
    return seeded_weights(keras.Sequential([
        keras.Input((12, 12, 3)),
        layers.Conv2D(4, 3, padding='same', activation='relu', name='conv1', **ZEROS),
        layers.MaxPooling2D(name='pool'),
        layers.Conv2D(5, 3, padding='same', activation='relu', name='conv2', **ZEROS),
        layers.GlobalAveragePooling2D(), layers.Dense(3, name='head', **ZEROS)]), seed=3)


DOC = np.random.default_rng(4).random((1, 12, 12, 3)).astype('float32')


def test_several_layers_in_one_pass():
    model = cnn()
    several = capture_batch(model, DOC, layer=['conv2', 'conv1'], targets=[0, 2])
    assert several.layer_names == ('conv2', 'conv1')
    for arrays in several.layers:
        alone = capture_batch(model, DOC, layer=arrays.layer_name, targets=[0, 2])
        np.testing.assert_allclose(arrays.activations, alone.activations, rtol=1e-6)
        np.testing.assert_allclose(arrays.gradients, alone.gradients, rtol=1e-5, atol=1e-9)
    expl = explain_prediction_keras(model, DOC, layer='conv2+conv1', targets=[0, 2],
                                    method='layercam')
    assert expl.layer == 'conv2+conv1' and expl.layers == ('conv2', 'conv1')
    raw = [compute_heatmaps(a.activations, a.gradients, method='layercam')
           for a in several.layers]
    fused = fuse_layer_heatmaps(raw)[0]
    np.testing.assert_allclose(
        np.stack([t.heatmap for t in expl.targets]),
        fused / fused.max(axis=(1, 2), keepdims=True), atol=1e-6)
    with pytest.raises(ValueError, match="layer 'conv9' not found"):
        explain_prediction_keras(model, DOC, layer=['conv1', 'conv9'])


# --------------------------------------------------------------------- smoothing

def test_eigen_smoothed_hirescam_is_eigengradcam():
    model = cnn()
    smoothed = _maps(model, DOC, method='hirescam', smooth='eigen', targets=[0, 1], relu=False)
    eigengrad = _maps(model, DOC, method='eigengradcam', targets=[0, 1], relu=False)
    np.testing.assert_allclose(smoothed, eigengrad, atol=1e-6)


@pytest.mark.parametrize('method', ['gradcam', 'layercam'])
def test_augmentation_is_exact_on_an_equivariant_network(method):
    # symmetric kernels, 'same' padding, stride 1, a black border of two pixels: see
    # tests/pytorch/test_pytorch_layers_smoothing.py
    model = keras.Sequential([keras.Input((12, 12, 3)),
                              layers.Conv2D(6, 3, padding='same', activation='relu',
                                            name='conv', **ZEROS),
                              layers.GlobalAveragePooling2D(), layers.Dense(3, **ZEROS)])
    seeded_weights(model, seed=5)
    kernel, bias = model.get_layer('conv').get_weights()
    model.get_layer('conv').set_weights([(kernel + kernel[:, ::-1]) / 2, bias])
    image = np.zeros((1, 12, 12, 3), dtype='float32')
    image[:, 2:-2, 2:-2] = np.random.default_rng(6).random((1, 8, 8, 3))
    plain = _maps(model, image, method=method, targets=[0, 1, 2])
    smoothed = _maps(model, image, method=method, targets=[0, 1, 2], smooth='aug')
    np.testing.assert_allclose(smoothed, plain, atol=1e-5)
    full = np.random.default_rng(6).random((1, 12, 12, 3)).astype('float32')
    assert not np.allclose(_maps(model, full, method=method, targets=[0, 1, 2], smooth='aug'),
                           _maps(model, full, method=method, targets=[0, 1, 2]), atol=1e-4)


# --------------------------------------------------------------------- the model as it was

class Interrupt(BaseException):
    """Like ``KeyboardInterrupt``: not an ``Exception``."""


class Tripwire(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.armed = [False]

    def call(self, inputs):
        if self.armed[0]:
            raise Interrupt('interrupted in the guided pass')
        return inputs


def test_model_left_as_it_was():
    tripwire = Tripwire(name='tripwire')
    model = seeded_weights(keras.Sequential([
        keras.Input((8, 8, 3)),
        layers.Conv2D(4, 3, padding='same', activation='relu', name='conv1', **ZEROS),
        layers.ReLU(name='relu'), tripwire,
        layers.Conv2D(4, 3, padding='same', activation='relu', name='conv2', **ZEROS),
        layers.GlobalAveragePooling2D(), layers.Dense(2, activation='softmax', **ZEROS)]))
    doc = np.random.default_rng(7).random((1, 8, 8, 3)).astype('float32')
    model(doc)
    before = snapshot(model)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FlatHeatmapWarning)
        for kwargs in (dict(method='guided-gradcam'), dict(method='guided-backprop'),
                       dict(layer=['conv1', 'conv2'], smooth='aug+eigen', top_targets=2),
                       dict(method='guided-gradcam', layer='conv1+conv2', counterfactual=True)):
            expl = eli5.explain_prediction(model, doc, **kwargs)
            assert expl.error is None
            assert_same_snapshot(before, snapshot(model))
        tripwire.armed[0] = True
        try:
            with pytest.raises(Interrupt):
                explain_prediction_keras(model, doc, method='guided-gradcam', layer='conv2',
                                         targets=[1])
        finally:
            tripwire.armed[0] = False
    assert_same_snapshot(before, snapshot(model))
    assert all('call' not in layer.__dict__ for layer in model.layers)
