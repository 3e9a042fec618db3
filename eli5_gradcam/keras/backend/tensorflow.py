"""TensorFlow backend (Keras 3 on TensorFlow, and tf_keras): ``tf.function``.

The forward pass and the gradients of all targets are one ``tf.function``,
traced once per (model, layer, input signature, score mode, targets) and
kept in :mod:`~eli5_gradcam.keras.cache`.  A zero tensor added to the layer's
output is what the tape differentiates.  The layer's hook only runs while
tracing: the traced graph is reused and the model is not patched at call time.

Several layers get one zero tensor each.  A guided plan also watches the
input; its ReLU layers' outputs go through a ``tf.custom_gradient`` identity
whose gradient function reads the :class:`~eli5_gradcam.keras.guided.GuidedSwitch`
when the tape builds the backward pass: off for the layers' gradients, on
for the input's, from the same forward pass.
"""
from __future__ import annotations

import contextlib
import logging
import weakref
from typing import Any, Callable, Iterator, List, Sequence, Tuple

import numpy as np
import tensorflow as tf

from ..cache import cached
from ..forward import BackendOps, Probe, StepPlan, StepResult, Tap, step_key
from ..guided import GuidedSwitch, guided_hooks
from ..inputs import Docs, Slot, batch_size, model_input, slot, take
from ...nn.targets import TargetRequest
from ..patching import call_model, wrapped_calls
from ...nn.errors import model_boundary

__all__ = ['probe', 'run', 'guided_identity', 'compile_pass', 'PADS', 'predict']

#: The tensor operations the shared score code needs.
OPS = BackendOps(tf.reshape, lambda parts: tf.concat(parts, 1),
                 lambda tensor: tf.cast(tensor, tf.float32))



def probe(model: Any, docs: Docs, recorder: Probe) -> None:
    """Trace (without running) the model on ``docs``' signature, recording shapes."""
    def forward(inputs: Any) -> Any:
        with wrapped_calls(recorder.hooks()):
            outputs = call_model(model, inputs, training=False)
        recorder.finish(outputs)
        return outputs
    tf.function(forward, autograph=False).get_concrete_function(model_input(
        docs, lambda array: tf.TensorSpec(array.shape, tf.as_dtype(array.dtype))))


def _dense(inputs: tf.Tensor, layer: Any, use_bias: bool) -> tf.Tensor:
    kernel = tf.convert_to_tensor(layer.kernel)
    logits = tf.tensordot(inputs, tf.cast(kernel, inputs.dtype), axes=1)
    if use_bias and getattr(layer, 'bias', None) is not None:
        logits = logits + tf.cast(tf.convert_to_tensor(layer.bias), inputs.dtype)
    return logits


def _gradients(tape: tf.GradientTape, per_target: tf.Tensor, columns: List[tf.Tensor],
               sources: Sequence[tf.Tensor]) -> List[tf.Tensor]:
    """Per source, ``(batch, T, ...)``: each target's gradient.

    ``per_target`` (T,) sums each target's score over the documents, which are
    independent, and ``columns`` are its entries; both were computed under
    ``tape``.
    """
    unconnected = tf.UnconnectedGradients.ZERO
    sources = list(sources)
    if len(columns) > 1:
        try:
            jacobians = tape.jacobian(per_target, sources, unconnected_gradients=unconnected,
                                      experimental_use_pfor=True)
            return [tf.experimental.numpy.moveaxis(j, 0, 1) for j in jacobians]
        except (ValueError, TypeError, NotImplementedError, tf.errors.OpError):
            pass                                                   # ops pfor cannot vectorise
    gradients = [tape.gradient(column, sources, unconnected_gradients=unconnected)
                 for column in columns]
    return [tf.stack([per_column[index] for per_column in gradients], axis=1)
            for index in range(len(sources))]


def guided_identity(switch: GuidedSwitch) -> Callable[[tf.Tensor], tf.Tensor]:
    """The identity whose gradient is rectified while ``switch.guided`` is on."""
    @tf.custom_gradient
    def identity(outputs: tf.Tensor) -> Any:
        def gradient(upstream: tf.Tensor) -> tf.Tensor:
            return tf.nn.relu(upstream) if switch.guided else upstream
        return tf.identity(outputs), gradient
    return identity


