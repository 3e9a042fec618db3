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
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from ..nn.capture import LayerArrays, LayerCapture
from ..nn.guided import GUIDED_METHODS
from ..nn.kinds import DocumentKind
from ..nn.options import ExplainOptions
from ..nn.targets import target_request
from .gradients import DEFAULT_STRATEGY, gradients_by_target, target_gradients
from .guided import GuidedReLUs, check_relus_ran
from .inputs import as_numpy
from .layers import first_tensor
from .layout import Layout
from .plan import LayerPlan, layer_plan, model_output, remember_upstream_graph, run_model
from .state import eval_behaviour, exclusive, gradients_enabled, same_thread, temporary_hooks

__all__ = ['capture_layer']


def _replacing_hook(captured_list: List[Optional[torch.Tensor]], index: int,
                    connected: bool) -> Callable[..., Any]:
    ours = same_thread()

    def hook(module: nn.Module, args: Any, output: Any) -> Any:
        tensor = first_tensor(output)
        if tensor is None or captured_list[index] is not None or not ours():
            return None
        if connected and tensor.requires_grad:
            captured = tensor           # part of the graph already: keep it connected
        else:
            captured = tensor.detach().requires_grad_(True)
            # Upstream ran without recording a graph (see the module docstring);
            # from here to the output the pass is differentiated.
            torch.set_grad_enabled(True)
        captured_list[index] = captured
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


def _forward(model: nn.Module, docs: torch.Tensor, plans: Sequence[LayerPlan],
             options: ExplainOptions, relus: Optional[GuidedReLUs]) -> Dict[str, Any]:
    """One hooked pass: ``captured`` (each layer's output), ``inputs``, ``scores``, ``output``."""
    first = plans[0]
    logits = first.final_activation is not None and options.score == 'auto'
    store: Dict[str, Any] = {'captured': [None] * len(plans)}
    connected = relus is not None or len(plans) > 1
    inputs = docs.detach().requires_grad_(True) if relus is not None else docs
    upstream = relus is not None or any(plan.upstream_graph for plan in plans)
    with temporary_hooks() as handles:
        for index, plan in enumerate(plans):
            handles.append(plan.module.register_forward_hook(
                _replacing_hook(store['captured'], index, connected)))
        if logits and first.final_module is not None:
            handles.append(first.final_module.register_forward_hook(_logit_hook(store)))
        # No graph upstream of the layer unless the plan needs one; the hook
        # turns recording on at the layer, leaving no_grad restores the mode.
        with nullcontext() if upstream else torch.no_grad(), relus or nullcontext():
            store['output'] = model_output(run_model(model, inputs), options)
    for plan, captured in zip(plans, store['captured']):
        if captured is None:
            raise ValueError(f'layer {plan.name!r} gave no tensor output to explain '
                             'in the second forward pass')
    store['inputs'] = inputs
    store['logits_used'] = logits and 'logits' in store
    store['scores'] = _as_scores(store['logits'] if store['logits_used'] else store['output'],
                                 int(docs.shape[0]))
    return store


def _layer_plans(model: nn.Module, docs: torch.Tensor, kind: DocumentKind,
                 options: ExplainOptions) -> List[LayerPlan]:
    """One plan per explained layer (``layer=[...]`` gives several)."""
    if not isinstance(options.layer, tuple):
        return [layer_plan(model, docs, kind, options)]
    return [layer_plan(model, docs, kind, options.replace(layer=item))
            for item in options.layer]


def _differentiable_pass(model: nn.Module, docs: torch.Tensor, kind: DocumentKind,
                         options: ExplainOptions, relus: Optional[GuidedReLUs]
                         ) -> Tuple[List[LayerPlan], Dict[str, Any]]:
    """The plans and a pass whose scores depend on the layers, or a named error."""
    plans = _layer_plans(model, docs, kind, options)
    store = _forward(model, docs, plans, options, relus)
    if not store['scores'].requires_grad and not any(p.upstream_graph for p in plans):
        plans = [remember_upstream_graph(model, docs, kind, options.replace(layer=item), plan)
                 for plan, item in zip(plans, _layer_items(options))]
        store = _forward(model, docs, plans, options, relus)
    if not store['scores'].requires_grad:
        raise ValueError(f'layer {plans[0].name!r}: the explained output does not depend '
                         'on it; pick a layer that runs before the output')
    return plans, store


