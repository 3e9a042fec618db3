"""One forward pass and the gradients of every target: a :class:`LayerCapture`.

The chosen layer's output is captured by a temporary forward hook that
*replaces* it: the hook keeps ``captured = output.detach().requires_grad_()``
and hands ``captured.clone()`` downstream.  So

* later in-place operations (``out += identity; relu_(out)`` in a ResNet
  block) change the clone, never the captured activations;
* a frozen model (``requires_grad=False`` everywhere) still has a graph from
  the layer to the output, and nothing upstream of the layer is needed;
* gradients are taken with :func:`torch.autograd.grad` with respect to
  ``captured`` only;
* the pass runs under ``torch.no_grad()`` until the hook switches recording
  on: no graph is kept for the layers before the chosen one, which makes the
  explanation cheaper than a plain forward-and-backward that records them.
  A model that runs part of its ``forward`` under its own ``torch.no_grad()``
  (a frozen backbone) switches recording off again when that block ends; the
  pass is then repeated recording from the input on, and the plan remembers
  to do so from then on.  The gradient is the derivative of the score with
  respect to the layer, whatever ``no_grad`` blocks the model's code has.
"""
from __future__ import annotations

from contextlib import nullcontext
from typing import Any, Callable, Dict, List

import numpy as np
import torch
from torch import nn

from ..nn.capture import LayerCapture
from ..nn.kinds import DocumentKind
from ..nn.options import ExplainOptions
from ..nn.targets import target_request
from .gradients import DEFAULT_STRATEGY, target_gradients
from .inputs import as_numpy
from .layers import first_tensor
from .layout import Layout
from .plan import LayerPlan, layer_plan, model_output, remember_upstream_graph, run_model
from .state import eval_behaviour, exclusive, gradients_enabled, same_thread, temporary_hooks

__all__ = ['capture_layer']


def _replacing_hook(store: Dict[str, torch.Tensor]) -> Callable[..., Any]:
    ours = same_thread()

    def hook(module: nn.Module, args: Any, output: Any) -> Any:
        tensor = first_tensor(output)
        if tensor is None or 'captured' in store or not ours():
            return None
        captured = tensor.detach().requires_grad_(True)
        store['captured'] = captured
        # Upstream ran without recording a graph (see the module docstring);
        # from here to the output the pass is differentiated.
        torch.set_grad_enabled(True)
        downstream = captured.clone()
        if isinstance(output, torch.Tensor):
            return downstream
        items: List[Any] = list(output)
        items[0] = _replace_first(items[0], downstream)
        if isinstance(output, list):
            return items
        return type(output)(*items) if hasattr(output, '_fields') else tuple(items)
    return hook


def _replace_first(value: Any, tensor: torch.Tensor) -> Any:
    if isinstance(value, torch.Tensor):
        return tensor
    items = list(value)
    items[0] = _replace_first(items[0], tensor)
    return items if isinstance(value, list) else tuple(items)


def _logit_hook(store: Dict[str, torch.Tensor]) -> Callable[..., None]:
    ours = same_thread()

    def hook(module: nn.Module, args: Any, output: Any) -> None:
        if args and isinstance(args[0], torch.Tensor) and ours():
            store['logits'] = args[0]
    return hook


def _as_scores(tensor: torch.Tensor, batch: int) -> torch.Tensor:
    if tensor.ndim == 1 and tensor.shape[0] == batch:
        tensor = tensor.unsqueeze(1)
    if tensor.ndim != 2 or tensor.shape[0] != batch:
        raise ValueError(f'output: the explained model output has shape {tuple(tensor.shape)};'
                         ' Grad-CAM needs one score per output, shape (batch, outputs) for a '
                         f'batch of {batch}; pick another output= or wrap the model')
    return tensor


def _channels_last(layout: Layout, tensor: torch.Tensor) -> torch.Tensor:
    converted = layout.to_channels_last(tensor)
    if not isinstance(converted, torch.Tensor):
        raise TypeError(f'reshape must return a torch.Tensor; got {type(converted).__name__}')
    return converted


