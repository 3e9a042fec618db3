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
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import torch
from torch import nn

from .._cache import ModelCache
from ..nn.capture import LayerCapture
from ..nn.targets import TargetNames, resolve_targets
from .gradients import DEFAULT_STRATEGY, target_gradients
from .inputs import as_numpy
from .layers import LayerRequest, first_tensor, resolve_layer, trace_forward
from .layout import CHANNELS_FIRST, CHANNELS_LAST, Layout, Reshape
from .state import eval_behaviour, exclusive, gradients_enabled, same_thread, temporary_hooks

__all__ = ['CaptureResult', 'select_output', 'capture_layer']

_SCORE_NAMES = {'softmax': 'pre-softmax logit', 'log_softmax': 'pre-softmax logit',
                'sigmoid': 'pre-sigmoid logit', None: 'model output'}


@dataclass(frozen=True)
class CaptureResult:
    """A :class:`LayerCapture` and what the adapter learnt about the output.

    Attributes
    ----------
    capture : LayerCapture
    is_regression : bool
        One output, and no final sigmoid: a regression value.
    """

    capture: LayerCapture
    is_regression: bool


def select_output(raw: Any, output: object = None) -> torch.Tensor:
    """The explained tensor of a model's output.

    Parameters
    ----------
    raw : tensor, tuple, list, dict or object with attributes
        What the model returned.
    output : int, str or None
        Index (tuple, list), key (dict) or attribute name (e.g. a Hugging
        Face ``ModelOutput``); None: ``logits`` if there is one, else the
        first element.

    Returns
    -------
    torch.Tensor
    """
    if isinstance(raw, torch.Tensor):
        if output is not None:
            raise ValueError(f'output={output!r} selects part of a model output, but the '
                             'model returns a single tensor; pass output=None')
        return raw
    chosen: Any
    if output is None:
        if isinstance(raw, dict):
            chosen = raw['logits'] if 'logits' in raw else next(iter(raw.values()), None)
        elif hasattr(raw, 'logits'):
            chosen = raw.logits
        elif isinstance(raw, (tuple, list)) and raw:
            chosen = raw[0]
        else:
            raise TypeError(f'the model returned a {type(raw).__name__}, not a tensor, '
                            'tuple, list, dict or an object with .logits; pass output=')
    elif isinstance(output, bool) or not isinstance(output, (int, str)):
        raise TypeError(f'output must be an int index or a str key/attribute; got {output!r}')
    else:
        try:
            if isinstance(raw, dict):
                chosen = raw[output]
            elif isinstance(output, int) and isinstance(raw, (tuple, list)):
                chosen = raw[output]
            elif isinstance(output, str):
                chosen = getattr(raw, output)
            else:
                raise KeyError(output)
        except (KeyError, IndexError, AttributeError) as exc:
            raise ValueError(f'output={output!r} is not part of the model output '
                             f'({type(raw).__name__})') from exc
    if not isinstance(chosen, torch.Tensor):
        raise ValueError(f'output: the selected model output is a {type(chosen).__name__}, '
                         'not a tensor; pass output= to pick the scores')
    return chosen


def _replacing_hook(store: Dict[str, torch.Tensor]) -> Callable[..., Any]:
    ours = same_thread()

    def hook(module: nn.Module, args: Any, output: Any) -> Any:
        tensor = first_tensor(output)
        if tensor is None or 'captured' in store or not ours():
            return None
        captured = tensor.detach().requires_grad_(True)
        store['captured'] = captured
        # Everything upstream ran without recording a graph (see capture_layer);
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


_IMAGE_CHANNELS = (1, 3, 4)


def _run(model: nn.Module, docs: torch.Tensor) -> Any:
    try:
        return model(docs)
    except (RuntimeError, TypeError, ValueError, IndexError) as exc:
        hint = ''
        if docs.ndim == 4 and docs.shape[-1] in _IMAGE_CHANNELS and (
                docs.shape[1] not in _IMAGE_CHANNELS):
            hint = ('; doc looks channels-last (N, H, W, C) but PyTorch models take NCHW: '
                    'pass doc.permute(0, 3, 1, 2)')
        raise ValueError(f'doc: the model failed on a doc of shape {tuple(docs.shape)} and '
                         f'dtype {docs.dtype}: {exc}{hint}') from exc


def _channels_last(layout: Layout, tensor: torch.Tensor) -> torch.Tensor:
    converted = layout.to_channels_last(tensor)
    if not isinstance(converted, torch.Tensor):
        raise TypeError(f'reshape must return a torch.Tensor; got {type(converted).__name__}')
    return converted


@dataclass(frozen=True)
class Plan:
    """What one traced forward pass decided, reused while the model keeps its modules.

    Attributes
    ----------
    name : str
        The explained layer's name.
    module : torch.nn.Module
        That layer (a submodule: it does not keep the model alive).
    layout : Layout
        Where its output's channels are.
    final_kind : str, optional
        ``'softmax'``, ``'log_softmax'`` or ``'sigmoid'`` when the model ends in one.
    final_module : torch.nn.Module, optional
        That final module.
    final_name : str, optional
        Its name.
    """

    name: str
    module: nn.Module
    layout: Layout
    final_kind: Optional[str]
    final_module: Optional[nn.Module]
    final_name: Optional[str]

    def still_valid(self, model: nn.Module) -> bool:
        """The model still holds the same layer (and final module) under the same names."""
        try:
            if model.get_submodule(self.name) is not self.module:
                return False
            return self.final_name is None or (
                model.get_submodule(self.final_name) is self.final_module)
        except AttributeError:
            return False


