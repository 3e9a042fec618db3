"""The Keras adapter's numbers are right: run once per backend, each in its own process.

Heatmaps, scores and probabilities worked out by hand on a model with weights set
by hand; the gradient of the softmax output (``score='output'``); gradients
against finite differences; several targets (or documents) at once against one
at a time; ``top_targets`` ranked by score; the same weights as a Sequential, a
functional and a subclassed model give the same explanation.
"""
import numpy as np
import pytest

keras = pytest.importorskip('keras')

from eli5_gradcam.keras import capture_batch, explain_prediction_keras  # noqa: E402
from keras_helpers import Subclassed, seeded_weights, small_cnn  # noqa: E402

layers = keras.layers


def golden_model():
    """1x1 conv (channels x and -x) -> GAP -> Dense(2, softmax), weights set by hand."""
    model = keras.Sequential([
        keras.Input((3, 3, 1)),
        layers.Conv2D(2, 1, use_bias=False, name='conv'),
        layers.GlobalAveragePooling2D(),
        layers.Dense(2, use_bias=False, activation='softmax', name='head'),
    ])
    model.get_layer('conv').set_weights([np.array([1.0, -1.0]).reshape(1, 1, 1, 2)])
    model.get_layer('head').set_weights([np.array([[3.0, 0.0], [1.0, 1.0]])])
    return model


GOLDEN_X = np.array([[1, -2, 3], [0, 4, -1], [2, 2, -3]], dtype='float32')


def test_golden_values_by_hand():
    # A = (x, -x); logit_c = mean(x) * (W[0, c] - W[1, c]); dlogit_c/dA_k = W[k, c] / 9.
    # Grad-CAM_c = relu(sum_k W[k, c] / 9 * A_k): c=0 -> relu(2x/9), c=1 -> relu(-x/9).
    model = golden_model()
    doc = GOLDEN_X.reshape(1, 3, 3, 1)
    expl = explain_prediction_keras(model, doc, targets=[0, 1], image=None)
    mean = GOLDEN_X.mean()
    np.testing.assert_allclose(expl.targets[0].heatmap, np.maximum(GOLDEN_X, 0) / 4, atol=1e-6)
    np.testing.assert_allclose(expl.targets[1].heatmap, np.maximum(-GOLDEN_X, 0) / 3, atol=1e-6)
    np.testing.assert_allclose([t.score for t in expl.targets], [2 * mean, -mean], rtol=1e-5)
    logits = np.array([2 * mean, -mean])
    proba = np.exp(logits) / np.exp(logits).sum()
    np.testing.assert_allclose([t.proba for t in expl.targets], proba, rtol=1e-5)
    assert 'pre-softmax logit' in expl.description and expl.layer == 'conv'


def test_score_output_differentiates_the_softmax():
    model = golden_model()
    doc = GOLDEN_X.reshape(1, 3, 3, 1)
    capture = capture_batch(model, doc, targets=[0], score='output')
    p = capture.scores[0]
    # d p_0 / d logit_j = p_0 (delta_0j - p_j); d logit_j / dA_k = W[k, j] / 9
    weights = np.array([[3.0, 0.0], [1.0, 1.0]])
    dlogit = p[0] * (np.eye(2)[0] - p)
    expected = (weights @ dlogit) / 9
    np.testing.assert_allclose(capture.gradients[0, 0], np.broadcast_to(expected, (3, 3, 2)),
                               rtol=1e-5, atol=1e-7)
    assert capture.score_name == 'model output'
    np.testing.assert_allclose(capture.scores.sum(), 1.0, rtol=1e-6)


def test_gradients_match_finite_differences():
    model = seeded_weights(small_cnn(softmax=False), seed=3)
    doc = np.random.default_rng(4).random((1, 12, 12, 3)).astype('float32')
    capture = capture_batch(model, doc, layer='conv1', targets=[0, 2])
    tail = [model.get_layer(name) for name in ('conv2', 'pool', 'head')]

    def logits(activations):
        value = keras.ops.convert_to_tensor(activations.astype('float32'))
        for layer in tail:
            value = layer(value)
        return keras.ops.convert_to_numpy(value).astype(np.float64)

    base = capture.activations.astype(np.float64)
    rng = np.random.default_rng(5)
    eps = 1e-2
    for _ in range(6):
        index = tuple(int(rng.integers(0, s)) for s in base.shape)
        up, down = base.copy(), base.copy()
        up[index] += eps
        down[index] -= eps
        numeric = (logits(up) - logits(down))[0] / (2 * eps)
        for column, target in enumerate((0, 2)):
            np.testing.assert_allclose(capture.gradients[(0, column) + index[1:]],
                                       numeric[target], rtol=2e-2, atol=2e-4)


def test_all_targets_match_one_at_a_time(cnn, image_doc):
    together = capture_batch(cnn, image_doc, targets=[2, 0, 1])
    for column, target in enumerate((2, 0, 1)):
        alone = capture_batch(cnn, image_doc, targets=[target])
        np.testing.assert_allclose(together.gradients[:, column], alone.gradients[:, 0],
                                   rtol=1e-5, atol=1e-7)


def test_top_targets_are_ranked(cnn, image_doc):
    capture = capture_batch(cnn, image_doc, top_targets=3)
    scores = capture.scores[0]
    assert list(capture.targets[0]) == list(np.argsort(-scores))
    lowest = capture_batch(cnn, image_doc, top_targets=-1)
    assert lowest.targets[0, 0] == int(np.argmin(scores))


def test_batch_capture(cnn):
    docs = np.random.default_rng(6).random((3, 12, 12, 3)).astype('float32')
    batch = capture_batch(cnn, docs, top_targets=2)
    for item in range(3):
        one = capture_batch(cnn, docs[item:item + 1], targets=list(batch.targets[item]))
        np.testing.assert_allclose(batch.gradients[item], one.gradients[0], rtol=1e-4,
                                   atol=1e-6)


def _functional():
    inputs = keras.Input((12, 12, 3))
    hidden = layers.Conv2D(4, 3, activation='relu', name='conv1')(inputs)
    hidden = layers.Conv2D(5, 3, name='conv2')(hidden)
    hidden = layers.Activation('relu', name='act')(hidden)
    hidden = layers.GlobalAveragePooling2D()(hidden)
    logits = layers.Dense(3, name='logits')(hidden)
    return keras.Model(inputs, layers.Softmax(name='softmax')(logits))


def _subclassed():
    model = Subclassed()
    model(np.zeros((1, 12, 12, 3), 'float32'))
    return model


@pytest.mark.parametrize('build', [small_cnn, _functional, _subclassed])
def test_model_kinds_agree(build, image_doc):
    reference = seeded_weights(small_cnn(), seed=7)
    model = build()
    model.set_weights(reference.get_weights())
    expected = explain_prediction_keras(reference, image_doc, top_targets=2)
    expl = explain_prediction_keras(model, image_doc, top_targets=2)
    assert expl.layer in ('conv2', 'act')
    assert 'pre-softmax logit' in expl.description
    for got, want in zip(expl.targets, expected.targets):
        assert got.target == want.target
        np.testing.assert_allclose(got.heatmap, want.heatmap, atol=1e-5)
        np.testing.assert_allclose(got.score, want.score, rtol=1e-5)
        np.testing.assert_allclose(got.proba, want.proba, rtol=1e-5)