def _build(model: Any, plan: StepPlan, request_key: Tuple[str, int],
           where: Slot) -> Callable[..., Any]:
    """The compiled step; ``where``: the explained input's slot in ``docs``
    (the guided gradients are its own)."""
    model_ref = weakref.ref(model)
    mode, count = request_key

    def step(docs: Any, given: tf.Tensor) -> Any:
        model = model_ref()
        if model is None:
            raise RuntimeError('the model of this compiled function was deleted')
        zeros = [tf.zeros(shape, tf.float32) for _, _, shape in plan.explained]
        switch = GuidedSwitch()
        with tf.GradientTape(persistent=plan.guided or abs(count) > 1,
                             watch_accessed_variables=False) as tape:
            tape.watch(zeros)
            if plan.guided:
                tape.watch(take(docs, where))
            tap = Tap(plan, model, lambda index, outputs: outputs + tf.cast(zeros[index],
                                                                            outputs.dtype),
                      _dense)
            hooks = tap.hooks() + guided_hooks(plan.relu_layers, guided_identity(switch))
            with wrapped_calls(hooks):
                outputs = call_model(model, docs, training=False)
            scores, probabilities = tap.scores(outputs, OPS)
            scores = tf.cast(scores, tf.float32)
            if mode == 'top':
                ranking = tf.stop_gradient(scores if count > 0 else -scores)
                targets = tf.math.top_k(ranking, k=abs(count), sorted=True).indices
            else:
                targets = tf.cast(given, tf.int32)
            selected = tf.gather(scores, targets, batch_dims=1)
            per_target = tf.reduce_sum(selected, axis=0)         # (T,): documents add up
            columns = [per_target[t] for t in range(abs(count))]
            signed = -per_target if plan.counterfactual else per_target
            signed_columns = [signed[t] for t in range(abs(count))]
        gradients = _gradients(tape, per_target, columns, zeros)
        input_gradients = tf.zeros((0,))
        if plan.guided:
            switch.guided = True
            (input_gradients,) = _gradients(tape, signed, signed_columns, [take(docs, where)])
        if probabilities is None:
            probabilities = tf.zeros((0,))
        return (tap.layer_outputs, gradients, scores, probabilities, targets,
                input_gradients)

    return tf.function(step, autograph=False)


class _RetracingNotice(logging.Filter):
    """Drops TensorFlow's "triggered tf.function retracing" notice.

    Each (layer, input signature, targets) gets its own compiled function by
    design, built once and cached; TensorFlow counts those first traces as
    "retracing" and warns.  The filter is attached only while our own
    function runs, so the user's own retracing warnings are untouched.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return 'triggered tf.function retracing' not in record.getMessage()


@contextlib.contextmanager
def _quiet_retracing() -> Iterator[None]:
    logger = tf.get_logger()
    notice = _RetracingNotice()
    logger.addFilter(notice)
    try:
        yield
    finally:
        logger.removeFilter(notice)


@model_boundary
def _execute(step: Callable[..., Any], *args: Any) -> Any:
    """Run a compiled step: the model's graph (its run-time errors are the model's)."""
    return step(*args)


def run(model: Any, plan: StepPlan, docs: Docs, request: TargetRequest) -> StepResult:
    """One compiled forward pass and the gradients of every requested target."""
    step = cached(model, step_key('tensorflow', plan, docs, request),
                  lambda: _build(model, plan, request.key, slot(docs)),
                  functions=plan.functions)
    given = request.given_indices(batch_size(docs))
    with _quiet_retracing():
        activations, gradients, scores, probabilities, targets, input_gradients = _execute(
            step, model_input(docs, tf.constant), tf.constant(given))
    return StepResult([a.numpy() for a in activations], [g.numpy() for g in gradients],
                      scores.numpy(), probabilities.numpy() if plan.probabilities else None,
                      targets.numpy(), input_gradients.numpy() if plan.guided else None)


#: Compiled passes are traced per input shape: callers pad their row batches.
PADS = True


def _ops() -> Any:
    from ..passes import PassOps
    return PassOps(reshape=tf.reshape, float32=lambda x: tf.cast(x, tf.float32),
                   zeros=lambda shape: tf.zeros(shape, tf.float32),
                   repeat=lambda x, count: tf.repeat(x, count, axis=0),
                   like=lambda x, y: tf.cast(x, y.dtype))


def compile_pass(model: Any, body: Callable[..., Any]) -> Callable[..., Tuple[np.ndarray, ...]]:
    """``body(call, dense, ops, *arrays)`` compiled as one ``tf.function`` with
    no gradient (Eigen-CAM, Score-CAM, Ablation-CAM, see :mod:`..passes`).

    ``call(inputs)`` runs the model in inference mode; ``dense`` is this
    backend's Dense pre-activation, ``ops`` its :class:`~..passes.PassOps`.
    Returns ``run(*numpy arrays) -> numpy outputs``.
    """
    ops = _ops()
    model_ref = weakref.ref(model)

    def step(*arrays: Any) -> Any:
        model = model_ref()
        if model is None:
            raise RuntimeError('the model of this compiled function was deleted')
        return body(lambda inputs: call_model(model, inputs, training=False), _dense, ops,
                    *arrays)

    function = tf.function(step, autograph=False)

    def run(*arrays: Docs) -> Tuple[np.ndarray, ...]:
        with _quiet_retracing():
            outputs = _execute(function, *[model_input(array, tf.constant)
                                           for array in arrays])
        return tuple(output.numpy() for output in outputs)
    return run


def predict(model: Any, docs: Docs, select: Callable[[Any], Any]) -> np.ndarray:
    """The selected model output on ``docs``, eagerly and without gradients (for metrics)."""
    outputs = call_model(model, model_input(docs, tf.constant), training=False)
    return np.asarray(tf.convert_to_tensor(select(outputs)).numpy())