def _forward(model: nn.Module, docs: torch.Tensor, plan: LayerPlan,
             options: ExplainOptions) -> Dict[str, Any]:
    """One hooked pass: ``captured`` (the layer's output), ``scores``, ``output``."""
    logits = plan.final_activation is not None and options.score == 'auto'
    store: Dict[str, Any] = {}
    with temporary_hooks() as handles:
        handles.append(plan.module.register_forward_hook(_replacing_hook(store)))
        if logits and plan.final_module is not None:
            handles.append(plan.final_module.register_forward_hook(_logit_hook(store)))
        # No graph upstream of the layer unless the plan needs one; the hook
        # turns recording on at the layer, leaving no_grad restores the mode.
        with nullcontext() if plan.upstream_graph else torch.no_grad():
            store['output'] = model_output(run_model(model, docs), options)
    if 'captured' not in store:
        raise ValueError(f'layer {plan.name!r} gave no tensor output to explain '
                         'in the second forward pass')
    store['logits_used'] = logits and 'logits' in store
    store['scores'] = _as_scores(store['logits'] if store['logits_used'] else store['output'],
                                 int(docs.shape[0]))
    return store


def _differentiable_pass(model: nn.Module, docs: torch.Tensor, kind: DocumentKind,
                         options: ExplainOptions) -> tuple:
    """The plan and a pass whose scores depend on the layer, or a named error."""
    plan = layer_plan(model, docs, kind, options)
    store = _forward(model, docs, plan, options)
    if not store['scores'].requires_grad and not plan.upstream_graph:
        plan = remember_upstream_graph(model, docs, kind, options, plan)
        store = _forward(model, docs, plan, options)
    if not store['scores'].requires_grad:
        raise ValueError(f'layer {plan.name!r}: the explained output does not depend '
                         'on it; pick a layer that runs before the output')
    return plan, store


def capture_layer(model: nn.Module,
                  docs: torch.Tensor,
                  kind: DocumentKind,
                  options: ExplainOptions = ExplainOptions(),
                  *,
                  strategy: str = DEFAULT_STRATEGY) -> LayerCapture:
    """Run ``model`` once on ``docs`` and capture a layer and its target gradients.

    Works for a batch of any size; the model is run in eval behaviour and
    left as it was (see :mod:`.state`).

    Parameters
    ----------
    model : torch.nn.Module
    docs : torch.Tensor
        ``(batch, ...)`` on the model's device (see :func:`.inputs.as_model_input`).
    kind : DocumentKind
        What the documents ask of the layer (spatial axes, image size).
    options : ExplainOptions
        ``layer``, ``targets``, ``top_targets``, ``target_names``, ``score``,
        ``output`` and ``reshape`` are read from it.
    strategy : {'auto', 'batched', 'loop'}
        How several targets are differentiated, see :mod:`.gradients`.

    Returns
    -------
    LayerCapture
    """
    with exclusive(model), eval_behaviour(model), gradients_enabled():
        plan, store = _differentiable_pass(model, docs, kind, options)
        scores = store['scores']
        scores_np = as_numpy(scores).astype(np.float64)
        request = target_request(scores_np.shape[1], targets=options.targets,
                                 top_targets=options.top_targets,
                                 target_names=options.target_names)
        target_indices = request.select(scores_np)
        gradients = target_gradients(scores, store['captured'], target_indices, strategy)
        activations = _channels_last(plan.layout, store['captured'].detach())
        # a bad reshape= was reported by the activations' conversion above
        gradients_last = plan.layout.targets_to_channels_last(gradients)
    probabilities = None
    if store['logits_used']:
        probs = _as_scores(store['output'].detach(), scores_np.shape[0])
        probabilities = as_numpy(probs.exp() if plan.final_activation == 'log_softmax'
                                 else probs)
    return LayerCapture(activations=as_numpy(activations),
                        gradients=as_numpy(gradients_last),
                        scores=scores_np,
                        targets=target_indices,
                        layer_name=plan.name,
                        final_activation=plan.final_activation,
                        logits=bool(store['logits_used']),
                        probabilities=probabilities)
