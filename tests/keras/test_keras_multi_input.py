"""Documents of several inputs (a dict keyed by input names, or a list), once per backend.

The independent reference is the same layers (the same weights) in a model
of the image alone, with the tabular features baked in as a constant: its
explanation of the image is the one the two-input model must give.
"""
import numpy as np
import pytest

keras = pytest.importorskip('keras')

import eli5  # noqa: E402
import eli5_gradcam  # noqa: E402,F401
from eli5_gradcam.keras import capture_batch, explain_batch_keras  # noqa: E402
from eli5_gradcam.keras.inputs import KerasInputs  # noqa: E402
from eli5_gradcam.keras.multi_input import keras_inputs  # noqa: E402
from keras_helpers import assert_same_snapshot, seeded_weights, snapshot  # noqa: E402

layers = keras.layers
RNG = np.random.default_rng(11)
IMAGE = RNG.random((1, 8, 8, 3)).astype('float32')
FEATURES = RNG.random((1, 5)).astype('float32')


class Constant(layers.Layer):
    """The tabular features as a constant, one row per image of the batch."""

    def __init__(self, value, **kwargs):
        super().__init__(**kwargs)
        self.value = np.asarray(value, dtype='float32')

    def call(self, images):
        rows = keras.ops.shape(images)[0]
        return keras.ops.broadcast_to(keras.ops.convert_to_tensor(self.value),
                                      (rows, self.value.shape[-1]))


class MaskPositions(layers.Layer):
    """Zero the sequence positions where the mask is 0."""

    def call(self, hidden, mask):
        return hidden * keras.ops.expand_dims(keras.ops.cast(mask, hidden.dtype), -1)


def image_and_features():
    """``(two-input model, single-input model with FEATURES baked in)``, sharing layers."""
    conv = layers.Conv2D(4, 3, activation='relu', name='conv')
    pool = layers.GlobalAveragePooling2D(name='pool')
    tabular = layers.Dense(4, name='tabular')
    head = layers.Dense(3, activation='softmax', name='head')
    image = keras.Input((8, 8, 3), name='image')
    features = keras.Input((5,), name='features')
    both = keras.Model([image, features],
                       head(layers.Add()([pool(conv(image)), tabular(features)])))
    seeded_weights(both, seed=3)
    alone = keras.Input((8, 8, 3), name='image')
    baked = tabular(Constant(FEATURES)(alone))
    return both, keras.Model(alone, head(layers.Add()([pool(conv(alone)), baked])))


@pytest.fixture(scope='module')
def models():
    return image_and_features()


def heatmaps(expl):
    return np.stack([target.heatmap for target in expl.targets])


