"""Keras models for the benchmark, random weights (``weights=None``), no downloads."""
from __future__ import annotations

from typing import Any

import keras

__all__ = ['resnet50', 'text_cnn', 'signal_cnn', 'small_cnn']


def resnet50() -> Any:
    """keras.applications.ResNet50 with random weights, 224x224x3 inputs."""
    keras.utils.set_random_seed(0)
    return keras.applications.ResNet50(weights=None, input_shape=(224, 224, 3))


def text_cnn() -> Any:
    """Embedding -> Conv1D -> max over time -> Dense(20), on 400 token ids."""
    keras.utils.set_random_seed(0)
    ids = keras.Input((400,), dtype='int32')
    x = keras.layers.Embedding(20000, 128)(ids)
    x = keras.layers.Conv1D(256, 5, padding='same', activation='relu', name='conv')(x)
    x = keras.layers.GlobalMaxPooling1D()(x)
    return keras.Model(ids, keras.layers.Dense(20, name='logits')(x), name='text_cnn')


def signal_cnn() -> Any:
    """A 1-D CNN over (2000 steps, 12 channels) signals, 5 classes."""
    keras.utils.set_random_seed(0)
    signal = keras.Input((2000, 12))
    x = signal
    for number, filters in enumerate((64, 128, 128)):
        x = keras.layers.Conv1D(filters, 7, padding='same', name=f'conv{number}')(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.Activation('relu', name=f'relu{number}')(x)
        if number < 2:
            x = keras.layers.MaxPooling1D(2)(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(signal, keras.layers.Dense(5, name='logits')(x), name='signal_cnn')


def small_cnn() -> Any:
    """A small image CNN (64x64 RGB, 10 classes) for the quick rows of the methods."""
    keras.utils.set_random_seed(0)
    image = keras.Input((64, 64, 3))
    x = keras.layers.Conv2D(16, 3, padding='same', activation='relu')(image)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Conv2D(32, 3, padding='same', activation='relu', name='conv2')(x)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Conv2D(32, 3, padding='same', activation='relu', name='conv3')(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(image, keras.layers.Dense(10, name='logits')(x), name='small_cnn')
