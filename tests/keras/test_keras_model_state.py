"""The Keras model is left as it was, whatever happens (issue 7).

Run once per backend, each in its own process.

* on a fixed model: weights, ``trainable`` flags and layers' ``call`` after
  success and after an exception raised inside the model; a ``call`` the user
  patched on a layer is put back;
* as hypothesis properties over random small models (frozen layers, batch
  norm, dropout): each layer's ``__dict__`` (by identity), ``trainable`` and the
  weights after success, a bad argument and a ``BaseException`` raised inside
  the model mid-call.
"""
from __future__ import annotations

from typing import Any, Dict, List

import numpy as np
import pytest

keras = pytest.importorskip('keras')

import eli5  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from eli5_gradcam.keras import explain_prediction_keras  # noqa: E402
from keras_helpers import assert_same_snapshot, seeded_weights, snapshot  # noqa: E402
from keras_robustness_helpers import quiet_explain  # noqa: E402

layers = keras.layers


# ---- a fixed model -------------------------------------------------------------------------

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


# ---- layer-state invariants (hypothesis) ---------------------------------------------------

class Interrupt(BaseException):
    """Like ``KeyboardInterrupt``: not an ``Exception``."""


class Tripwire(layers.Layer):
    """An identity layer that raises :class:`Interrupt` on its ``armed``-th call."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.calls = [0]
        self.armed = [0]

    def call(self, inputs: Any) -> Any:
        self.calls[0] += 1
        if self.calls[0] == self.armed[0]:
            raise Interrupt('interrupted mid-explanation')
        return inputs


def layer_state(model: Any) -> List[Any]:
    """Each layer's ``__dict__`` (keys, and values by identity), ``trainable`` and weights."""
    state = []
    for layer in model._flatten_layers(include_self=True, recursive=True):
        attributes = sorted((key, id(value)) for key, value in layer.__dict__.items()
                            if not key.startswith('_tracker'))
        state.append((layer.name, attributes, layer.trainable, 'call' in layer.__dict__))
    return state


def assert_same(model: Any, before: List[Any], weights: List[np.ndarray]) -> None:
    assert layer_state(model) == before
    after = model.get_weights()
    assert len(after) == len(weights)
    for old, new in zip(weights, after):
        np.testing.assert_array_equal(old, new)


@st.composite
def random_models(draw: Any) -> Dict[str, Any]:
    """A random small model's recipe; :func:`build` makes it outside the strategy, since
    building Keras layers draws on the ``random`` module (hypothesis warns about that)."""
    depth = draw(st.integers(1, 2))
    classes = draw(st.integers(2, 3))
    names = [f'conv{index}' for index in range(depth)]
    convs = [(draw(st.integers(1, 4)), draw(st.booleans())) for _ in names]
    activation = draw(st.sampled_from([None, 'softmax']))
    seed = draw(st.integers(0, 100))
    frozen = [draw(st.booleans()) for _ in range(depth * 2 + 4)]
    options: Dict[str, Any] = ({'top_targets': draw(st.integers(1, classes))}
                               if draw(st.booleans()) else
                               {'targets': [draw(st.integers(0, classes - 1))]})
    return dict(recipe=(classes, names, convs, activation, seed, frozen),
                layer=draw(st.sampled_from([None] + names)), options=options,
                relu=draw(st.booleans()))


def build(drawn: Dict[str, Any]) -> Dict[str, Any]:
    """The model and its tripwire, from a :func:`random_models` recipe."""
    classes, names, convs, activation, seed, frozen = drawn['recipe']
    stack: List[Any] = [keras.Input((6, 6, 3))]
    for index, (name, (filters, batch_norm)) in enumerate(zip(names, convs)):
        stack.append(layers.Conv2D(filters, 3, padding='same', activation='relu', name=name))
        if batch_norm:
            stack.append(layers.BatchNormalization(name=f'bn{index}'))
    tripwire = Tripwire(name='tripwire')
    stack += [tripwire, layers.Dropout(0.5), layers.GlobalAveragePooling2D(),
              layers.Dense(classes, activation=activation)]
    model = seeded_weights(keras.Sequential(stack), seed=seed)
    for layer, freeze in zip(model.layers, frozen):
        if freeze:
            layer.trainable = False
    return dict(drawn, model=model, tripwire=tripwire)


keras_settings = settings(max_examples=6, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
DOC = np.random.default_rng(5).random((1, 6, 6, 3)).astype('float32')


@keras_settings
@given(random_models())
def test_layer_state_unchanged_after_success_and_bad_argument(drawn: Dict[str, Any]) -> None:
    drawn = build(drawn)
    model = drawn['model']
    model(DOC)                                  # the user's own call builds what Keras caches
    before, weights = layer_state(model), model.get_weights()
    expl = quiet_explain(model, DOC, layer=drawn['layer'], relu=drawn['relu'],
                         **drawn['options'])
    assert all(np.isfinite(t.heatmap).all() for t in expl.targets)
    assert_same(model, before, weights)
    with pytest.raises(ValueError, match='targets'):
        eli5.explain_prediction(model, DOC, targets=[99])
    assert_same(model, before, weights)


@keras_settings
@given(random_models(), st.integers(1, 2))
def test_layer_state_unchanged_after_an_interrupt_mid_call(drawn: Dict[str, Any],
                                                           on_call: int) -> None:
    """The model raises a ``BaseException`` in the adapter's first pass (the probe) or its
    second (the differentiated pass); it goes through and the layers are as before."""
    drawn = build(drawn)
    model = drawn['model']
    model(DOC)
    tripwire = drawn['tripwire']
    before, weights = layer_state(model), model.get_weights()
    tripwire.calls[0] = 0
    tripwire.armed[0] = on_call
    try:
        with pytest.raises(Interrupt):
            quiet_explain(model, DOC, layer=drawn['layer'], **drawn['options'])
    finally:
        tripwire.armed[0] = 0
    assert_same(model, before, weights)
    quiet_explain(model, DOC, layer=drawn['layer'], **drawn['options'])   # still works
    assert_same(model, before, weights)
