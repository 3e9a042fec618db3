"""JAX backend (Keras 3 on JAX): ``jax.jit`` of ``jax.vjp`` and ``jax.vmap``.

The model runs through ``model.stateless_call`` with its variables passed
as arguments (so the compiled function sees weight updates and holds no
array of the model's).  A zero tensor of the layer's output shape is added
to that output; ``jax.vjp`` with respect to it gives one forward pass and a
pull-back that ``jax.vmap`` applies to every target at once.  The jitted
function is built once per (model, layer, input signature, score mode,
targets) and kept in :mod:`~eli5_gradcam.keras.cache`.

Several layers get one zero tensor each.  A guided plan also differentiates
the input: its ReLU layers' outputs go through a ``jax.custom_vjp`` identity
whose backward rule reads the :class:`~eli5_gradcam.keras.guided.GuidedSwitch`
when the pull-back is traced: the pull-back is applied twice in the same
compiled function, plain for the layers' gradients and guided for the
input's, after one forward pass.
"""
from __future__ import annotations

import inspect
import weakref
from typing import Any, Callable, Tuple

import jax
import jax.numpy as jnp
import numpy as np

from ..cache import cached
from ..forward import BackendOps, Probe, StepPlan, StepResult, Tap, step_key
from ..guided import GuidedSwitch, guided_hooks
from ..inputs import Docs, Slot, batch_size, model_input, put, slot, take
from ...nn.targets import TargetRequest
from ..patching import wrapped_calls
from ...nn.errors import model_boundary

__all__ = ['probe', 'run', 'guided_identity', 'compile_pass', 'PADS', 'predict']

#: The tensor operations the shared score code needs.
OPS = BackendOps(jnp.reshape, lambda parts: jnp.concatenate(parts, 1),
                 lambda tensor: tensor.astype(jnp.float32))



def _variables(model: Any) -> Tuple[list, list]:
    return ([v.value for v in model.trainable_variables],
            [v.value for v in model.non_trainable_variables])


@model_boundary
def _forward(model: Any, trainable: list, non_trainable: list, inputs: Any) -> Any:
    """``model.stateless_call`` in inference mode (``training`` only where ``call`` takes it)."""
    parameters = inspect.signature(model.call).parameters.values()
    kwargs = ({'training': False} if any(p.name == 'training' or p.kind == p.VAR_KEYWORD
                                        for p in parameters) else {})
    outputs, _ = model.stateless_call(trainable, non_trainable, inputs, **kwargs)
    return outputs


def probe(model: Any, docs: Docs, recorder: Probe) -> None:
    """Trace the model abstractly (``jax.eval_shape``), recording shapes."""
    def forward(trainable: list, non_trainable: list, inputs: Any) -> Any:
        with wrapped_calls(recorder.hooks()):
            outputs = _forward(model, trainable, non_trainable, inputs)
        recorder.finish(outputs)
        return outputs
    trainable, non_trainable = _variables(model)
    jax.eval_shape(forward, trainable, non_trainable, model_input(
        docs, lambda array: jax.ShapeDtypeStruct(array.shape, array.dtype)))


def _dense(inputs: jax.Array, layer: Any, use_bias: bool) -> jax.Array:
    logits = jnp.matmul(inputs, jnp.asarray(layer.kernel.value, inputs.dtype))
    if use_bias and getattr(layer, 'bias', None) is not None:
        logits = logits + jnp.asarray(layer.bias.value, inputs.dtype)
    return logits


def guided_identity(switch: GuidedSwitch) -> Callable[[jax.Array], jax.Array]:
    """The identity whose cotangent is rectified while ``switch.guided`` is on."""
    @jax.custom_vjp
    def identity(outputs: jax.Array) -> jax.Array:
        return outputs

    def forward(outputs: jax.Array) -> Tuple[jax.Array, None]:
        return outputs, None

    def backward(_: None, cotangent: jax.Array) -> Tuple[jax.Array]:
        return (jnp.maximum(cotangent, 0.0) if switch.guided else cotangent,)

    identity.defvjp(forward, backward)
    return identity


