"""Forward passes without a backward pass: Eigen-CAM, Score-CAM, Ablation-CAM.

* :func:`forward_capture`: the gradient-free :class:`LayerCapture` (one
  forward pass under ``torch.no_grad()``; the layer's output is copied by a
  forward hook, so later in-place operations cannot change it);
* :func:`masked_scores`: Score-CAM's scores of a document times masks;
* :func:`ablated_scores`: Ablation-CAM's scores with one channel of the
  layer zeroed per row.  With ``whole=False`` the model runs on the one
  document and the layer's forward hook returns ``n`` ablated copies of its
  output, so the layers below it run once and only those above it run on
  the ``n`` rows; with ``whole=True`` the model runs on ``n`` copies of the
  document and the hook zeroes one channel per row.

The model runs in eval behaviour and is left as it was (:mod:`.state`).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import torch
from torch import nn

from ..nn.capture import LayerCapture
from ..nn.kinds import DocumentKind
from ..nn.options import ExplainOptions
from ..nn.targets import target_request
from .capture import channels_last
from .hooked_pass import as_scores, logit_hook
from .inputs import as_numpy
from .documents import ModelInputs
from .layer_outputs import first_tensor, replace_tensor, tensor_path
from .layout import CHANNELS_FIRST, TIME_FIRST, Layout
from .plan import LayerPlan, _call, layer_plan, model_output, run_model
from .state import eval_behaviour, exclusive, same_thread, temporary_hooks

__all__ = ['forward_capture', 'masked_scores', 'ablated_scores']

Hook = Callable[[nn.Module, Any, Any], Any]


def _replace_output(output: Any, tensor: torch.Tensor) -> Any:
    """The layer's output with its explained tensor replaced (see :mod:`.layer_outputs`)."""
    path = tensor_path(output)
    return output if path is None else replace_tensor(output, path, tensor)


def _run(model: nn.Module, docs: ModelInputs, plan: LayerPlan, options: ExplainOptions,
         layer_hook: Optional[Hook], *, raw: bool = False) -> Tuple[torch.Tensor, Any, bool]:
    """One forward pass without gradients: ``(scores, output, logits_used)``.

    ``raw=True`` lets the model's own exceptions through unwrapped (Ablation-CAM
    tells a model that cannot take the ablated batch from its own faults).
    """
    logits = plan.final_activation is not None and options.score == 'auto'
    store: Dict[str, torch.Tensor] = {}
    with temporary_hooks() as handles, torch.no_grad():
        if layer_hook is not None:
            handles.append(plan.module.register_forward_hook(layer_hook))
        if logits and plan.final_module is not None:
            handles.append(plan.final_module.register_forward_hook(logit_hook(store)))
        output = model_output(_call(model, docs) if raw else run_model(model, docs), options)
    logits_used = logits and 'logits' in store
    scores = store['logits'] if logits_used else output
    return (scores.unsqueeze(1) if scores.ndim == 1 else scores), output, logits_used


def forward_capture(model: nn.Module, docs: ModelInputs, kind: DocumentKind,
                    options: ExplainOptions) -> LayerCapture:
    """The layer's activations and the scores of one forward pass, ``gradients=None``."""
    ours = same_thread()
    store: Dict[str, torch.Tensor] = {}

    def hook(module: nn.Module, args: Any, output: Any) -> None:
        tensor = first_tensor(output)
        if tensor is not None and 'captured' not in store and ours():
            store['captured'] = tensor.detach().clone()

    with exclusive(model), eval_behaviour(model):
        plan = layer_plan(model, docs, kind, options)
        scores, output, logits_used = _run(model, docs, plan, options, hook)
    if 'captured' not in store:
        raise ValueError(f'layer {plan.name!r} gave no tensor output to explain '
                         'in the second forward pass')
    scores_np = as_numpy(as_scores(scores, int(docs.shape[0]))).astype(np.float64)
    request = target_request(scores_np.shape[1], targets=options.targets,
                             top_targets=options.top_targets, target_names=options.target_names)
    probabilities = None
    if logits_used:
        probs = as_scores(output.detach(), scores_np.shape[0])
        probabilities = as_numpy(probs.exp() if plan.final_activation == 'log_softmax'
                                 else probs)
    return LayerCapture(activations=as_numpy(channels_last(plan.layout, store['captured'])),
                        gradients=None, scores=scores_np, targets=request.select(scores_np),
                        layer_name=plan.name, final_activation=plan.final_activation,
                        logits=bool(logits_used), probabilities=probabilities)


def masked_scores(model: nn.Module, docs: ModelInputs, item: int, masks: np.ndarray,
                  kind: DocumentKind, options: ExplainOptions) -> np.ndarray:
    """Scores ``(n, outputs)`` of ``docs[item]`` multiplied by each of ``n`` masks."""
    explained = docs.explained
    if not explained.is_floating_point():
        raise ValueError(f"method='scorecam' multiplies the document by masks, but doc holds "
                         f'{explained.dtype} values (token ids?); use another method, or '
                         'explain a model that takes float inputs (embeddings)')
    with exclusive(model), eval_behaviour(model):
        plan = layer_plan(model, docs, kind, options)
        weights = torch.from_numpy(masks).to(device=explained.device, dtype=explained.dtype)
        masked = docs.select(item, len(masks))
        masked = masked.with_explained(masked.explained * weights)
        scores, _, _ = _run(model, masked, plan, options, None)
    return as_numpy(scores)


def _axes(layout: Layout, layer: str) -> Tuple[int, int]:
    """``(batch axis, channel axis)`` of the layer's raw output."""
    if layout.reshape is not None:
        raise ValueError(f"method='ablationcam' zeroes channels of layer {layer!r}'s own "
                         'output, whose layout reshape= replaces: explain it without '
                         'reshape= or with another method')
    return (1 if layout.order == TIME_FIRST else 0,
            1 if layout.order == CHANNELS_FIRST else -1)


def _keep(tensor: torch.Tensor, channels: np.ndarray, batch_axis: int,
          channel_axis: int) -> torch.Tensor:
    """``(n, ..., C, ...)`` ones, zero at row ``i``, channel ``channels[i]`` (-1: none)."""
    count, width = len(channels), int(tensor.shape[channel_axis])
    keep = torch.ones((count, width), dtype=tensor.dtype, device=tensor.device)
    rows = np.flatnonzero(channels >= 0)
    keep[torch.as_tensor(rows), torch.as_tensor(channels[rows])] = 0.0
    shape = [1] * tensor.ndim
    shape[batch_axis], shape[channel_axis] = count, width    # the batch axis comes first
    return keep.reshape(shape)


def ablated_scores(model: nn.Module, docs: ModelInputs, item: int, channels: np.ndarray,
                   kind: DocumentKind, options: ExplainOptions, *, whole: bool) -> np.ndarray:
    """Scores ``(n, outputs)`` of ``docs[item]`` with channel ``channels[i]``
    of the layer zeroed in row ``i`` (see the module docstring)."""
    ours = same_thread()
    done: List[bool] = []

    with exclusive(model), eval_behaviour(model):
        plan = layer_plan(model, docs, kind, options)
        batch_axis, channel_axis = _axes(plan.layout, plan.name)

        def hook(module: nn.Module, args: Any, output: Any) -> Any:
            tensor = first_tensor(output)
            if tensor is None or done or not ours():
                return None
            done.append(True)
            return _replace_output(output, tensor * _keep(tensor, channels, batch_axis,
                                                          channel_axis))

        doc = docs.select(item, len(channels) if whole else 1)
        scores, _, _ = _run(model, doc, plan, options, hook, raw=True)
    return as_numpy(scores)