#: Plans per model: the layer choice costs a traced forward pass, paid once
#: per (model, input signature, layer, output) instead of once per call.
PLANS = ModelCache()


def _layer_key(layer: object) -> object:
    return ('module', id(layer)) if isinstance(layer, nn.Module) else layer


def _plan(model: nn.Module, docs: torch.Tensor, request: LayerRequest, layer: object,
          output: object) -> Plan:
    """The cached plan for this call, tracing one forward pass only when needed."""
    try:
        key: Any = (tuple(docs.shape), docs.dtype, docs.device, request.spatial_ndim,
                    request.image_hw, _layer_key(layer), output,
                    None if request.reshape is None else id(request.reshape))
        hash(key)
    except TypeError:            # an unhashable output= spec: do not cache
        key = None
    plan = None if key is None else PLANS.get(model, key)
    if plan is not None and plan.still_valid(model) and (
            request.reshape is None or plan.layout.reshape is request.reshape):
        return plan
    initial = CHANNELS_FIRST if docs.is_floating_point() else CHANNELS_LAST
    trace = trace_forward(model, lambda: _run(model, docs),
                          lambda raw: select_output(raw, output), initial)
    record, layout = resolve_layer(model, layer, trace, request)
    final_module = (None if trace.final_name is None
                    else model.get_submodule(trace.final_name))
    plan = Plan(name=record.name, module=record.module, layout=layout,
                final_kind=trace.final_kind, final_module=final_module,
                final_name=trace.final_name)
    if key is not None:
        PLANS.put(model, key, plan)
    return plan


def capture_layer(model: nn.Module,
                  docs: torch.Tensor,
                  *,
                  spatial_ndim: int,
                  image_hw: Optional[Tuple[int, int]] = None,
                  layer: object = None,
                  targets: object = None,
                  top_targets: Optional[int] = None,
                  target_names: Optional[TargetNames] = None,
                  score: str = 'auto',
                  output: object = None,
                  reshape: Optional[Reshape] = None,
                  strategy: str = DEFAULT_STRATEGY) -> CaptureResult:
    """Run ``model`` once on ``docs`` and capture a layer and its target gradients.

    Works for a batch of any size; the model is run in eval behaviour and
    left as it was (see :mod:`.state`).

    Parameters
    ----------
    model : torch.nn.Module
    docs : torch.Tensor
        ``(batch, ...)`` on the model's device (see :func:`.inputs.as_model_input`).
    spatial_ndim : int
        Spatial axes the layer must have: 2 (images), 1 (text, signals).
    image_hw : (int, int), optional
        ``(height, width)`` of image inputs.
    layer, targets, top_targets, target_names, score, output, reshape
        As in :func:`~eli5_gradcam.pytorch.explain_prediction_pytorch`.
    strategy : {'auto', 'batched', 'loop'}
        How several targets are differentiated, see :mod:`.gradients`.

    Returns
    -------
    CaptureResult
    """
    batch = int(docs.shape[0])
    request = LayerRequest(spatial_ndim=spatial_ndim, batch=batch, image_hw=image_hw,
                           reshape=reshape)
    with exclusive(model), eval_behaviour(model), gradients_enabled():
        plan = _plan(model, docs, request, layer, output)
        final_kind = plan.final_kind if score == 'auto' else None
        store: Dict[str, torch.Tensor] = {}
        with temporary_hooks() as handles:
            handles.append(plan.module.register_forward_hook(_replacing_hook(store)))
            if final_kind is not None and plan.final_module is not None:
                handles.append(plan.final_module.register_forward_hook(_logit_hook(store)))
            # No graph upstream of the layer: its gradient needs none, and not
            # recording one saves the time and memory of every layer before it.
            # The hook turns recording on at the layer; leaving no_grad restores
            # the mode.
            with torch.no_grad():
                selected = select_output(_run(model, docs), output)
        if 'captured' not in store:
            raise ValueError(f'layer {plan.name!r} gave no tensor output to explain '
                             'in the second forward pass')
        captured = store['captured']
        if final_kind is None or 'logits' not in store:
            final_kind = None
            scores = _as_scores(selected, batch)
        else:
            scores = _as_scores(store['logits'], batch)
        if not scores.requires_grad:
            raise ValueError(f'layer {plan.name!r}: the explained output does not depend '
                             'on it; pick a layer that runs before the output')
        scores_np = as_numpy(scores).astype(np.float64)
        target_indices = resolve_targets(scores_np, targets=targets, top_targets=top_targets,
                                         target_names=target_names)
        gradients = target_gradients(scores, captured, target_indices, strategy)
        activations = _channels_last(plan.layout, captured.detach())
        # a bad reshape= was reported by the activations' conversion above
        gradients_last = plan.layout.targets_to_channels_last(gradients)
    probabilities = None
    if final_kind is not None:
        probs = _as_scores(selected.detach(), batch)
        probabilities = as_numpy(probs.exp() if final_kind == 'log_softmax' else probs)
    capture = LayerCapture(activations=as_numpy(activations),
                           gradients=as_numpy(gradients_last),
                           scores=scores_np,
                           targets=target_indices,
                           layer_name=plan.name,
                           score_name=_SCORE_NAMES[final_kind],
                           probabilities=probabilities)
    is_regression = scores_np.shape[1] == 1 and plan.final_kind not in ('sigmoid', 'softmax',
                                                                          'log_softmax')
    return CaptureResult(capture=capture, is_regression=is_regression)