def _layer_items(options: ExplainOptions) -> Tuple[Any, ...]:
    return options.layer if isinstance(options.layer, tuple) else (options.layer,)


def _input_gradients(store: Dict[str, Any], relus: GuidedReLUs, targets: np.ndarray,
                     options: ExplainOptions) -> torch.Tensor:
    """``(batch, targets, *spatial, channels)`` guided gradients of the NCHW input."""
    check_relus_ran(relus, options.method)
    relus.guided = True
    (gradients,) = gradients_by_target(store['scores'], [store['inputs']], targets,
                                       sign=-1.0 if options.counterfactual else 1.0)
    if gradients is None:
        raise ValueError(f'method={options.method!r}: the explained output does not depend '
                         'on the input through recorded operations (does the model run '
                         'under its own torch.no_grad()?)')
    return gradients.movedim(0, 1).movedim(2, -1)


def _layer_gradients(plans: Sequence[LayerPlan], store: Dict[str, Any],
                     targets: np.ndarray, strategy: str) -> List[torch.Tensor]:
    """Each layer's ``(targets, *raw)`` target gradients (plain ReLUs)."""
    captured = store['captured']
    if len(plans) == 1 and captured[0].is_leaf:
        return [target_gradients(store['scores'], captured[0], targets, strategy)]
    return [torch.zeros((targets.shape[1],) + tuple(tensor.shape), dtype=tensor.dtype,
                        device=tensor.device) if gradients is None else gradients
            for tensor, gradients in zip(captured, gradients_by_target(
                store['scores'], captured, targets))]


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
        ``layer`` (one or several), ``targets``, ``top_targets``,
        ``target_names``, ``score``, ``output`` and ``reshape`` are read from
        it; ``method`` and ``counterfactual`` for the guided methods, whose
        input gradients come from the same pass (see :mod:`.guided`).
    strategy : {'auto', 'batched', 'loop'}
        How several targets are differentiated, see :mod:`.gradients`.

    Returns
    -------
    LayerCapture
    """
    relus = GuidedReLUs() if options.method in GUIDED_METHODS else None
    with exclusive(model), eval_behaviour(model), gradients_enabled():
        plans, store = _differentiable_pass(model, docs, kind, options, relus)
        scores = store['scores']
        scores_np = as_numpy(scores).astype(np.float64)
        request = target_request(scores_np.shape[1], targets=options.targets,
                                 top_targets=options.top_targets,
                                 target_names=options.target_names)
        target_indices = request.select(scores_np)
        layers = []
        for plan, captured, gradients in zip(plans, store['captured'], _layer_gradients(
                plans, store, target_indices, strategy)):
            activations = _channels_last(plan.layout, captured.detach())
            # a bad reshape= was reported by the activations' conversion above
            layers.append(LayerArrays(as_numpy(activations), as_numpy(
                plan.layout.targets_to_channels_last(gradients)), plan.name))
        input_gradients = (None if relus is None else
                           as_numpy(_input_gradients(store, relus, target_indices, options)))
    return _as_capture(plans[0], store, scores_np, target_indices, layers, input_gradients)


def _as_capture(plan: LayerPlan, store: Dict[str, Any], scores_np: np.ndarray,
                target_indices: np.ndarray, layers: List[LayerArrays],
                input_gradients: Optional[np.ndarray]) -> LayerCapture:
    probabilities = None
    if store['logits_used']:
        probs = _as_scores(store['output'].detach(), scores_np.shape[0])
        probabilities = as_numpy(probs.exp() if plan.final_activation == 'log_softmax'
                                 else probs)
    return LayerCapture(activations=layers[0].activations,
                        gradients=layers[0].gradients,
                        scores=scores_np,
                        targets=target_indices,
                        layer_name=layers[0].layer_name,
                        final_activation=plan.final_activation,
                        logits=bool(store['logits_used']),
                        probabilities=probabilities,
                        more_layers=tuple(layers[1:]),
                        input_gradients=input_gradients)
