"""What the Keras adapter must explain: run once per backend, each in its own process.

Regression, sigmoid and multi-output models; every method with its flags;
layers by index, object, name and path through nested models; text models
(Conv1D, LSTM, bidirectional) and 1-D signals; eli5's entry points
(``explain_prediction``, ``show_prediction``, the formatters); target names; and
edge-case inputs that must give a result, not an error (float64 docs, integral
float token ids, a constant image, a dead layer: issue 7).
"""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from PIL import Image

keras = pytest.importorskip('keras')

import eli5  # noqa: E402

from eli5_gradcam.keras import explain_prediction_keras  # noqa: E402
from eli5_gradcam.nn import FlatHeatmapWarning  # noqa: E402
from keras_helpers import seeded_weights  # noqa: E402
from keras_robustness_helpers import (IDS, IMAGE, TOKENS, cached_model,  # noqa: E402
                                      quiet_explain)

layers = keras.layers


# ---- models and arguments ------------------------------------------------------------------

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


def test_target_names(cnn, image_doc):
    expl = explain_prediction_keras(cnn, image_doc, targets=['cat'],
                                    target_names=['dog', 'cat', 'bird'])
    assert expl.targets[0].target == 'cat'


# ---- inputs that must work -----------------------------------------------------------------

def test_float64_docs_and_integral_float_ids_work() -> None:
    model = cached_model('image')
    reference = quiet_explain(model, IMAGE, relu=False, targets=[0, 2])
    for doc in (IMAGE.astype('float64'), IMAGE.tolist()):
        expl = quiet_explain(model, doc, relu=False, targets=[0, 2])
        for got, want in zip(expl.targets, reference.targets):
            np.testing.assert_allclose(got.heatmap, want.heatmap, atol=1e-5)
    ids = quiet_explain(cached_model('text'), IDS, tokens=TOKENS, relu=False)
    floats = quiet_explain(cached_model('text'), IDS.astype('float32'), tokens=TOKENS, relu=False)
    np.testing.assert_allclose(floats.targets[0].heatmap, ids.targets[0].heatmap, atol=1e-6)


def test_constant_image_and_dead_layer_give_results() -> None:
    constant = quiet_explain(cached_model('image'), np.full((1, 8, 8, 3), 0.5, 'float32'))
    assert np.isfinite(constant.targets[0].heatmap).all()
    dead = keras.Sequential([keras.Input((8, 8, 3)), layers.Conv2D(2, 3, name='conv'),
                             layers.GlobalAveragePooling2D(),
                             layers.Dense(2, kernel_initializer='zeros')])
    with pytest.warns(FlatHeatmapWarning):
        expl = eli5.explain_prediction(dead, IMAGE, targets=[0, 1])
    for target in expl.targets:
        assert np.array_equal(target.heatmap, np.zeros((6, 6)))
