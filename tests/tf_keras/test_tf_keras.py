"""Legacy tf_keras (Keras 2) models: dispatched by eli5 and explained on TensorFlow."""
import numpy as np
import pytest

tf_keras = pytest.importorskip('tf_keras')

import eli5  # noqa: E402
import eli5_gradcam  # noqa: E402,F401
from eli5_gradcam.keras import capture_batch, explain_prediction_keras  # noqa: E402

layers = tf_keras.layers


def seeded(model, seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0.0, scale, w.shape).astype('float32')
                       for w in model.get_weights()])
    return model


def cnn(softmax=True):
    return seeded(tf_keras.Sequential([
        layers.InputLayer((12, 12, 3)),
        layers.Conv2D(4, 3, activation='relu', name='conv1'),
        layers.Conv2D(5, 3, activation='relu', name='conv2'),
        layers.GlobalAveragePooling2D(),
        layers.Dense(3, activation='softmax' if softmax else None, name='head')]), seed=1)


DOC = np.random.default_rng(2).random((1, 12, 12, 3)).astype('float32')


def test_dispatched_and_explained():
    model = cnn()
    expl = eli5.explain_prediction(model, DOC, top_targets=2)
    assert expl.error is None and len(expl.targets) == 2
    assert expl.layer == 'conv2' and 'pre-softmax logit' in expl.description
    single = eli5.explain_prediction(model, DOC, targets=[0])
    assert eli5.format_as_image(single).size == (12, 12)
    assert eli5.show_prediction(model, DOC) is not None


def test_logits_equal_a_model_without_softmax():
    with_softmax, without = cnn(), cnn(softmax=False)
    ours = capture_batch(with_softmax, DOC, targets=[0, 1, 2])
    plain = capture_batch(without, DOC, targets=[0, 1, 2], score='output')
    np.testing.assert_allclose(ours.gradients, plain.gradients, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(ours.probabilities.sum(), 1.0, rtol=1e-5)


def test_agrees_with_eli5_keras_math():
    """Plain tf.GradientTape on a sub-model as an independent reference."""
    import tensorflow as tf
    model = cnn(softmax=False)
    sub = tf_keras.Model(model.inputs, [model.get_layer('conv2').output, model.output])
    with tf.GradientTape() as tape:
        activations, scores = sub(DOC)
        score = scores[:, 1]
    gradients = tape.gradient(score, activations).numpy()
    capture = capture_batch(model, DOC, targets=[1], layer='conv2')
    np.testing.assert_allclose(capture.gradients[:, 0], gradients, rtol=1e-5, atol=1e-7)


class Subclassed(tf_keras.Model):
    def __init__(self):
        super().__init__()
        self.conv = layers.Conv2D(4, 3, activation='relu')
        self.pool = layers.GlobalAveragePooling2D()
        self.head = layers.Dense(2, activation='softmax')

    def call(self, inputs):
        return self.head(self.pool(self.conv(inputs)))


def test_subclassed_and_nested():
    model = Subclassed()
    model(DOC)
    before = {id(layer): dict(layer.__dict__) for layer in model.layers}
    expl = explain_prediction_keras(model, DOC)
    assert expl.targets[0].heatmap.shape == (10, 10)
    assert all(set(layer.__dict__) == set(before[id(layer)]) for layer in model.layers)
    base = tf_keras.Sequential([layers.InputLayer((12, 12, 3)),
                                layers.Conv2D(4, 3, activation='relu', name='inner')],
                               name='base')
    nested = seeded(tf_keras.Sequential([layers.InputLayer((12, 12, 3)), base, layers.GlobalAveragePooling2D(),
                                         layers.Dense(3, activation='softmax')]), seed=3)
    assert explain_prediction_keras(nested, DOC).layer == 'base/inner'


def test_repeated_calls_and_text():
    model = cnn()
    first = explain_prediction_keras(model, DOC)
    for _ in range(5):
        again = explain_prediction_keras(model, DOC)
        np.testing.assert_array_equal(again.targets[0].heatmap, first.targets[0].heatmap)
    text = seeded(tf_keras.Sequential([
        layers.InputLayer((8,), dtype='int32'), layers.Embedding(20, 4),
        layers.Bidirectional(layers.LSTM(3, return_sequences=True), name='bidi'),
        layers.GlobalAveragePooling1D(), layers.Dense(2, activation='softmax')]), seed=4)
    expl = explain_prediction_keras(text, np.array([[1, 2, 3, 4, 5, 0, 0, 0]]),
                                    tokens=list('abcde') + ['<p>'] * 3, pad_token='<p>',
                                    relu=False)
    assert expl.layer == 'bidi'
    assert expl.targets[0].weighted_spans.docs_weighted_spans[0].document == 'abcde'


def test_bad_input():
    model = cnn()
    with pytest.raises(ValueError, match='channels-first'):
        explain_prediction_keras(model, np.zeros((1, 3, 12, 12), 'float32'))
    with pytest.raises(ValueError, match="layer 'nope' not found"):
        explain_prediction_keras(model, DOC, layer='nope')
