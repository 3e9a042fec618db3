"""Models and checks shared by the Keras tests."""
import contextlib

import numpy as np
import keras


def seeded_weights(model, seed=0, scale=0.5):
    """Give ``model`` deterministic weights from a seeded numpy RNG (same on every backend)."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0.0, scale, w.shape).astype('float32')
                       for w in model.get_weights()])
    return model


def small_cnn(classes=3, size=12, softmax=True, name=None):
    """Conv(4) -> Conv(5) -> GAP -> Dense: the tiny image model used across tests."""
    layers = keras.layers
    return keras.Sequential([
        keras.Input((size, size, 3)),
        layers.Conv2D(4, 3, activation='relu', name='conv1'),
        layers.Conv2D(5, 3, activation='relu', name='conv2'),
        layers.GlobalAveragePooling2D(name='pool'),
        layers.Dense(classes, activation='softmax' if softmax else None, name='head'),
    ], name=name)


class Subclassed(keras.Model):
    """:func:`small_cnn` as a subclassed model: unbuilt until first called."""

    def __init__(self):
        super().__init__()
        self.conv1 = keras.layers.Conv2D(4, 3, activation='relu', name='conv1')
        self.conv2 = keras.layers.Conv2D(5, 3, activation='relu', name='conv2')
        self.pool = keras.layers.GlobalAveragePooling2D()
        self.head = keras.layers.Dense(3, activation='softmax', name='head')

    def call(self, inputs):
        return self.head(self.pool(self.conv2(self.conv1(inputs))))


def snapshot(model):
    """Everything about a model that explaining must not change."""
    state = []
    for layer in model._flatten_layers(include_self=True, recursive=True):
        attributes = {k: v for k, v in layer.__dict__.items() if not k.startswith('_tracker')}
        state.append((layer.name, sorted(attributes), layer.trainable,
                      getattr(layer, 'call', None).__func__ if hasattr(
                          getattr(layer, 'call', None), '__func__') else None))
    weights = [np.array(w) for w in model.get_weights()]
    return state, weights


def assert_same_snapshot(before, after):
    assert before[0] == after[0]
    assert len(before[1]) == len(after[1])
    for w0, w1 in zip(before[1], after[1]):
        np.testing.assert_array_equal(w0, w1)



@contextlib.contextmanager
def numpy_random_init(seed=0):
    """Keras' random initializers draw from a seeded numpy RNG while this is entered.

    Builds a model of many weight shapes in a fraction of a second on JAX, where every
    new shape of a random draw is otherwise an XLA compile (seconds for a KerasHub
    backbone); the draws keep each initializer's distribution (mean and stddev, or
    bounds).  Patches ``keras.src.backend.random``, Keras' internal module: where that
    is missing, the initializers are left as they are.
    """
    rng = np.random.default_rng(seed)
    module = getattr(getattr(getattr(keras, 'src', None), 'backend', None), 'random', None)

    def tensor(values, dtype):
        return keras.ops.convert_to_tensor(values.astype('float32'), dtype=dtype)

    def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
        return tensor(rng.normal(mean, stddev, tuple(shape)), dtype)

    def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
        values = np.clip(rng.normal(0.0, 1.0, tuple(shape)), -2.0, 2.0)
        return tensor(mean + stddev * values, dtype)

    def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
        return tensor(rng.uniform(minval, maxval, tuple(shape)), dtype)

    names = ('normal', 'truncated_normal', 'uniform')
    if module is None or not all(hasattr(module, name) for name in names):
        yield
        return
    saved = {name: getattr(module, name) for name in names}
    replacements = {'normal': normal, 'truncated_normal': truncated_normal, 'uniform': uniform}
    try:
        for name in names:
            setattr(module, name, replacements[name])
        yield
    finally:
        for name, function in saved.items():
            setattr(module, name, function)
