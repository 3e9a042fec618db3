"""PyTorch backend (Keras 3 on torch): eager autograd.

PyTorch runs eagerly, so nothing is compiled: the layer's output gets a
zero tensor that requires grad added to it, the model runs once, the
targets are chosen from its scores, and ``torch.autograd.grad`` (never
``.backward()``: no ``.grad`` is written into the model's parameters)
differentiates each target with respect to that zero tensor.
"""
from __future__ import annotations

import weakref
from typing import Any, Callable, List, Optional, Tuple

import keras
import numpy as np
import torch

from ..forward import BackendOps, Probe, StepPlan, Tap
from ...nn.targets import TargetRequest
from ..patching import call_model, wrapped_calls

__all__ = ['probe', 'run', 'compile_pass', 'PADS', 'predict']

#: The tensor operations the shared score code needs.
OPS = BackendOps(torch.reshape, lambda parts: torch.cat(parts, 1),
                 lambda tensor: tensor.float())

Result = Tuple[np.ndarray, np.ndarray, np.ndarray, Optional[np.ndarray], np.ndarray]


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().float().numpy()


def probe(model: Any, docs: np.ndarray, recorder: Probe) -> None:
    """Run the model once without gradients, recording shapes."""
    with torch.no_grad(), wrapped_calls(recorder.hooks()):
        outputs = call_model(model, keras.ops.convert_to_tensor(docs), training=False)
    recorder.finish(outputs)


def _dense(inputs: torch.Tensor, layer: Any, use_bias: bool) -> torch.Tensor:
    kernel = keras.ops.convert_to_tensor(layer.kernel)
    logits = torch.matmul(inputs, kernel.to(inputs.dtype))
    if use_bias and getattr(layer, 'bias', None) is not None:
        logits = logits + keras.ops.convert_to_tensor(layer.bias).to(inputs.dtype)
    return logits


def run(model: Any, plan: StepPlan, docs: np.ndarray, request: TargetRequest) -> Result:
    """One forward pass and the gradients of every requested target."""
    zeros: List[torch.Tensor] = []

    def mark(outputs: torch.Tensor) -> torch.Tensor:
        zero = torch.zeros_like(outputs, requires_grad=True)
        zeros.append(zero)
        return outputs + zero

    tap = Tap(plan, model, mark, _dense)
    with torch.enable_grad(), wrapped_calls(tap.hooks()):
        outputs = call_model(model, keras.ops.convert_to_tensor(docs), training=False)
        scores, probabilities = tap.scores(outputs, OPS)
    scores_np = _numpy(scores)
    targets = request.select(scores_np)
    index = torch.as_tensor(targets, device=scores.device)
    selected = torch.gather(scores, 1, index)
    zero = zeros[-1]
    count = targets.shape[1]
    gradients = []
    for column in range(count):
        (gradient,) = torch.autograd.grad(selected[:, column].sum(), zero,
                                          retain_graph=column < count - 1, allow_unused=True)
        gradients.append(torch.zeros_like(zero) if gradient is None else gradient)
    return (_numpy(tap.activations), _numpy(torch.stack(gradients, dim=1)), scores_np,
            None if probabilities is None else _numpy(probabilities), targets)


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

    def run(*arrays: np.ndarray) -> Tuple[np.ndarray, ...]:
        model = model_ref()
        if model is None:
            raise RuntimeError('the model of this pass was deleted')
        with torch.no_grad():
            outputs = body(lambda inputs: call_model(model, inputs, training=False), _dense,
                           ops, *[keras.ops.convert_to_tensor(array) for array in arrays])
        return tuple(_numpy(output) for output in outputs)
    return run


def predict(model: Any, docs: np.ndarray, select: Callable[[Any], Any]) -> np.ndarray:
    """The selected model output on ``docs``, without recording a graph (for metrics)."""
    with torch.no_grad():
        outputs = call_model(model, keras.ops.convert_to_tensor(docs), training=False)
        return _numpy(select(outputs))
