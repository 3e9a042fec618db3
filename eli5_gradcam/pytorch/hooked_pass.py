"""The hooked forward pass of :func:`~.capture.capture_layer`.

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

Several layers (``layer=[...]``) and the guided methods keep the graph
*connected*: a layer whose output is already part of the graph (a deeper
layer, or every layer when the input itself is differentiated) is captured
as it is, not detached, and its clone goes downstream as above; one backward
pass per target then gives the gradients of every layer.  The guided methods
record the graph from the input on, with the ReLUs seen by
:class:`~eli5_gradcam.pytorch.guided.GuidedReLUs`: the layers' gradients are
taken first, with plain ReLUs, then the input's, guided, from the same
forward pass.
"""
from __future__ import annotations

from contextlib import nullcontext
from dataclasses import replace
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn

from ..nn.kinds import DocumentKind
from ..nn.options import ExplainOptions
from ..nn.targets import score_function_name
from .documents import ModelInputs
from .guided import GuidedReLUs
from .layer_outputs import first_tensor, replace_tensor, tensor_path
from .plan import LayerPlan, layer_plan, model_output, remember_upstream_graph, run_model
from .state import same_thread, temporary_hooks

__all__ = ['differentiable_pass', 'replacing_hook', 'logit_hook', 'as_scores']


def replacing_hook(captured_list: List[Optional[torch.Tensor]], index: int,
                    connected: bool) -> Callable[..., Any]:
    ours = same_thread()

    def hook(module: nn.Module, args: Any, output: Any) -> Any:
        path = tensor_path(output)
        if path is None or captured_list[index] is not None or not ours():
            return None
        tensor = first_tensor(output)
        assert tensor is not None
        if connected and tensor.requires_grad:
            captured = tensor           # part of the graph already: keep it connected
        else:
            captured = tensor.detach().requires_grad_(True)
            # Upstream ran without recording a graph (see the module docstring);
            # from here to the output the pass is differentiated.
            torch.set_grad_enabled(True)
        captured_list[index] = captured
        return replace_tensor(output, path, captured.clone())
    return hook

def logit_hook(store: Dict[str, torch.Tensor]) -> Callable[..., None]:
    ours = same_thread()

    def hook(module: nn.Module, args: Any, output: Any) -> None:
        if args and isinstance(args[0], torch.Tensor) and ours():
            store['logits'] = args[0]
    return hook


def as_scores(tensor: torch.Tensor, batch: int) -> torch.Tensor:
    if tensor.ndim == 1 and tensor.shape[0] == batch:
        tensor = tensor.unsqueeze(1)
    if tensor.ndim != 2 or tensor.shape[0] != batch:
        raise ValueError(f'output: the explained model output has shape {tuple(tensor.shape)};'
                         ' Grad-CAM needs one score per output, shape (batch, outputs) for a '
                         f'batch of {batch}; pick another output= or wrap the model')
    return tensor


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


def _forward(model: nn.Module, docs: ModelInputs, plans: Sequence[LayerPlan],
             options: ExplainOptions, relus: Optional[GuidedReLUs]) -> Dict[str, Any]:
    """One hooked pass: ``captured`` (each layer's output), ``inputs`` (the
    explained input, differentiable for the guided methods), ``scores``,
    ``columns`` (the score functions'), ``output``."""
    first = plans[0]
    logits = (first.final_activation is not None and options.score == 'auto'
              and options.needs_outputs)
    store: Dict[str, Any] = {'captured': [None] * len(plans)}
    connected = relus is not None or len(plans) > 1
    if relus is not None:
        docs = docs.with_explained(docs.explained.detach().requires_grad_(True))
    upstream = relus is not None or any(plan.upstream_graph for plan in plans)
    with temporary_hooks() as handles:
        for index, plan in enumerate(plans):
            handles.append(plan.module.register_forward_hook(
                replacing_hook(store['captured'], index, connected)))
        if logits and first.final_module is not None:
            handles.append(first.final_module.register_forward_hook(logit_hook(store)))
        # No graph upstream of the layer unless the plan needs one; the hook
        # turns recording on at the layer, leaving no_grad restores the mode.
        with nullcontext() if upstream else torch.no_grad(), relus or nullcontext():
            raw = run_model(model, docs)
            columns = [_score_column(function, raw, docs.shape[0],
                                     score_function_name(function, position))
                       for position, function in enumerate(options.score_functions)]
    for plan, captured in zip(plans, store['captured']):
        if captured is None:
            raise ValueError(f'layer {plan.name!r} gave no tensor output to explain '
                             'in the second forward pass')
    store['inputs'] = docs.explained
    store['logits_used'] = logits and 'logits' in store
    store['columns'] = columns
    store['connected'] = _depends_on_layer(raw)
    scores = []
    if options.needs_outputs:
        store['output'] = model_output(raw, options)
        scores.append(as_scores(store['logits'] if store['logits_used'] else store['output'],
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


def _layer_items(options: ExplainOptions) -> Tuple[Any, ...]:
    return options.layer if isinstance(options.layer, tuple) else (options.layer,)


def _layer_plans(model: nn.Module, docs: ModelInputs, kind: DocumentKind,
                 options: ExplainOptions) -> List[LayerPlan]:
    """One plan per explained layer (``layer=[...]`` gives several)."""
    if not isinstance(options.layer, tuple):
        return [layer_plan(model, docs, kind, options)]
    return [layer_plan(model, docs, kind, options.replace(layer=item))
            for item in options.layer]


def differentiable_pass(model: nn.Module, docs: ModelInputs, kind: DocumentKind,
                         options: ExplainOptions, relus: Optional[GuidedReLUs]
                         ) -> Tuple[List[LayerPlan], Dict[str, Any]]:
    """The plans and a pass whose scores depend on the layers, or a named error."""
    plans = _layer_plans(model, docs, kind, options)
    store = _forward(model, docs, plans, options, relus)
    if not _all_differentiable(store) and not any(plan.upstream_graph for plan in plans):
        # maybe the model's own no_grad: try recording from the input on
        try:
            retried = _forward(model, docs, [replace(plan, upstream_graph=True)
                                             for plan in plans], options, relus)
        except ValueError:        # the model cannot be differentiated at all
            retried = store
        if _all_differentiable(retried):
            store = retried
            plans = [remember_upstream_graph(model, docs, kind, options.replace(layer=item),
                                             plan)
                     for plan, item in zip(plans, _layer_items(options))]
    if not (store['scores'].requires_grad or store['connected']):
        raise ValueError(f'layer {plans[0].name!r}: the explained output does not depend '
                         'on it; pick a layer that runs before the output')
    for position, (function, column) in enumerate(zip(options.score_functions,
                                                      store['columns'])):
        if not column.requires_grad:
            raise ValueError(
                f'targets: the score function {score_function_name(function, position)!r} '
                f'is not differentiable with respect to layer {plans[0].name!r} (its result '
                'does not depend on the model output through differentiable operations, '
                'e.g. argmax, .item() or a comparison)')
    return plans, store
