"""Errors a new user meets first (issue 18), on every Keras backend: what is wrong, what to do."""
from __future__ import annotations

import re

import numpy as np
import pytest

keras = pytest.importorskip('keras')

from PIL import Image  # noqa: E402

import eli5  # noqa: E402
import eli5_gradcam  # noqa: E402,F401
from keras_helpers import seeded_weights  # noqa: E402

HWC = np.random.default_rng(4).random((12, 12, 3)).astype('float32')


def test_a_forgotten_batch_axis_says_doc_none(cnn) -> None:
    with pytest.raises(ValueError) as info:
        eli5.explain_prediction(cnn, HWC)
    message = str(info.value)
    assert 'one HWC image without its batch axis' in message and 'doc[None]' in message
    assert eli5.explain_prediction(cnn, HWC[None]).targets        # the advice works


def test_a_chw_image_says_moveaxis(cnn) -> None:
    with pytest.raises(ValueError) as info:
        eli5.explain_prediction(cnn, np.moveaxis(HWC, -1, 0))
    message = str(info.value)
    assert 'one CHW image' in message and 'Keras models take NHWC' in message
    assert 'np.moveaxis(doc, 0, -1)[None]' in message


def test_a_pil_image_as_doc_says_how_to_convert(cnn) -> None:
    with pytest.raises(TypeError) as info:
        eli5.explain_prediction(cnn, Image.new('RGB', (12, 12)))
    message = str(info.value)
    assert message.startswith('doc is a PIL image')
    assert 'np.asarray(img, dtype="float32")[None]' in message
    assert 'image_array_from_path' in message and 'image=img' in message


def test_image_of_another_shape_than_the_doc_is_an_error(cnn) -> None:
    with pytest.raises(ValueError, match=re.escape('image is 24x12 pixels but doc is 12x12')):
        eli5.explain_prediction(cnn, HWC[None], image=Image.new('RGB', (24, 12)))
    enlarged = eli5.explain_prediction(cnn, HWC[None], image=Image.new('RGB', (36, 36)))
    assert enlarged.image.size == (36, 36)          # a scaled copy is drawn on


def _text_model(vocabulary: int = 20) -> object:
    layers = keras.layers
    model = keras.Sequential([
        keras.Input((6,), dtype='int32'),
        layers.Embedding(vocabulary, 4, name='words'),
        layers.Conv1D(5, 3, padding='same', activation='relu', name='conv'),
        layers.GlobalMaxPooling1D(), layers.Dense(2, name='head')])
    return seeded_weights(model, seed=3)


@pytest.mark.parametrize('bad', [20, 57, -2])
def test_token_ids_outside_the_vocabulary_are_a_named_error(bad) -> None:
    """JAX clamps an out-of-range index silently, TensorFlow and torch fail deep inside:
    every backend now gives the same named error before the model runs."""
    model = _text_model()
    ids = np.array([[1, 2, 3, 4, 5, 6]])
    tokens = list('abcdef')
    assert eli5.explain_prediction(model, ids, tokens=tokens).targets
    ids[0, 2] = bad
    with pytest.raises(ValueError, match=re.escape(
            f"doc: token id {bad} is outside the vocabulary of the embedding 'words', "
            'which has 20 ids (0 to 19)')):
        eli5.explain_prediction(model, ids, tokens=tokens)


def test_an_embedding_not_fed_by_the_doc_is_not_checked() -> None:
    layers = keras.layers
    ids = keras.Input((4,), dtype='int32')
    words = layers.Embedding(50, 4, name='words')(ids)
    positions = layers.Embedding(4, 4, name='positions')(keras.ops.arange(4))
    hidden = layers.Conv1D(3, 3, padding='same', name='conv')(words + positions)
    model = seeded_weights(keras.Model(ids, layers.Dense(2)(
        layers.GlobalMaxPooling1D()(hidden))), seed=2)
    assert eli5.explain_prediction(model, np.array([[40, 41, 42, 43]]),
                                   tokens=list('abcd')).targets
    with pytest.raises(ValueError, match="outside the vocabulary of the embedding 'words'"):
        eli5.explain_prediction(model, np.array([[40, 41, 50, 43]]), tokens=list('abcd'))


def test_an_unbatched_image_of_another_size_gets_both_facts(cnn) -> None:
    with pytest.raises(ValueError) as info:
        eli5.explain_prediction(cnn, np.zeros((20, 20, 3), 'float32'))
    message = str(info.value)
    assert 'doc has shape (20, 20, 3) but the model expects input of shape (None, 12, 12, 3)' \
        in message
    assert 'without its batch axis: pass doc[None]' in message