def _build(model: Any, plan: StepPlan, request_key: Tuple[str, int],
           where: Slot) -> Callable[..., Any]:
    """The jitted step; ``where``: the explained input's slot in ``docs``
    (the guided gradients are its own)."""
    model_ref = weakref.ref(model)
    mode, count = request_key

    def step(trainable: list, non_trainable: list, docs: Any, given: jax.Array) -> Any:
        model = model_ref()
        if model is None:
            raise RuntimeError('the model of this compiled function was deleted')
        zeros = tuple(jnp.zeros(shape, jnp.float32) for _, _, shape in plan.explained)
        switch = GuidedSwitch()

        def forward(zeros: Tuple[jax.Array, ...], inputs: Any) -> Any:
            tap = Tap(plan, model, lambda index, outputs: outputs + zeros[index].astype(
                outputs.dtype), _dense)
            hooks = tap.hooks() + guided_hooks(plan.relu_layers, guided_identity(switch))
            with wrapped_calls(hooks):
                outputs = _forward(model, trainable, non_trainable, inputs)
            scores, probabilities = tap.scores(outputs, OPS)
            scores = scores.astype(jnp.float32)
            if mode == 'top':
                ranking = jax.lax.stop_gradient(scores if count > 0 else -scores)
                targets = jax.lax.top_k(ranking, abs(count))[1]
            else:
                targets = given
            selected = jnp.take_along_axis(scores, targets, axis=1)
            probabilities = jnp.zeros((0,)) if probabilities is None else probabilities
            return selected, (tap.layer_outputs, scores, probabilities, targets)

        if plan.guided:
            selected, pullback, aux = jax.vjp(lambda z, x: forward(z, put(docs, where, x)),
                                              zeros, take(docs, where), has_aux=True)
        else:
            selected, pullback, aux = jax.vjp(lambda z: forward(z, docs), zeros, has_aux=True)
        cotangents = jnp.broadcast_to(jnp.eye(abs(count), dtype=selected.dtype)[:, None, :],
                                      (abs(count),) + selected.shape)
        gradients = jax.vmap(pullback)(cotangents)[0]        # per layer (T, batch, *S, K)
        input_gradients = jnp.zeros((0,))
        if plan.guided:
            switch.guided = True
            sign = -1.0 if plan.counterfactual else 1.0
            input_gradients = jnp.moveaxis(jax.vmap(pullback)(sign * cotangents)[1], 0, 1)
        return (aux[0], [jnp.moveaxis(g, 0, 1) for g in gradients]) + tuple(aux[1:]) + (
            input_gradients,)

    return jax.jit(step)


def _same(array: np.ndarray) -> np.ndarray:
    """numpy arguments go to a jitted function as they are."""
    return array


@model_boundary
def _execute(step: Callable[..., Any], *args: Any) -> Any:
    """Run a compiled step: the model's computation (its run-time errors are the model's)."""
    return step(*args)


def run(model: Any, plan: StepPlan, docs: Docs, request: TargetRequest) -> StepResult:
    """One compiled forward pass and the gradients of every requested target."""
    step = cached(model, step_key('jax', plan, docs, request),
                  lambda: _build(model, plan, request.key, slot(docs)),
                  functions=plan.functions)
    given = request.given_indices(batch_size(docs))
    trainable, non_trainable = _variables(model)
    # numpy arguments go to the compiled function as they are: an eager
    # jnp.asarray first would dispatch two extra device operations per call.
    activations, gradients, scores, probabilities, targets, input_gradients = _execute(
        step, trainable, non_trainable, model_input(docs, _same), given)
    return StepResult([np.asarray(a, np.float32) for a in activations],
                      [np.asarray(g, np.float32) for g in gradients],
                      np.asarray(scores, np.float32),
                      np.asarray(probabilities, np.float32) if plan.probabilities else None,
                      np.asarray(targets),
                      np.asarray(input_gradients, np.float32) if plan.guided else None)


#: Compiled passes are traced per input shape: callers pad their row batches.
PADS = True


def _ops() -> Any:
    from ..passes import PassOps
    return PassOps(reshape=jnp.reshape, float32=lambda x: x.astype(jnp.float32),
                   zeros=lambda shape: jnp.zeros(shape, jnp.float32),
                   repeat=lambda x, count: jnp.repeat(x, count, axis=0),
                   like=lambda x, y: x.astype(y.dtype))


def compile_pass(model: Any, body: Callable[..., Any]) -> Callable[..., Tuple[np.ndarray, ...]]:
    """``body(call, dense, ops, *arrays)`` compiled with ``jax.jit``, no
    gradient (Eigen-CAM, Score-CAM, Ablation-CAM, see :mod:`..passes`).

    ``call(inputs)`` runs ``model.stateless_call`` in inference mode with the
    variables passed as arguments; ``dense`` is this backend's Dense
    pre-activation, ``ops`` its :class:`~..passes.PassOps`.  Returns
    ``run(*numpy arrays) -> numpy outputs``.
    """
    ops = _ops()
    model_ref = weakref.ref(model)

    def step(trainable: list, non_trainable: list, *arrays: Any) -> Any:
        model = model_ref()
        if model is None:
            raise RuntimeError('the model of this compiled function was deleted')
        return body(lambda inputs: _forward(model, trainable, non_trainable, inputs), _dense,
                    ops, *arrays)

    jitted = jax.jit(step)

    def run(*arrays: Docs) -> Tuple[np.ndarray, ...]:
        model = model_ref()
        if model is None:
            raise RuntimeError('the model of this compiled function was deleted')
        trainable, non_trainable = _variables(model)
        outputs = _execute(jitted, trainable, non_trainable,
                           *[model_input(array, _same) for array in arrays])
        return tuple(np.asarray(output) for output in outputs)
    return run


def predict(model: Any, docs: Docs, select: Callable[[Any], Any]) -> np.ndarray:
    """The selected model output on ``docs``, in inference mode (for metrics)."""
    trainable, non_trainable = _variables(model)
    outputs = _forward(model, trainable, non_trainable, model_input(docs, jnp.asarray))
    return np.asarray(select(outputs))
