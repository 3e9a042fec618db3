"""explain_prediction_keras on Keras 3, run once per backend."""
import gc
import re
import warnings

import numpy as np
import pytest
from PIL import Image

keras = pytest.importorskip('keras')

import eli5  # noqa: E402
import eli5_gradcam  # noqa: E402,F401
from eli5_gradcam.keras import capture_batch, explain_prediction_keras  # noqa: E402
from eli5_gradcam.nn import FlatHeatmapWarning  # noqa: E402
from keras_helpers import (assert_same_snapshot, seeded_weights, small_cnn,  # noqa: E402
                           snapshot)

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


class Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.conv1 = layers.Conv2D(4, 3, activation='relu', name='conv1')
        self.conv2 = layers.Conv2D(5, 3, activation='relu', name='conv2')
        self.pool = layers.GlobalAveragePooling2D()
        self.head = layers.Dense(3, activation='softmax', name='head')

    def call(self, inputs):
        return self.head(self.pool(self.conv2(self.conv1(inputs))))


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


def test_model_unchanged(cnn, image_doc):
    before = snapshot(cnn)
    layer_trainable = [layer.trainable for layer in cnn.layers]
    explain_prediction_keras(cnn, image_doc, top_targets=2, layer='conv1')
    assert_same_snapshot(before, snapshot(cnn))
    assert [layer.trainable for layer in cnn.layers] == layer_trainable
    assert all('call' not in layer.__dict__ for layer in cnn.layers)


def test_model_unchanged_after_exception(image_doc):
    class Failing(keras.layers.Layer):
        armed = False

        def call(self, inputs):
            if Failing.armed:
                raise RuntimeError('boom')
            return inputs

    model = keras.Sequential([keras.Input((12, 12, 3)), layers.Conv2D(2, 3, name='conv'),
                              Failing(), layers.GlobalAveragePooling2D(), layers.Dense(2)])
    model.get_layer('conv').trainable = False
    before = snapshot(model)
    Failing.armed = True
    with pytest.raises(ValueError, match='doc'):
        explain_prediction_keras(model, image_doc)
    assert_same_snapshot(before, snapshot(model))
    assert all('call' not in layer.__dict__ for layer in model.layers)
    assert model.get_layer('conv').trainable is False


def test_user_patched_call_is_restored(cnn, image_doc):
    conv = cnn.get_layer('conv2')
    original = conv.call

    def patched(*args, **kwargs):
        return original(*args, **kwargs)
    object.__setattr__(conv, 'call', patched)
    try:
        explain_prediction_keras(cnn, image_doc)
        assert conv.__dict__['call'] is patched
    finally:
        object.__delattr__(conv, 'call')


def test_repeated_calls_reuse_nothing_stale(cnn, image_doc):
    """Interleaved documents and target requests: each call gives its own answer."""
    other = np.random.default_rng(9).random((1, 12, 12, 3)).astype('float32')
    first = {}
    for doc_name, doc in (('a', image_doc), ('b', other)) * 3:
        for request in ({'top_targets': 2}, {'targets': [0]}):
            expl = explain_prediction_keras(cnn, doc, **request)
            maps = [np.asarray(t.heatmap) for t in expl.targets]
            key = (doc_name, str(request))
            if key not in first:
                first[key] = maps
            for seen, now in zip(first[key], maps):
                np.testing.assert_array_equal(seen, now)
    assert not np.allclose(first[('a', "{'targets': [0]}")][0],
                           first[('b', "{'targets': [0]}")][0])


def test_weight_updates_are_seen(image_doc):
    model = seeded_weights(small_cnn(), seed=10)
    first = capture_batch(model, image_doc, targets=[0])
    seeded_weights(model, seed=11)
    second = capture_batch(model, image_doc, targets=[0])
    fresh = capture_batch(seeded_weights(small_cnn(), seed=11), image_doc, targets=[0])
    assert not np.allclose(first.scores, second.scores)
    np.testing.assert_allclose(second.gradients, fresh.gradients, rtol=1e-5, atol=1e-7)


