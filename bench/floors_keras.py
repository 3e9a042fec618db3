"""The Keras floors, in plain framework code: a compiled forward, and a compiled
forward plus the gradient of the target scores with respect to the layer.

The model is split at the layer into ``base`` (input -> layer) and ``head``
(layer -> output), two Functional models sharing the model's weights; the
floor runs ``base``, then ``head`` under differentiation with respect to its
input.  Compiled with ``tf.function`` (TensorFlow) or ``jax.jit`` (JAX).
"""
from __future__ import annotations

from typing import Any, Callable

import keras
import numpy as np

__all__ = ['forward', 'forward_and_gradient', 'forward_and_input_gradient']


def _split(model: Any, layer_name: str) -> Any:
    layer = model.get_layer(layer_name)
    base = keras.Model(model.inputs, layer.output)
    head = keras.Model(layer.output, model.output)
    return base, head


def forward(model: Any) -> Callable[[np.ndarray], Any]:
    """A compiled inference forward pass."""
    if keras.backend.backend() == 'tensorflow':
        import tensorflow as tf
        step = tf.function(lambda x: model(x, training=False))
        return lambda x: step(x).numpy()
    import jax
    trainable = [v.value for v in model.trainable_variables]
    fixed = [v.value for v in model.non_trainable_variables]
    run = jax.jit(lambda t, n, x: model.stateless_call(t, n, x)[0])
    return lambda x: np.asarray(run(trainable, fixed, x))


def forward_and_gradient(model: Any, layer_name: str) -> Callable[[np.ndarray, np.ndarray],
                                                                   Any]:
    """Compiled: activations at the layer and the gradient of
    ``sum_i scores[i, targets[i]]`` with respect to them, for a batch."""
    base, head = _split(model, layer_name)
    if keras.backend.backend() == 'tensorflow':
        import tensorflow as tf

        @tf.function
        def step(x: Any, targets: Any) -> Any:
            activations = base(x, training=False)
            with tf.GradientTape() as tape:
                tape.watch(activations)
                scores = head(activations, training=False)
                picked = tf.gather(scores, targets, axis=1, batch_dims=1)
            return activations, tape.gradient(picked, activations)
        return lambda x, t: [v.numpy() for v in step(x, t)]
    import jax
    import jax.numpy as jnp
    base_t = [v.value for v in base.trainable_variables]
    base_n = [v.value for v in base.non_trainable_variables]
    head_t = [v.value for v in head.trainable_variables]
    head_n = [v.value for v in head.non_trainable_variables]

    def run(bt: Any, bn: Any, ht: Any, hn: Any, x: Any, targets: Any) -> Any:
        activations = base.stateless_call(bt, bn, x)[0]

        def picked(a: Any) -> Any:
            scores = head.stateless_call(ht, hn, a)[0]
            return jnp.take_along_axis(scores, targets[:, None], axis=1).sum()
        return activations, jax.grad(picked)(activations)
    compiled = jax.jit(run)
    return lambda x, t: [np.asarray(v) for v in compiled(base_t, base_n, head_t, head_n,
                                                          x, t)]


def forward_and_input_gradient(model: Any) -> Callable[[np.ndarray, np.ndarray], Any]:
    """Compiled: the gradient of ``sum_i scores[i, targets[i]]`` with respect to the
    input (Guided Grad-CAM's floor: a forward pass and a full backward pass)."""
    if keras.backend.backend() == 'tensorflow':
        import tensorflow as tf

        @tf.function
        def step(x: Any, targets: Any) -> Any:
            with tf.GradientTape() as tape:
                tape.watch(x)
                scores = model(x, training=False)
                picked = tf.gather(scores, targets, axis=1, batch_dims=1)
            return tape.gradient(picked, x)
        return lambda x, t: step(tf.constant(x), t).numpy()
    import jax
    import jax.numpy as jnp
    trainable = [v.value for v in model.trainable_variables]
    fixed = [v.value for v in model.non_trainable_variables]

    def picked(x: Any, t: Any, n: Any, targets: Any) -> Any:
        scores = model.stateless_call(t, n, x)[0]
        return jnp.take_along_axis(scores, targets[:, None], axis=1).sum()
    compiled = jax.jit(jax.grad(picked))
    return lambda x, t: np.asarray(compiled(x, trainable, fixed, t))
