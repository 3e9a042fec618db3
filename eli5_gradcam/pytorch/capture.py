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
from dataclasses import replace
from typing import Any, Callable, Dict, Union

import numpy as np
import torch
from torch import nn

from ..nn.capture import LayerCapture
from ..nn.kinds import DocumentKind
from ..nn.options import ExplainOptions
from ..nn.targets import score_function_name, target_request
from .documents import ModelInputs
from .gradients import DEFAULT_STRATEGY, target_gradients
from .inputs import as_numpy
from .layer_outputs import first_tensor, replace_tensor, tensor_path
from .layout import Layout
from .plan import LayerPlan, layer_plan, model_output, remember_upstream_graph, run_model
from .state import eval_behaviour, exclusive, gradients_enabled, same_thread, temporary_hooks

__all__ = ['capture_layer']


def _replacing_hook(store: Dict[str, torch.Tensor]) -> Callable[..., Any]:
    ours = same_thread()

    def hook(module: nn.Module, args: Any, output: Any) -> Any:
        path = tensor_path(output)
        if path is None or 'captured' in store or not ours():
            return None
        captured = first_tensor(output).detach().requires_grad_(True)  # type: ignore[union-attr]
        store['captured'] = captured
        # Upstream ran without recording a graph (see the module docstring);
        # from here to the output the pass is differentiated.
        torch.set_grad_enabled(True)
        return replace_tensor(output, path, captured.clone())
    return hook


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


def _score_column(function: Callable[[Any], Any], raw: Any, batch: int,
                  name: str) -> torch.Tensor:
    """One score function's scores, ``(batch,)``, or a named error."""
    column = function(raw)
    if not isinstance(column, torch.Tensor):
        raise TypeError(f'targets: the score function {name!r} returned a '
                        f'{type(column).__name__}; it must return a torch.Tensor of shape '
                        f'(batch,) = ({batch},)')
    if column.ndim == 2 and column.shape[1] == 1:
        column = column[:, 0]
    if tuple(column.shape) != (batch,):
        raise ValueError(f'targets: the score function {name!r} returned shape '
                         f'{tuple(column.shape)}; it must return one score per document, '
                         f'shape ({batch},)')
    return column.to(torch.float64 if column.dtype == torch.float64 else torch.float32)


def _forward(model: nn.Module, docs: ModelInputs, plan: LayerPlan,
             options: ExplainOptions) -> Dict[str, Any]:
    """One hooked pass: ``captured`` (the layer's output), ``scores``, ``output``."""
    logits = (plan.final_activation is not None and options.score == 'auto'
              and options.needs_outputs)
    store: Dict[str, Any] = {}
    with temporary_hooks() as handles:
        handles.append(plan.module.register_forward_hook(_replacing_hook(store)))
        if logits and plan.final_module is not None:
            handles.append(plan.final_module.register_forward_hook(_logit_hook(store)))
        # No graph upstream of the layer unless the plan needs one; the hook
        # turns recording on at the layer, leaving no_grad restores the mode.
        with nullcontext() if plan.upstream_graph else torch.no_grad():
            raw = run_model(model, docs)
            columns = [_score_column(function, raw, docs.shape[0],
                                     score_function_name(function, position))
                       for position, function in enumerate(options.score_functions)]
    if 'captured' not in store:
        raise ValueError(f'layer {plan.name!r} gave no tensor output to explain '
                         'in the second forward pass')
    store['logits_used'] = logits and 'logits' in store
    store['columns'] = columns
    store['connected'] = _depends_on_layer(raw)
    scores = []
    if options.needs_outputs:
        store['output'] = model_output(raw, options)
        scores.append(_as_scores(store['logits'] if store['logits_used'] else store['output'],
                                 docs.shape[0]))
    if columns:
        extra = torch.stack(columns, dim=1)
        scores.append(extra if not scores else extra.to(scores[0].dtype))
    store['scores'] = scores[0] if len(scores) == 1 else torch.cat(scores, dim=1)
    return store


def _depends_on_layer(raw: Any) -> bool:
    """Some tensor of the model's raw output was computed from the captured layer."""
    if isinstance(raw, torch.Tensor):
        return bool(raw.requires_grad)
    if isinstance(raw, dict):
        return any(_depends_on_layer(v) for v in raw.values())
    if isinstance(raw, (list, tuple)):
        return any(_depends_on_layer(v) for v in raw)
    values = getattr(raw, '__dict__', None)
    return isinstance(values, dict) and any(_depends_on_layer(v) for v in values.values())


def _all_differentiable(store: Dict[str, Any]) -> bool:
    return bool(store['scores'].requires_grad) and all(
        column.requires_grad for column in store['columns'])


def _differentiable_pass(model: nn.Module, docs: ModelInputs, kind: DocumentKind,
                         options: ExplainOptions) -> tuple:
    """The plan and a pass whose scores depend on the layer, or a named error."""
    plan = layer_plan(model, docs, kind, options)
    store = _forward(model, docs, plan, options)
    if not _all_differentiable(store) and not plan.upstream_graph:
        # maybe the model's own no_grad: try recording from the input on
        try:
            retried = _forward(model, docs, replace(plan, upstream_graph=True), options)
        except ValueError:        # the model cannot be differentiated at all
            retried = store
        if _all_differentiable(retried):
            store = retried
            plan = remember_upstream_graph(model, docs, kind, options, plan)
    if not (store['scores'].requires_grad or store['connected']):
        raise ValueError(f'layer {plan.name!r}: the explained output does not depend '
                         'on it; pick a layer that runs before the output')
    for position, (function, column) in enumerate(zip(options.score_functions,
                                                      store['columns'])):
        if not column.requires_grad:
            raise ValueError(
                f'targets: the score function {score_function_name(function, position)!r} '
                f'is not differentiable with respect to layer {plan.name!r} (its result '
                'does not depend on the model output through differentiable operations, '
                'e.g. argmax, .item() or a comparison)')
    return plan, store


def capture_layer(model: nn.Module,
                  docs: Union[torch.Tensor, ModelInputs],
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
    docs : torch.Tensor or ModelInputs
        ``(batch, ...)`` on the model's device (see :func:`.documents.model_inputs`).
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
    if isinstance(docs, torch.Tensor):
        docs = ModelInputs((docs,))
    with exclusive(model), eval_behaviour(model), gradients_enabled():
        plan, store = _differentiable_pass(model, docs, kind, options)
        scores = store['scores']
        scores_np = as_numpy(scores).astype(np.float64)
        n_outputs = scores_np.shape[1] - len(options.score_functions)
        request = target_request(n_outputs, targets=options.targets,
                                 top_targets=options.top_targets,
                                 target_names=options.target_names)
        target_indices = request.select(scores_np)
        gradients = target_gradients(scores, store['captured'], target_indices, strategy)
        activations = _channels_last(plan.layout, store['captured'].detach())
        # a bad reshape= was reported by the activations' conversion above
        gradients_last = plan.layout.targets_to_channels_last(gradients)
    probabilities = None
    if store['logits_used']:
        probs = _as_scores(store['output'].detach(), scores_np.shape[0])[:, :n_outputs]
        probabilities = as_numpy(probs.exp() if plan.final_activation == 'log_softmax'
                                 else probs)
    return LayerCapture(activations=as_numpy(activations),
                        gradients=as_numpy(gradients_last),
                        scores=scores_np,
                        targets=target_indices,
                        layer_name=plan.name,
                        final_activation=plan.final_activation,
                        logits=bool(store['logits_used']),
                        probabilities=probabilities,
                        function_names=tuple(
                            score_function_name(function, position) for position, function
                            in enumerate(options.score_functions)))