def _rss_bytes():
    with open('/proc/self/statm') as statm:
        import os
        return int(statm.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


def test_memory_stays_flat(cnn, image_doc):
    for _ in range(30):
        explain_prediction_keras(cnn, image_doc)
    gc.collect()
    start = _rss_bytes()
    for _ in range(300):
        explain_prediction_keras(cnn, image_doc)
    gc.collect()
    assert _rss_bytes() - start < 40 * 2 ** 20


def test_cache_does_not_keep_models_alive(image_doc):
    import weakref
    model = seeded_weights(small_cnn(), seed=12)
    explain_prediction_keras(model, image_doc)
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None


def test_regression_and_sigmoid_outputs(image_doc):
    regression = seeded_weights(keras.Sequential([
        keras.Input((12, 12, 3)), layers.Conv2D(3, 3, activation='relu', name='conv'),
        layers.GlobalAveragePooling2D(), layers.Dense(1)]), seed=13)
    expl = explain_prediction_keras(regression, image_doc, relu=False)
    assert expl.is_regression and expl.targets[0].proba is None
    binary = seeded_weights(keras.Sequential([
        keras.Input((12, 12, 3)), layers.Conv2D(3, 3, activation='relu', name='conv'),
        layers.GlobalAveragePooling2D(), layers.Dense(1, activation='sigmoid')]), seed=13)
    expl = explain_prediction_keras(binary, image_doc, relu=False)
    assert not expl.is_regression
    # score='auto' explains the pre-sigmoid logit; the output is its probability
    assert expl.targets[0].proba == pytest.approx(1 / (1 + np.exp(-expl.targets[0].score)),
                                                  rel=1e-5)


def test_multi_output_model(image_doc):
    inputs = keras.Input((12, 12, 3))
    hidden = layers.Conv2D(4, 3, activation='relu', name='conv')(inputs)
    pooled = layers.GlobalAveragePooling2D()(hidden)
    first = layers.Dense(2, name='first')(pooled)
    second = layers.Dense(3, activation='softmax', name='second')(pooled)
    model = seeded_weights(keras.Model(inputs, [first, second]), seed=14)
    with pytest.raises(ValueError, match='output='):
        explain_prediction_keras(model, image_doc)
    expl = explain_prediction_keras(model, image_doc, output=1, top_targets=3)
    assert len(expl.targets) == 3
    assert len(explain_prediction_keras(model, image_doc, output='first',
                                        top_targets=5).targets) == 2


@pytest.mark.parametrize('method', ['gradcam', 'gradcam++', 'layercam', 'hirescam'])
def test_methods_and_flags(cnn, image_doc, method):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FlatHeatmapWarning)
        expl = explain_prediction_keras(cnn, image_doc, method=method, relu=False,
                                        counterfactual=True, layer='conv1')
    heatmap = expl.targets[0].heatmap
    assert heatmap.shape == (10, 10) and np.all(np.abs(heatmap) <= 1 + 1e-9)


# ---- layers -----------------------------------------------------------------------------

def test_layer_by_index_object_and_name(cnn, image_doc):
    by_name = explain_prediction_keras(cnn, image_doc, layer='conv1')
    by_index = explain_prediction_keras(cnn, image_doc, layer=0)
    by_object = explain_prediction_keras(cnn, image_doc, layer=cnn.get_layer('conv1'))
    for expl in (by_index, by_object):
        np.testing.assert_allclose(expl.targets[0].heatmap, by_name.targets[0].heatmap)
        assert expl.layer == 'conv1'


def test_nested_models_and_paths(image_doc):
    base = seeded_weights(keras.Sequential([
        keras.Input((12, 12, 3)), layers.Conv2D(4, 3, activation='relu', name='inner1'),
        layers.Conv2D(5, 3, activation='relu', name='inner2')], name='base'), seed=15)
    model = keras.Sequential([keras.Input((12, 12, 3)), base, layers.GlobalAveragePooling2D(),
                              layers.Dense(3, activation='softmax')])
    expl = explain_prediction_keras(model, image_doc)
    assert expl.layer == 'base/inner2'
    by_path = explain_prediction_keras(model, image_doc, layer='base/inner1')
    assert by_path.layer == 'base/inner1'
    by_name = explain_prediction_keras(model, image_doc, layer='inner1')
    np.testing.assert_allclose(by_name.targets[0].heatmap, by_path.targets[0].heatmap)
    inputs = keras.Input((12, 12, 3))
    functional = keras.Model(inputs, layers.Dense(3, activation='softmax')(
        layers.GlobalAveragePooling2D()(base(inputs))))
    assert explain_prediction_keras(functional, image_doc).layer == 'base/inner2'
    with pytest.raises(ValueError, match='whole model'):
        explain_prediction_keras(model, image_doc, layer='base')


