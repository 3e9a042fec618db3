"""Score-CAM, Ablation-CAM and the gradient-free Eigen-CAM pass on Keras 3 (every backend).

The golden model is the PyTorch one of ``tests/pytorch/test_pytorch_perturbation.py``
(values worked out in its docstring): a 1x1 convolution gives ``A0 = x`` and
``A1 = 1/2 - x``, global average pooling, ``Dense`` with ``W = [[2, 1], [-1, 3]]``,
on ``x = [[0, 1], [2, 3]]``.

Ablation-CAM's reference: the same model rebuilt with a layer that zeroes one
channel after the explained one, one model per channel, sharing the weights.
"""
import numpy as np
import pytest

keras = pytest.importorskip('keras')

import eli5  # noqa: E402
import eli5_gradcam  # noqa: E402
from eli5_gradcam.keras import capture_batch, explain_prediction_keras  # noqa: E402
from keras_helpers import assert_same_snapshot, seeded_weights, snapshot  # noqa: E402

layers = keras.layers

X = np.array([[0.0, 1.0], [2.0, 3.0]], dtype='float32')
DOC = X[None, :, :, None]
A0, A1 = X.astype('float64'), 0.5 - X.astype('float64')


def golden_model(softmax=False):
    model = keras.Sequential([
        keras.Input((2, 2, 1)),
        layers.Conv2D(2, 1, name='conv'),
        layers.GlobalAveragePooling2D(),
        layers.Dense(2, use_bias=False, activation='softmax' if softmax else None, name='head'),
    ])
    model.set_weights([np.array([1.0, -1.0], 'float32').reshape(1, 1, 1, 2),
                       np.array([0.0, 0.5], 'float32'),
                       np.array([[2.0, -1.0], [1.0, 3.0]], 'float32')])
    return model


def _heatmaps(model, doc, **options):
    expl = explain_prediction_keras(model, doc, progress=False, **options)
    assert expl.error is None, expl.error
    return [np.asarray(target.heatmap) for target in expl.targets]


def _scaled(values):
    values = np.maximum(values, 0.0)
    return values / values.max()


@pytest.mark.parametrize('softmax', [False, True])
def test_scorecam_by_hand(softmax):
    # with a final softmax the scores are its input, the logits: the same values
    maps = _heatmaps(golden_model(softmax), DOC, method='scorecam', targets=[0, 1])
    masked = {0: (5 / 3, -19 / 6), 1: (5 / 6, 1 / 6)}         # y(x H_k) per channel k
    for target, heatmap in enumerate(maps):
        scores = np.array([masked[0][target], masked[1][target]])
        weights = np.exp(scores) / np.exp(scores).sum()
        np.testing.assert_allclose(heatmap, _scaled(weights[0] * A0 + weights[1] * A1),
                                   rtol=1e-5)


@pytest.mark.parametrize('softmax', [False, True])
def test_ablationcam_by_hand(softmax):
    model = golden_model(softmax)
    maps = _heatmaps(model, DOC, method='ablationcam', targets=[0, 1])
    np.testing.assert_allclose(maps[0], [[0, 7 / 23], [15 / 23, 1]], rtol=1e-5)
    np.testing.assert_allclose(maps[1], [[0, 0], [0.5, 1]], rtol=1e-5, atol=1e-7)
    capture = capture_batch(model, DOC, method='ablationcam', targets=[0, 1], progress=False)
    assert capture.gradients is None
    np.testing.assert_allclose(capture.scores, [[2.0, -4.5]], rtol=1e-5)
    np.testing.assert_allclose(capture.channel_scores, [[[-1.0, 3.0], [-3.0, -1.5]]],
                               rtol=1e-5)


def test_eigencam_by_hand():
    for heatmap in _heatmaps(golden_model(), DOC, method='eigencam', targets=[0, 1]):
        np.testing.assert_allclose(heatmap, [[1.0, 1 / 3], [0.0, 0.0]], atol=1e-5)


class ZeroChannel(layers.Layer):
    """Multiplies its input by a constant that zeroes one channel (the reference)."""

    def __init__(self, channel, width, **kwargs):
        super().__init__(**kwargs)
        keep = np.ones(width, 'float32')
        keep[channel] = 0.0
        self.keep = keep

    def call(self, inputs):
        return inputs * keras.ops.convert_to_tensor(self.keep, inputs.dtype)


def skip_model(join, zero=None):
    """``stem -> body`` joined to the stem again (``Add`` or ``Concatenate``)."""
    inputs = keras.Input((8, 8, 3))
    stem = layers.Conv2D(4, 3, padding='same', name='stem')(inputs)
    body = layers.Conv2D(4, 3, padding='same', activation='relu', name='body')(stem)
    if zero is not None:
        body = ZeroChannel(zero, 4)(body)
    joined = layers.Add()([stem, body]) if join == 'add' else layers.Concatenate()([stem, body])
    pooled = layers.GlobalAveragePooling2D()(joined)
    return seeded_weights(keras.Model(inputs, layers.Dense(3, name='head')(pooled)), seed=4)


IMAGE = np.random.default_rng(3).random((1, 8, 8, 3)).astype('float32')


