"""PyTorch backend (Keras 3 on torch): eager autograd.

PyTorch runs eagerly, so nothing is compiled: the layer's output gets a
zero tensor that requires grad added to it, the model runs once, the
targets are chosen from its scores, and ``torch.autograd.grad`` (never
``.backward()``: no ``.grad`` is written into the model's parameters)
differentiates each target with respect to that zero tensor.

Several layers get one zero tensor each.  A guided plan also makes the input
require grad; its ReLU layers' outputs carry a tensor hook that rectifies the
gradient while the :class:`~eli5_gradcam.keras.guided.GuidedSwitch` is on:
off for the layers' gradients, on for the input's, from the same forward pass.
"""
from __future__ import annotations

import weakref
from typing import Any, Callable, List, Optional, Sequence, Tuple

import keras
import numpy as np
import torch

from ..forward import BackendOps, Probe, StepPlan, StepResult, Tap
from ..guided import GuidedSwitch, guided_hooks
from ..inputs import Docs, model_input, put, slot, take
from ...nn.targets import TargetRequest
from ..patching import call_model, wrapped_calls

__all__ = ['probe', 'run', 'guided_identity', 'compile_pass', 'PADS', 'predict']

#: The tensor operations the shared score code needs.
OPS = BackendOps(torch.reshape, lambda parts: torch.cat(parts, 1),
                 lambda tensor: tensor.float())


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().float().numpy()


def probe(model: Any, docs: Docs, recorder: Probe) -> None:
    """Run the model once without gradients, recording shapes."""
    with torch.no_grad(), wrapped_calls(recorder.hooks()):
        outputs = call_model(model, model_input(docs, keras.ops.convert_to_tensor),
                             training=False)
    recorder.finish(outputs)


def _dense(inputs: torch.Tensor, layer: Any, use_bias: bool) -> torch.Tensor:
    kernel = keras.ops.convert_to_tensor(layer.kernel)
    logits = torch.matmul(inputs, kernel.to(inputs.dtype))
    if use_bias and getattr(layer, 'bias', None) is not None:
        logits = logits + keras.ops.convert_to_tensor(layer.bias).to(inputs.dtype)
    return logits


def guided_identity(switch: GuidedSwitch) -> Callable[[torch.Tensor], torch.Tensor]:
    """The identity whose gradient is rectified while ``switch.guided`` is on."""
    def hook(gradient: torch.Tensor) -> Optional[torch.Tensor]:
        return gradient.clamp(min=0) if switch.guided else None

    def identity(outputs: torch.Tensor) -> torch.Tensor:
        if isinstance(outputs, torch.Tensor) and outputs.requires_grad:
            outputs.register_hook(hook)
        return outputs
    return identity


def _by_target(selected: torch.Tensor, sources: Sequence[torch.Tensor],
               sign: float = 1.0) -> List[torch.Tensor]:
    """Per source, ``(batch, T, ...)``: each target's gradient, one backward pass each."""
    count = selected.shape[1]
    per_source: List[List[torch.Tensor]] = [[] for _ in sources]
    for column in range(count):
        gradients = torch.autograd.grad(sign * selected[:, column].sum(), list(sources),
                                        retain_graph=True, allow_unused=True)
        for collected, source, gradient in zip(per_source, sources, gradients):
            collected.append(torch.zeros_like(source) if gradient is None else gradient)
    return [torch.stack(collected, dim=1) for collected in per_source]


def run(model: Any, plan: StepPlan, docs: Docs, request: TargetRequest) -> StepResult:
    """One forward pass and the gradients of every requested target."""
    zeros: List[Optional[torch.Tensor]] = [None] * len(plan.explained)

    def mark(index: int, outputs: torch.Tensor) -> torch.Tensor:
        zero = torch.zeros_like(outputs, requires_grad=True)
        zeros[index] = zero
        return outputs + zero

    switch = GuidedSwitch()
    tap = Tap(plan, model, mark, _dense)
    inputs = model_input(docs, keras.ops.convert_to_tensor)
    where = slot(docs)
    if plan.guided:         # the guided gradients are the explained input's
        inputs = put(inputs, where, take(inputs, where).detach().requires_grad_(True))
    hooks = tap.hooks() + guided_hooks(plan.relu_layers, guided_identity(switch))
    with torch.enable_grad(), wrapped_calls(hooks):
        outputs = call_model(model, inputs, training=False)
        scores, probabilities = tap.scores(outputs, OPS)
    scores_np = _numpy(scores)
    targets = request.select(scores_np)
    index = torch.as_tensor(targets, device=scores.device)
    selected = torch.gather(scores, 1, index)
    gradients = _by_target(selected, [z for z in zeros if z is not None])
    input_gradients = None
    if plan.guided:
        switch.guided = True
        (guided,) = _by_target(selected, [take(inputs, where)],
                               -1.0 if plan.counterfactual else 1.0)
        input_gradients = _numpy(guided)
    return StepResult([_numpy(a) for a in tap.layer_outputs], [_numpy(g) for g in gradients],
                      scores_np, None if probabilities is None else _numpy(probabilities),
                      targets, input_gradients)


#: Eager: passes run at any batch size, callers need not pad.
PADS = False


def _ops() -> Any:
    from ..passes import PassOps
    return PassOps(reshape=torch.reshape, float32=lambda x: x.float(),
                   zeros=lambda shape: torch.zeros(shape),
                   repeat=lambda x, count: x.repeat_interleave(count, dim=0),
                   like=lambda x, y: x.to(y.dtype))


def compile_pass(model: Any, body: Callable[..., Any]) -> Callable[..., Tuple[np.ndarray, ...]]:
    """``body(call, dense, ops, *arrays)`` run eagerly under ``torch.no_grad()``
    (Eigen-CAM, Score-CAM, Ablation-CAM, see :mod:`..passes`).

    ``call(inputs)`` runs the model in inference mode; ``dense`` is this
    backend's Dense pre-activation, ``ops`` its :class:`~..passes.PassOps`.
    Returns ``run(*numpy arrays) -> numpy outputs``.
    """
    ops = _ops()
    model_ref = weakref.ref(model)

    def run(*arrays: Docs) -> Tuple[np.ndarray, ...]:
        model = model_ref()
        if model is None:
            raise RuntimeError('the model of this pass was deleted')
        with torch.no_grad():
            outputs = body(lambda inputs: call_model(model, inputs, training=False), _dense,
                           ops, *[model_input(array, keras.ops.convert_to_tensor)
                                  for array in arrays])
        return tuple(_numpy(output) for output in outputs)
    return run


def predict(model: Any, docs: Docs, select: Callable[[Any], Any]) -> np.ndarray:
    """The selected model output on ``docs``, without recording a graph (for metrics)."""
    with torch.no_grad():
        outputs = call_model(model, model_input(docs, keras.ops.convert_to_tensor),
                             training=False)
        return _numpy(select(outputs))