# ---- text and signals --------------------------------------------------------------------

TEXT_MODELS = {
    'conv1d': lambda: [layers.Conv1D(6, 3, padding='same', activation='relu', name='conv'),
                       layers.GlobalMaxPooling1D()],
    'lstm': lambda: [layers.LSTM(6, return_sequences=True, name='lstm'),
                     layers.GlobalAveragePooling1D()],
    'bidirectional': lambda: [layers.Bidirectional(layers.LSTM(4, return_sequences=True),
                                                   name='bidi'),
                              layers.GlobalAveragePooling1D()],
}


@pytest.mark.parametrize('name', sorted(TEXT_MODELS))
def test_text_models(name):
    model = keras.Sequential([keras.Input((10,), dtype='int32'),
                              layers.Embedding(20, 8, name='embedding')]
                             + TEXT_MODELS[name]() + [layers.Dense(2, activation='softmax')])
    seeded_weights(model, seed=16)
    ids = np.array([[3, 5, 7, 2, 9, 11, 4, 0, 0, 0]])
    tokens = ['w%d' % i for i in range(7)] + ['<pad>'] * 3
    expl = explain_prediction_keras(model, ids, tokens=tokens, pad_value=0, padding='post',
                                    relu=False)
    assert expl.layer == {'conv1d': 'conv', 'lstm': 'lstm', 'bidirectional': 'bidi'}[name]
    spans = expl.targets[0].weighted_spans.docs_weighted_spans[0]
    assert spans.document == ' '.join(tokens[:7])
    assert len(spans.spans) == 7
    html = eli5.format_as_html(expl)
    assert 'w3' in html


def test_conv1d_signal_model():
    model = seeded_weights(keras.Sequential([
        keras.Input((40, 2)), layers.Conv1D(4, 5, activation='relu', name='c1'),
        layers.Conv1D(4, 5, strides=2, activation='relu', name='c2'),
        layers.GlobalAveragePooling1D(), layers.Dense(3)]), seed=17)
    doc = np.random.default_rng(18).normal(size=(1, 40, 2)).astype('float32')
    expl = explain_prediction_keras(model, doc, relu=False)
    assert expl.layer == 'c2' and expl.image is None
    assert expl.targets[0].heatmap.shape == (16,)


# ---- eli5 entry points -------------------------------------------------------------------

def test_eli5_entry_points(cnn, image_doc):
    expl = eli5.explain_prediction(cnn, image_doc, targets=[1])
    assert expl.error is None and expl.targets[0].target == 1
    assert expl.image is not None
    picture = eli5.format_as_image(expl)
    assert picture.size == (12, 12)
    shown = eli5.show_prediction(cnn, image_doc)
    top = eli5.format_as_image(eli5.explain_prediction(cnn, image_doc))
    assert isinstance(shown, Image.Image) and shown.size == top.size
    np.testing.assert_array_equal(np.asarray(shown), np.asarray(top))
    assert 'conv2' in eli5.format_as_text(expl)


def test_show_prediction_text():
    model = seeded_weights(keras.Sequential([
        keras.Input((6,), dtype='int32'), layers.Embedding(10, 4),
        layers.Conv1D(3, 2, padding='same', name='conv'), layers.GlobalMaxPooling1D(),
        layers.Dense(2, activation='softmax')]), seed=19)
    shown = eli5.show_prediction(model, np.array([[1, 2, 3, 4, 5, 6]]),
                                 tokens=list('abcdef'), relu=False)
    expl = eli5.explain_prediction(model, np.array([[1, 2, 3, 4, 5, 6]]),
                                   tokens=list('abcdef'), relu=False)
    assert shown.data == eli5.format_as_html(expl, force_weights=False,
                                             show=eli5.formatters.fields.WEIGHTS)
    text = ' '.join(re.sub(r'<[^>]+>', ' ', shown.data).split())
    assert 'a b c d e f' in text
    assert shown.data.count('background-color') >= 6          # every token is highlighted