@pytest.mark.parametrize('join', ['add', 'concatenate'])
def test_ablationcam_matches_models_with_a_zeroed_channel(join):
    # Add: the layers above 'body' take the batch of ablated copies; Concatenate
    # joins a batch of one to it, so the model is re-run whole: the same answer
    model = skip_model(join)
    before = snapshot(model)
    capture = capture_batch(model, IMAGE, method='ablationcam', layer='body', targets=[0, 2],
                            batch_size=3, progress=False)
    assert_same_snapshot(before, snapshot(model))
    for channel in range(4):
        reference = skip_model(join, zero=channel)(IMAGE, training=False)
        np.testing.assert_allclose(capture.channel_scores[0, :, channel],
                                   keras.ops.convert_to_numpy(reference)[0, [0, 2]], rtol=1e-4, atol=1e-5)


class MixRows(layers.Layer):
    def call(self, inputs):
        return inputs - 0.5 * keras.ops.mean(inputs, axis=0, keepdims=True)


def test_ablationcam_that_cannot_run_names_the_layer():
    inputs = keras.Input((8, 8, 3))
    features = layers.Conv2D(4, 3, name='conv')(inputs)
    pooled = MixRows()(layers.GlobalAveragePooling2D()(features))
    model = seeded_weights(keras.Model(inputs, layers.Dense(3)(pooled)), seed=2)
    with pytest.raises(ValueError, match=r"method='ablationcam': layer 'conv' cannot be "
                                         r're-run with its channels zeroed'):
        explain_prediction_keras(model, IMAGE, method='ablationcam', progress=False)


def test_scorecam_matches_a_loop_on_a_signal():
    keras.utils.set_random_seed(0)
    model = seeded_weights(keras.Sequential([
        keras.Input((20, 2)), layers.Conv1D(4, 5, padding='same', activation='relu'),
        layers.MaxPooling1D(2), layers.Conv1D(3, 3, padding='same', activation='relu',
                                              name='c2'),
        layers.GlobalAveragePooling1D(), layers.Dense(2)]), seed=5)
    signal = np.random.default_rng(1).random((1, 20, 2)).astype('float32')
    capture = capture_batch(model, signal, method='scorecam', layer='c2', targets=[1],
                            batch_size=2, progress=False)
    activations = keras.ops.convert_to_numpy(
        keras.Model(model.inputs[0], model.get_layer('c2').output)(signal))[0]
    expected = []
    for channel in range(3):
        # half-pixel linear upsampling 10 -> 20: sample i reads (i + 1/2) / 2 - 1/2
        position = np.clip((np.arange(20) + 0.5) / 2 - 0.5, 0, 9)
        upsampled = np.interp(position, np.arange(10), activations[:, channel])
        spread = upsampled.max() - upsampled.min()
        mask = (upsampled - upsampled.min()) / spread if spread > 0 else np.zeros(20)
        masked = (signal * mask[None, :, None]).astype('float32')
        expected.append(float(keras.ops.convert_to_numpy(model(masked, training=False))[0, 1]))
    np.testing.assert_allclose(capture.channel_scores[0, 0], expected, rtol=1e-4, atol=1e-6)


def test_scorecam_refuses_token_ids_by_name():
    model = keras.Sequential([keras.Input((5,), dtype='int32'), layers.Embedding(10, 4),
                              layers.Conv1D(3, 1, name='conv'), layers.GlobalMaxPooling1D(),
                              layers.Dense(2)])
    with pytest.raises(ValueError, match=r"method='scorecam' multiplies the document by masks"):
        explain_prediction_keras(model, np.array([[1, 2, 3, 4, 5]]), tokens=list('abcde'),
                                 method='scorecam', progress=False)
    expl = explain_prediction_keras(model, np.array([[1, 2, 3, 4, 5]]), tokens=list('abcde'),
                                    method='ablationcam', progress=False)
    assert len(expl.targets[0].weighted_spans.docs_weighted_spans[0].spans) == 5


@pytest.mark.parametrize('method', ['scorecam', 'ablationcam', 'eigencam'])
def test_batches_give_the_single_document_maps(method, cnn):
    docs = np.random.default_rng(4).random((3, 12, 12, 3)).astype('float32')
    batch = list(eli5_gradcam.explain_predictions(cnn, docs, batch_size=2, progress=False,
                                                  method=method, top_targets=2))
    for index, expl in enumerate(batch):
        single = eli5.explain_prediction(cnn, docs[index:index + 1], method=method,
                                         top_targets=2, progress=False)
        for ours, theirs in zip(expl.targets, single.targets):
            assert ours.target == theirs.target
            np.testing.assert_allclose(ours.heatmap, theirs.heatmap, atol=1e-5)


@pytest.mark.parametrize('method', ['scorecam', 'ablationcam', 'eigencam'])
def test_model_left_as_it_was(method, cnn, image_doc):
    before = snapshot(cnn)
    expl = explain_prediction_keras(cnn, image_doc, method=method, top_targets=2,
                                    batch_size=3, progress=False)
    assert expl.layer == 'conv2' and len(expl.targets) == 2
    assert_same_snapshot(before, snapshot(cnn))
