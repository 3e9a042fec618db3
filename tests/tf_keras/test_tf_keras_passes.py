"""Score-CAM, Ablation-CAM and the gradient-free Eigen-CAM pass on legacy tf_keras models.

The golden model and its values are those of ``tests/keras/test_perturbation.py``
(worked out in ``tests/pytorch/test_pytorch_perturbation.py``).
"""
import numpy as np
import pytest

tf_keras = pytest.importorskip('tf_keras')

from eli5_gradcam.keras import capture_batch, explain_prediction_keras  # noqa: E402

layers = tf_keras.layers

X = np.array([[0.0, 1.0], [2.0, 3.0]], dtype='float32')
DOC = X[None, :, :, None]
A0, A1 = X.astype('float64'), 0.5 - X.astype('float64')


def golden_model():
    model = tf_keras.Sequential([
        layers.InputLayer((2, 2, 1)),
        layers.Conv2D(2, 1, name='conv'),
        layers.GlobalAveragePooling2D(),
        layers.Dense(2, use_bias=False, activation='softmax', name='head'),
    ])
    model.set_weights([np.array([1.0, -1.0], 'float32').reshape(1, 1, 1, 2),
                       np.array([0.0, 0.5], 'float32'),
                       np.array([[2.0, -1.0], [1.0, 3.0]], 'float32')])
    return model


def _scaled(values):
    values = np.maximum(values, 0.0)
    return values / values.max()


def test_scorecam_ablationcam_eigencam_by_hand():
    model = golden_model()
    scorecam = explain_prediction_keras(model, DOC, method='scorecam', targets=[0, 1],
                                        progress=False)
    masked = {0: (5 / 3, -19 / 6), 1: (5 / 6, 1 / 6)}         # y(x H_k), the logits
    for target, expl in enumerate(scorecam.targets):
        scores = np.array([masked[0][target], masked[1][target]])
        weights = np.exp(scores) / np.exp(scores).sum()
        np.testing.assert_allclose(expl.heatmap, _scaled(weights[0] * A0 + weights[1] * A1),
                                   rtol=1e-5)
    ablation = explain_prediction_keras(model, DOC, method='ablationcam', targets=[0, 1],
                                        progress=False)
    np.testing.assert_allclose(ablation.targets[0].heatmap, [[0, 7 / 23], [15 / 23, 1]],
                               rtol=1e-5)
    np.testing.assert_allclose(ablation.targets[1].heatmap, [[0, 0], [0.5, 1]], rtol=1e-5,
                               atol=1e-7)
    eigen = explain_prediction_keras(model, DOC, method='eigencam', progress=False)
    np.testing.assert_allclose(eigen.targets[0].heatmap, [[1.0, 1 / 3], [0.0, 0.0]],
                               atol=1e-5)
    assert capture_batch(model, DOC, method='eigencam').gradients is None


def test_ablationcam_reruns_the_whole_model_where_it_must():
    inputs = tf_keras.Input((8, 8, 3))
    stem = layers.Conv2D(4, 3, padding='same', name='stem')(inputs)
    body = layers.Conv2D(4, 3, padding='same', activation='relu', name='body')(stem)
    joined = layers.Concatenate()([stem, body])
    model = tf_keras.Model(inputs, layers.Dense(3)(layers.GlobalAveragePooling2D()(joined)))
    rng = np.random.default_rng(4)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype('float32')
                       for w in model.get_weights()])
    image = rng.random((1, 8, 8, 3)).astype('float32')
    capture = capture_batch(model, image, method='ablationcam', layer='body', targets=[1],
                            batch_size=3, progress=False)
    cut = tf_keras.Model(inputs, [stem, body])
    stem_out, body_out = (np.asarray(t) for t in cut(image))
    for channel in range(4):
        zeroed = body_out.copy()
        zeroed[..., channel] = 0.0
        pooled = np.concatenate([stem_out, zeroed], axis=-1).mean(axis=(1, 2))
        kernel, bias = model.layers[-1].get_weights()
        np.testing.assert_allclose(capture.channel_scores[0, 0, channel],
                                   (pooled @ kernel + bias)[0, 1], rtol=1e-4, atol=1e-6)