# ---- bad input ---------------------------------------------------------------------------

@pytest.mark.parametrize('doc, error, match', [
    ('a string', TypeError, 'doc'),
    (np.array([['a']]), TypeError, 'doc'),
    (np.zeros((12, 12, 3), 'float32'), ValueError, r'one HWC image without its batch axis'),
    (np.zeros((1, 10, 10, 3), 'float32'), ValueError, 'doc has shape'),
    (np.zeros((1, 3, 12, 12), 'float32'), ValueError, 'channels-first'),
    (np.zeros((2, 12, 12, 3), 'float32'), ValueError, 'one document'),
])
def test_bad_docs(cnn, doc, error, match):
    with pytest.raises(error, match=match):
        explain_prediction_keras(cnn, doc)


def test_bad_arguments(cnn, image_doc):
    with pytest.raises(ValueError, match='targets: index 3 is out of range'):
        explain_prediction_keras(cnn, image_doc, targets=[3])
    with pytest.raises(ValueError, match="layer 'conv9' not found.*conv2, conv1"):
        explain_prediction_keras(cnn, image_doc, layer='conv9')
    with pytest.raises(ValueError, match='layer: index 7'):
        explain_prediction_keras(cnn, image_doc, layer=7)
    with pytest.raises(TypeError, match='layer must be'):
        explain_prediction_keras(cnn, image_doc, layer=1.5)
    with pytest.raises(ValueError, match='not part of the model'):
        explain_prediction_keras(cnn, image_doc, layer=layers.Conv2D(2, 3))
    with pytest.raises(ValueError, match='score'):
        explain_prediction_keras(cnn, image_doc, score='logits')
    with pytest.raises(ValueError, match='method'):
        explain_prediction_keras(cnn, image_doc, method='cam')
    with pytest.raises(ValueError, match='2-D'):
        explain_prediction_keras(cnn, image_doc, layer='pool')
    with pytest.raises(ValueError, match='target_names'):
        explain_prediction_keras(cnn, image_doc, target_names=['a', 'b'])


def test_tokens_length_mismatch():
    model = seeded_weights(keras.Sequential([
        keras.Input((6,), dtype='int32'), layers.Embedding(10, 4),
        layers.Conv1D(3, 2, padding='same', name='conv'), layers.GlobalMaxPooling1D(),
        layers.Dense(2)]), seed=20)
    with pytest.raises(ValueError, match='tokens has 5 tokens but doc has 6'):
        explain_prediction_keras(model, np.array([[1, 2, 3, 4, 5, 6]]), tokens=list('abcde'))


def test_unbuilt_or_empty_model_is_not_supported(image_doc):
    """eli5's convention: a model that cannot be explained gives an Explanation with error."""
    for model in (Subclassed(), keras.Sequential()):
        expl = eli5.explain_prediction(model, image_doc)
        assert expl.targets is None and 'is not supported' in expl.error
    assert 'not built' in eli5.explain_prediction(Subclassed(), image_doc).error
    expl = eli5.explain_prediction(keras.Sequential(), np.zeros((0,)))      # as eli5's suite
    assert 'is not supported' in expl.error
    dense = keras.Sequential([keras.Input((4,)), layers.Dense(2)])
    expl = eli5.explain_prediction(dense, np.zeros((1, 4), 'float32'))
    assert 'is not supported' in expl.error and 'layer=None' in expl.error
    from eli5_gradcam.keras import explain_batch_keras
    with pytest.raises(ValueError, match='not built'):                     # a batch raises
        explain_batch_keras(Subclassed(), image_doc)


def test_target_names(cnn, image_doc):
    expl = explain_prediction_keras(cnn, image_doc, targets=['cat'],
                                    target_names=['dog', 'cat', 'bird'])
    assert expl.targets[0].target == 'cat'