@pytest.mark.parametrize('doc, input_key', [
    ({'image': IMAGE, 'features': FEATURES}, None),
    ({'features': FEATURES, 'image': IMAGE}, None),        # the model's first input
    ({'features': FEATURES, 'image': IMAGE}, 'image'),
    ([IMAGE, FEATURES], None),
    ([IMAGE, FEATURES], 'image'),
    ({'image': IMAGE, 'features': FEATURES}, 0),
])
def test_image_of_two_inputs_equals_the_image_alone(models, doc, input_key):
    both, alone = models
    expl = eli5.explain_prediction(both, doc, input_key=input_key, targets=[0, 1, 2],
                                   relu=False)
    reference = eli5.explain_prediction(alone, IMAGE, targets=[0, 1, 2], relu=False)
    assert expl.layer == 'conv' and expl.image is not None and expl.image.size == (8, 8)
    np.testing.assert_allclose(heatmaps(expl), heatmaps(reference), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose([t.proba for t in expl.targets],
                               [t.proba for t in reference.targets], rtol=1e-5)


@pytest.mark.parametrize('method', ['scorecam', 'ablationcam', 'eigencam', 'guided-gradcam'])
def test_other_methods_of_two_inputs_equal_the_image_alone(models, method):
    both, alone = models
    expl = eli5.explain_prediction(both, [IMAGE, FEATURES], method=method, relu=False,
                                   targets=[0])
    reference = eli5.explain_prediction(alone, IMAGE, method=method, relu=False, targets=[0])
    assert np.abs(heatmaps(reference)).max() > 0.5
    np.testing.assert_allclose(heatmaps(expl), heatmaps(reference), rtol=1e-5, atol=1e-5)


def test_smooth_aug_flips_the_image_and_keeps_the_other_inputs(models):
    both, alone = models
    images = RNG.random((2, 8, 8, 3)).astype('float32')
    features = np.repeat(FEATURES, 2, axis=0)
    for docs, alone_docs in (([images[:1], FEATURES], images[:1]),
                             ({'image': images, 'features': features}, images)):
        given = explain_batch_keras(both, docs, smooth='aug', relu=False, top_targets=1)
        reference = explain_batch_keras(alone, alone_docs, smooth='aug', relu=False,
                                        top_targets=1)
        for expl, ref in zip(given, reference):
            assert expl.targets[0].target == ref.targets[0].target
            assert np.abs(heatmaps(ref)).max() > 0.5
            np.testing.assert_allclose(heatmaps(expl), heatmaps(ref), rtol=1e-5, atol=1e-5)


def test_metrics_perturb_the_image_and_keep_the_other_inputs(models):
    from eli5_gradcam import metrics
    both, alone = models
    heatmap = metrics.random_map((8, 8), seed=2)
    images = RNG.random((2, 8, 8, 3)).astype('float32')
    runs = [(lambda m, d: metrics.deletion(m, d, heatmap, target=1, steps=8).scores, IMAGE),
            (lambda m, d: metrics.confidence_change(m, d, [heatmap, 1 - heatmap],
                                                    target=[1, 0]).masked, images)]
    for run, image in runs:
        features = np.repeat(FEATURES, len(image), axis=0)
        given = run(both, {'image': image, 'features': features})
        np.testing.assert_allclose(given, run(alone, image), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(run(both, [image, features]), given, rtol=1e-6)


def test_a_batch_of_two_inputs_equals_each_document_alone(models):
    both, _ = models
    images = RNG.random((3, 8, 8, 3)).astype('float32')
    features = RNG.random((3, 5)).astype('float32')
    batch = explain_batch_keras(both, {'image': images, 'features': features}, relu=False)
    for item, expl in enumerate(batch):
        one = eli5.explain_prediction(both, [images[item:item + 1], features[item:item + 1]],
                                      relu=False)
        np.testing.assert_allclose(heatmaps(expl), heatmaps(one), rtol=1e-5, atol=1e-6)


def test_input_key_picks_which_image_is_explained():
    left, right = keras.Input((8, 8, 3), name='left'), keras.Input((6, 6, 3), name='right')
    pooled = [layers.GlobalAveragePooling2D()(layers.Conv2D(2, 3, name=f'conv_{side}')(x))
              for side, x in (('left', left), ('right', right))]
    model = seeded_weights(keras.Model([left, right], layers.Dense(2)(layers.Add()(pooled))))
    doc = {'left': IMAGE, 'right': IMAGE[:, :6, :6]}
    assert eli5.explain_prediction(model, doc, layer='conv_left').image.size == (8, 8)
    for key in ('right', 1):
        expl = eli5.explain_prediction(model, doc, layer='conv_right', input_key=key)
        assert expl.image.size == (6, 6) and expl.targets[0].heatmap.shape == (4, 4)


def tokens_and_mask():
    ids = keras.Input((6,), dtype='int32', name='input_ids')
    mask = keras.Input((6,), dtype='int32', name='attention_mask')
    hidden = layers.Conv1D(4, 3, padding='same', activation='relu', name='conv')(
        layers.Embedding(20, 6)(ids))
    pooled = layers.GlobalAveragePooling1D()(MaskPositions(name='masked')(hidden, mask))
    return seeded_weights(keras.Model([ids, mask], layers.Dense(2)(pooled)), seed=4)


IDS = np.array([[3, 5, 7, 9, 0, 0]])
MASK = np.array([[1, 1, 1, 1, 0, 0]])
TOKENS = ['the', 'film', 'was', 'good', '[PAD]', '[PAD]']


def test_attention_mask_drops_padding_as_pad_value_does():
    model = tokens_and_mask()
    by_mask = eli5.explain_prediction(model, {'input_ids': IDS, 'attention_mask': MASK},
                                      tokens=TOKENS, relu=False)
    by_value = eli5.explain_prediction(model, [IDS, MASK], tokens=TOKENS, pad_value=0,
                                       relu=False)
    spans = by_mask.targets[0].weighted_spans.docs_weighted_spans[0]
    assert spans.document == 'the film was good' and len(spans.spans) == 4
    assert by_mask.layer == 'masked'
    np.testing.assert_allclose(heatmaps(by_mask), heatmaps(by_value), rtol=1e-5, atol=1e-7)
    assert [w for *_, w in spans.spans] == pytest.approx(
        [w for *_, w in by_value.targets[0].weighted_spans.docs_weighted_spans[0].spans])


def test_keras_hub_padding_mask_drops_padding_as_attention_mask_does():
    """KerasHub's text backbones take ``token_ids`` and a ``padding_mask`` (False at
    padding): the mask marks the padding whether or not the model takes it."""
    ids = keras.Input((6,), dtype='int32', name='token_ids')
    mask = keras.Input((6,), dtype='bool', name='padding_mask')
    hidden = layers.Conv1D(4, 3, padding='same', activation='relu', name='conv')(
        layers.Embedding(20, 6)(ids))
    pooled = layers.GlobalAveragePooling1D()(MaskPositions(name='masked')(
        hidden, keras.ops.cast(mask, 'int32')))
    model = seeded_weights(keras.Model({'token_ids': ids, 'padding_mask': mask},
                                       layers.Dense(2)(pooled)), seed=4)
    inputs = keras_inputs(model, {'padding_mask': MASK.astype(bool), 'token_ids': IDS})
    assert inputs.names[inputs.key] == 'token_ids'
    np.testing.assert_array_equal(inputs.padding(), MASK == 0)
    expected = eli5.explain_prediction(tokens_and_mask(), {'input_ids': IDS,
                                                           'attention_mask': MASK},
                                       tokens=TOKENS, relu=False)
    expl = eli5.explain_prediction(model, {'token_ids': IDS, 'padding_mask': MASK.astype(bool)},
                                   tokens=TOKENS, relu=False)
    assert expl.targets[0].weighted_spans.docs_weighted_spans[0].document == 'the film was good'
    np.testing.assert_allclose(heatmaps(expl), heatmaps(expected), rtol=1e-5, atol=1e-7)
    alone = keras.Model(ids, layers.Dense(2)(layers.GlobalAveragePooling1D()(hidden)))
    padding = keras_inputs(alone, {'token_ids': IDS, 'padding_mask': MASK}).padding()
    np.testing.assert_array_equal(padding, MASK == 0)


def test_token_ids_stay_integer_and_offsets_are_not_passed():
    model = tokens_and_mask()
    offsets = np.array([[[0, 3], [4, 8], [9, 12], [13, 17], [0, 0], [0, 0]]])
    doc = {'input_ids': IDS.astype('int64'), 'attention_mask': MASK.astype(float),
           'offset_mapping': offsets}
    inputs = keras_inputs(model, doc)
    assert isinstance(inputs, KerasInputs) and inputs.names == ('input_ids', 'attention_mask')
    assert [a.dtype for a in inputs.arrays] == [np.int32, np.int32]
    expl = eli5.explain_prediction(model, doc, text='the film was good', relu=False)
    assert expl.targets[0].weighted_spans.docs_weighted_spans[0].document == 'the film was good'


def test_mapping_with_one_input_is_the_single_input_path():
    model = keras.Sequential([keras.Input((6,), dtype='int32', name='input_ids'),
                              layers.Embedding(20, 6), layers.Conv1D(4, 3, name='conv'),
                              layers.GlobalAveragePooling1D(), layers.Dense(2)])
    assert isinstance(keras_inputs(model, {'input_ids': IDS}), np.ndarray)
    with_mask = eli5.explain_prediction(model, {'input_ids': IDS, 'attention_mask': MASK},
                                        tokens=TOKENS, layer='conv', relu=False)
    assert with_mask.targets[0].weighted_spans.docs_weighted_spans[0].document == (
        'the film was good')


class Subclassed(keras.Model):
    """The two-input model's layers, called with a list: no declared inputs."""

    def __init__(self, functional, **kwargs):
        super().__init__(**kwargs)
        self.conv, self.pool = functional.get_layer('conv'), functional.get_layer('pool')
        self.tabular, self.head = functional.get_layer('tabular'), functional.get_layer('head')

    def call(self, inputs):
        image, features = inputs
        return self.head(self.pool(self.conv(image)) + self.tabular(features))


def test_subclassed_model_takes_the_list_as_given(models):
    both, _ = models
    model = Subclassed(both)
    model([IMAGE, FEATURES])
    expl = eli5.explain_prediction(model, [IMAGE, FEATURES], layer='conv', relu=False)
    reference = eli5.explain_prediction(both, [IMAGE, FEATURES], relu=False)
    np.testing.assert_allclose(heatmaps(expl), heatmaps(reference), rtol=1e-5, atol=1e-6)
    capture = capture_batch(model, [IMAGE, FEATURES], layer='conv', input_key=0)
    assert capture.activations.shape == (1, 6, 6, 4)


@pytest.mark.parametrize('doc, options, error, match', [
    ({'image': IMAGE, 'pixels': FEATURES}, {}, ValueError,
     r"\['pixels'\] is not an input of the model; its inputs are \['image', 'features'\]"),
    ({'image': IMAGE}, {}, ValueError, r"lacks \['features'\]"),
    ({'image': IMAGE, 'features': RNG.random((2, 5))}, {}, ValueError,
     r"same batch size; got \{'image': 1, 'features': 2\}"),
    ({'image': IMAGE, 'features': 'tall'}, {}, TypeError,
     r"doc\['features'\] must be a numpy array .* got str"),
    ([IMAGE, FEATURES[:, :4]], {}, ValueError, r"doc\[1\]: doc has shape \(1, 4\)"),
    ([IMAGE], {}, ValueError, r"takes 2 inputs \['image', 'features'\]; got a list of 1"),
    (IMAGE, {}, ValueError, r"takes 2 inputs \['image', 'features'\]: pass a list"),
    ([IMAGE, FEATURES], {'input_key': 'pixels'}, ValueError,
     r"input_key='pixels' is not one of the inputs of doc \(\['image', 'features'\]\)"),
    ({'image': IMAGE, 'features': FEATURES}, {'input_key': 2}, ValueError,
     r'input_key=2 is not one of the inputs'),
])
def test_bad_documents_are_named_and_the_model_untouched(models, doc, options, error, match):
    both, _ = models
    before = snapshot(both)
    trainable = [layer.trainable for layer in both.layers]
    with pytest.raises(error, match=match):
        eli5.explain_prediction(both, doc, **options)
    assert_same_snapshot(before, snapshot(both))
    assert [layer.trainable for layer in both.layers] == trainable


def test_explaining_several_inputs_leaves_the_model_as_it_was(models):
    both, _ = models
    before = snapshot(both)
    for method in ('gradcam', 'scorecam', 'ablationcam', 'guided-backprop'):
        eli5.explain_prediction(both, {'image': IMAGE, 'features': FEATURES}, method=method)
    assert_same_snapshot(before, snapshot(both))


def test_single_input_key_on_a_single_input_is_refused():
    model = keras.Sequential([keras.Input((8, 8, 3)), layers.Conv2D(2, 3),
                              layers.GlobalAveragePooling2D(), layers.Dense(2)])
    with pytest.raises(ValueError, match='doc is a single input'):
        eli5.explain_prediction(model, IMAGE, input_key='image')
