"""Models and checks shared by the Keras tests."""
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

