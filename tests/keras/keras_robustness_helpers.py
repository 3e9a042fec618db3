"""Tiny models and documents shared by the Keras robustness tests (issue 7):
``test_keras_bad_input``, ``test_keras_supported``, ``test_keras_model_state``
and ``test_keras_repeated_calls``.
"""
from __future__ import annotations

import warnings
from typing import Any, Dict

import eli5
import keras
import numpy as np
from PIL import Image

from eli5_gradcam import FlatHeatmapWarning
from keras_helpers import seeded_weights

layers = keras.layers


def image_model(seed: int = 0) -> Any:
    return seeded_weights(keras.Sequential([
        keras.Input((8, 8, 3)), layers.Conv2D(4, 3, activation='relu', name='conv1'),
        layers.Conv2D(4, 3, name='conv2'), layers.GlobalAveragePooling2D(name='pool'),
        layers.Dense(3, activation='softmax', name='head')]), seed=seed)


def text_model() -> Any:
    return seeded_weights(keras.Sequential([
        keras.Input((4,), dtype='int32'), layers.Embedding(10, 4, name='embedding'),
        layers.Conv1D(5, 2, padding='same', name='conv'), layers.GlobalMaxPooling1D(),
        layers.Dense(2, name='head')]), seed=1)


def two_output_model() -> Any:
    inputs = keras.Input((8, 8, 3))
    features = layers.Conv2D(4, 3, name='conv')(inputs)
    pooled = layers.GlobalAveragePooling2D()(features)
    return seeded_weights(keras.Model(inputs, [layers.Dense(3, name='a')(pooled),
                                               layers.Dense(2, name='b')(pooled)]), seed=2)


MODELS = {'image': image_model, 'text': text_model, 'two': two_output_model}
_CACHE: Dict[str, Any] = {}


def cached_model(name: str) -> Any:
    """One model of each of :data:`MODELS` per process, built on first use."""
    if name not in _CACHE:
        _CACHE[name] = MODELS[name]()
    return _CACHE[name]


IMAGE = np.random.default_rng(3).random((1, 8, 8, 3)).astype('float32')
IDS = np.array([[1, 2, 3, 4]])
TOKENS = list('abcd')
PICTURE = Image.new('RGB', (8, 8))


def quiet_explain(model: Any, doc: Any, **kwargs: Any) -> Any:
    """``eli5.explain_prediction`` without the ``FlatHeatmapWarning`` of tiny random models."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FlatHeatmapWarning)
        return eli5.explain_prediction(model, doc, **kwargs)
