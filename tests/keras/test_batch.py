"""explain_predictions on Keras models: batches equal single explanations."""
import numpy as np
import pytest

keras = pytest.importorskip('keras')

import eli5  # noqa: E402

import eli5_gradcam  # noqa: E402


def _cnn():
    keras.utils.set_random_seed(0)
    return keras.Sequential([
        keras.Input((10, 10, 3)),
        keras.layers.Conv2D(6, 3, padding='same', activation='relu'),
        keras.layers.Conv2D(8, 3, padding='same', activation='relu', name='last_conv'),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(4, activation='softmax')])


def _docs(count=5):
    return np.random.default_rng(1).random((count, 10, 10, 3)).astype('float32')


def _assert_same(batch, singles):
    assert len(batch) == len(singles)
    for one, other in zip(batch, singles):
        assert [t.target for t in one.targets] == [t.target for t in other.targets]
        for a, b in zip(one.targets, other.targets):
            np.testing.assert_allclose(a.heatmap, b.heatmap, atol=1e-5)
            assert a.proba == pytest.approx(b.proba, abs=1e-5)


@pytest.mark.parametrize('kwargs', [{}, dict(top_targets=2), dict(targets=[3, 1], relu=False)])
def test_batches_equal_single_explanations(kwargs):
    model, docs = _cnn(), _docs()
    batch = list(eli5_gradcam.explain_predictions(model, docs, batch_size=2, progress=False,
                                                  **kwargs))
    singles = [eli5.explain_prediction(model, docs[i:i + 1], **kwargs) for i in range(5)]
    _assert_same(batch, singles)
    assert batch[0].image is not None and batch[0].layer == 'last_conv'


def test_lists_and_datasets():
    model, docs = _cnn(), _docs(4)
    reference = list(eli5_gradcam.explain_predictions(model, docs, progress=False))
    _assert_same(list(eli5_gradcam.explain_predictions(model, list(docs), batch_size=3,
                                                       progress=False)), reference)
    if keras.backend.backend() == 'tensorflow':
        import tensorflow as tf
        dataset = tf.data.Dataset.from_tensor_slices((docs, np.zeros(4)))
        _assert_same(list(eli5_gradcam.explain_predictions(model, dataset, batch_size=3,
                                                           progress=False)), reference)
        _assert_same(list(eli5_gradcam.explain_predictions(model, dataset.batch(2),
                                                           progress=False)), reference)


def test_batch_of_more_than_one_in_explain_prediction_points_to_batch_api():
    with pytest.raises(ValueError, match='explain_predictions'):
        eli5.explain_prediction(_cnn(), _docs(2))


def _named_cnn():
    keras.utils.set_random_seed(0)
    images = keras.Input((10, 10, 3), name='images')
    hidden = keras.layers.Conv2D(6, 3, padding='same', activation='relu', name='conv')(images)
    pooled = keras.layers.GlobalAveragePooling2D()(hidden)
    return keras.Model(images, keras.layers.Dense(4, activation='softmax')(pooled))


@pytest.mark.parametrize('docs', [lambda d: {'images': d},
                                  lambda d: [{'images': image[None]} for image in d]],
                         ids=['mapping', 'list-of-mappings'])
def test_mapping_documents_keyed_by_input_names(docs):
    """Batches of mappings (what a collator yields) keyed by the model's input
    names explain as the plain arrays do."""
    model, arrays = _named_cnn(), _docs(3)
    reference = list(eli5_gradcam.explain_predictions(model, arrays, progress=False))
    _assert_same(list(eli5_gradcam.explain_predictions(model, docs(arrays), batch_size=2,
                                                       progress=False)), reference)
    with pytest.raises(ValueError, match='not an input of the model'):
        list(eli5_gradcam.explain_predictions(model, {'pixels': arrays}, progress=False))
