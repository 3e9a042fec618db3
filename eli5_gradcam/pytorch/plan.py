"""What one traced forward pass decides, cached per model: :class:`LayerPlan`.

The layer choice costs a traced forward pass with a hook on every module;
it is paid once per (model, input signature, layer, output, reshape) and
reused while the model keeps the same modules under the same names.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Optional, Tuple

import torch
from torch import nn

from .._cache import ModelCache
from ..nn.doc_checks import integer_pixels_advice, missing_batch_advice
from ..nn.errors import library_fault, model_boundary
from ..nn.image import looks_like_image
from ..nn.kinds import DocumentKind
from ..nn.options import ExplainOptions
from ..nn.outputs import select_output
from .documents import ModelInputs
from .layers import LayerRequest, resolve_module
from .trace import check_ids, trace_forward
from .layout import CHANNELS_FIRST, CHANNELS_LAST, Layout

__all__ = ['LayerPlan', 'PLANS', 'layer_plan', 'remember_upstream_graph', 'run_model',
           'model_output']


@dataclass(frozen=True)
class LayerPlan:
    """The explained layer of one model, and how to differentiate it.

    Attributes
    ----------
    name : str
        The explained layer's name.
    module : torch.nn.Module
        That layer (a submodule: it does not keep the model alive).
    layout : Layout
        Where its output's channels are.
    final_activation : str, optional
        ``'softmax'``, ``'log_softmax'`` or ``'sigmoid'`` when the model ends in one.
    final_module : torch.nn.Module, optional
        That final module.
    final_name : str, optional
        Its name.
    upstream_graph : bool
        Record the graph from the input on: the model runs part of its
        forward pass under its own ``torch.no_grad()`` (a frozen backbone),
        so the cheaper pass that records only from the layer on, which relies
        on recording staying on, lost the path to the output.
    vocabulary : (str, int), optional
        Name and size of the embedding that reads the token ids, checked on
        every call (see :func:`.layers.check_ids`).
    """

    name: str
    module: nn.Module
    layout: Layout
    final_activation: Optional[str]
    final_module: Optional[nn.Module]
    final_name: Optional[str]
    upstream_graph: bool = False
    vocabulary: Optional[Tuple[str, int]] = None

    def still_valid(self, model: nn.Module) -> bool:
        """The model still holds the same layer (and final module) under the same names."""
        try:
            if model.get_submodule(self.name) is not self.module:
                return False
            return self.final_name is None or (
                model.get_submodule(self.final_name) is self.final_module)
        except AttributeError:
            return False


#: Plans per model, see the module docstring.
PLANS = ModelCache()


_IMAGE_CHANNELS = (1, 3, 4)


@model_boundary
def _call(model: nn.Module, docs: ModelInputs) -> Any:
    return model(*docs.args, **docs.kwargs)


def run_model(model: nn.Module, docs: ModelInputs) -> Any:
    """Call the model: the one place the user's ``forward`` is called.

    An exception raised by the model's own code becomes a ``ValueError``
    about ``doc``; one raised by this package (a hook) surfaces as itself.
    """
    try:
        return _call(model, docs)
    except Exception as exc:
        if library_fault(exc):
            raise
        raise ValueError(f'doc: the model failed on a doc of shape {docs.shape} and dtype '
                         f'{docs.explained.dtype}: {type(exc).__name__}: {exc}'
                         f'{_hint(docs.explained)}') from exc


def _hint(docs: torch.Tensor) -> str:
    """What is likely wrong with a doc the model failed on: its layout or its dtype."""
    shape = tuple(int(size) for size in docs.shape)
    if docs.ndim == 4 and docs.shape[-1] in _IMAGE_CHANNELS and (
            docs.shape[1] not in _IMAGE_CHANNELS):
        return ('; doc looks channels-last (N, H, W, C) but PyTorch models take NCHW: '
                'pass doc.permute(0, 3, 1, 2)')
    if not docs.is_floating_point() and looks_like_image(shape):
        return '; ' + integer_pixels_advice(str(docs.dtype).replace('torch.', ''))
    advice = missing_batch_advice(shape, channels_first=True)
    return '' if advice is None else '; ' + advice


def model_output(raw: Any, options: ExplainOptions) -> torch.Tensor:
    """The explained output tensor of the model's raw output."""
    selected: torch.Tensor = select_output(raw, options.output,
                                           is_tensor=lambda v: isinstance(v, torch.Tensor))
    return selected


def _key(docs: ModelInputs, kind: DocumentKind, options: ExplainOptions) -> Any:
    key = (docs.signature, kind, options.layer_key, options.needs_outputs,
           options.output, None if options.reshape is None else id(options.reshape))
    try:
        hash(key)
    except TypeError:            # an unhashable layer or output: do not cache
        return None
    return key


def layer_plan(model: nn.Module, docs: ModelInputs, kind: DocumentKind,
               options: ExplainOptions) -> LayerPlan:
    """The cached plan for this call, tracing one forward pass only when needed."""
    key = _key(docs, kind, options)
    plan = None if key is None else PLANS.get(model, key)
    if plan is not None and plan.still_valid(model) and (
            options.reshape is None or plan.layout.reshape is options.reshape):
        if plan.vocabulary is not None:
            check_ids(docs.explained, plan.vocabulary[1], plan.vocabulary[0])
        return plan
    request = LayerRequest(spatial_ndim=kind.spatial_ndim, batch=int(docs.shape[0]),
                           image_hw=kind.image_hw, reshape=options.reshape)
    initial = CHANNELS_FIRST if docs.explained.is_floating_point() else CHANNELS_LAST
    trace = trace_forward(model, lambda: run_model(model, docs),
                          lambda raw: (model_output(raw, options) if options.needs_outputs
                                       else None), initial)
    record, layout = resolve_module(model, options.layer, trace, request)
    final_module = (None if trace.final_name is None
                    else model.get_submodule(trace.final_name))
    plan = LayerPlan(name=record.name, module=record.module, layout=layout,
                     final_activation=trace.final_kind, final_module=final_module,
                     final_name=trace.final_name, vocabulary=trace.vocabulary())
    if key is not None:
        PLANS.put(model, key, plan)
    return plan


def remember_upstream_graph(model: nn.Module, docs: ModelInputs, kind: DocumentKind,
                            options: ExplainOptions, plan: LayerPlan) -> LayerPlan:
    """The plan with :attr:`LayerPlan.upstream_graph` set, cached for next time."""
    plan = replace(plan, upstream_graph=True)
    key = _key(docs, kind, options)
    if key is not None:
        PLANS.put(model, key, plan)
    return plan
