"""Which layer to explain: ``layer=`` resolved, or chosen from a traced forward pass.

The trace (:func:`.trace.trace_forward`) lists the modules in the order they
*finished running*.  The automatic choice is the last of them whose output
still has the spatial (image) or sequence (text, signal) extent the input
calls for.  Registration order is not used: models often register modules
in another order than they run.  A module object called more than once (a
shared ``ReLU``) is not one layer and is never chosen.  A container whose
output *is* the output of its last submodule (``features`` of a torchvision
model, whose output ``features.7`` produced) is reported by that
submodule's name, the most specific module that runs once and produces the
same tensor.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional, Tuple

from torch import nn

from ..nn.errors import ModelNotSupported
from .layout import Layout, Reshape, layout_for
from .trace import ForwardTrace, ModuleRecord

__all__ = ['LayerRequest', 'resolve_module']


@dataclass(frozen=True)
class LayerRequest:
    """What the input asks of a layer.

    Attributes
    ----------
    spatial_ndim : int
        2 for images, 1 for text and signals.
    batch : int
    image_hw : (int, int), optional
        ``(height, width)`` of an image input.
    reshape : callable, optional
        The user's conversion to channels last.
    """

    spatial_ndim: int
    batch: int
    image_hw: Optional[Tuple[int, int]] = None
    reshape: Optional[Reshape] = None

    def layout(self, record: ModuleRecord) -> Optional[Layout]:
        """The layout of ``record``'s output if it fits the request, else None."""
        if record.shape is None:
            return None
        layout = layout_for(record.shape, record.order, image_hw=self.image_hw,
                            reshape=self.reshape)
        spatial = layout.spatial_shape(record.shape, self.batch)
        if spatial is None or len(spatial) != self.spatial_ndim or math.prod(spatial) <= 1:
            return None
        return layout


def _is_attention(module: nn.Module) -> bool:
    return isinstance(module, nn.MultiheadAttention) or (
        'attention' in type(module).__name__.lower())


def _candidates(trace: ForwardTrace, request: LayerRequest
                ) -> List[Tuple[ModuleRecord, Layout]]:
    found = []
    for record in trace.records:
        layout = request.layout(record)
        if record.calls == 1 and layout is not None:
            found.append((record, layout))
    return found


def _automatic(trace: ForwardTrace, request: LayerRequest) -> Tuple[ModuleRecord, Layout]:
    candidates = _candidates(trace, request)
    if not candidates:
        wanted = 'a 2-D spatial' if request.spatial_ndim == 2 else (
            f'a {request.spatial_ndim}-D sequence/spatial')
        problem = ModelNotSupported if request.reshape is None else ValueError
        raise problem(
            f'layer=None: no module of the model gives {wanted} output for this input (each '
            'module that runs once was checked); pass layer= (a name from '
            'model.named_modules()) and, for an unusual output layout, reshape=')
    record, layout = candidates[-1]
    if layout.drop_class_token or request.spatial_ndim == 1:
        # A Vision Transformer's class token (a BERT's [CLS]) is read after the
        # last block: later token outputs only get gradient at that token, so
        # the map comes from the input of the last attention (its ``norm1``).
        starts = [r.start for r in trace.records if _is_attention(r.module)]
        if starts:
            earlier = [c for c in candidates if c[0].end < max(starts)]
            if earlier:
                record, layout = earlier[-1]
    return _most_specific(record, layout, request)


def _most_specific(record: ModuleRecord, layout: Layout, request: LayerRequest
                   ) -> Tuple[ModuleRecord, Layout]:
    """The deepest submodule that runs once and produced ``record``'s output tensor."""
    while record.producer is not None and record.producer.calls == 1:
        inner = request.layout(record.producer)
        if inner is None or inner != layout:
            break
        record, layout = record.producer, inner
    return record, layout


def _listing(names: List[str], limit: int = 25) -> str:
    shown = ', '.join(names[-limit:])
    return ('... ' if len(names) > limit else '') + shown


def _named(model: nn.Module, layer: object) -> str:
    """The dotted name of ``layer`` given by name, index or module object."""
    named = list(model.named_modules())
    if isinstance(layer, bool) or not isinstance(layer, (str, int, nn.Module)):
        raise TypeError('layer must be None, a module name (str), an index into '
                        'model.named_modules() (int) or a torch.nn.Module; got '
                        f'{type(layer).__name__} {layer!r}')
    if isinstance(layer, int):
        if not -len(named) <= layer < len(named):
            raise ValueError(f'layer index {layer} is out of range: the model has '
                             f'{len(named)} modules in model.named_modules()')
        return named[layer][0]
    if isinstance(layer, nn.Module):
        for name, module in named:
            if module is layer:
                return name
        raise ValueError(f'layer: the module {type(layer).__name__} given is not part of '
                         'the model')
    return layer


def resolve_module(model: nn.Module, layer: object, trace: ForwardTrace,
                  request: LayerRequest) -> Tuple[ModuleRecord, Layout]:
    """The layer to explain and its layout.

    Parameters
    ----------
    model : torch.nn.Module
    layer : None, str, int or torch.nn.Module
        None: the automatic choice (see the module's docstring); a dotted
        name from ``model.named_modules()``; an index into that list; or the
        module itself.
    trace : ForwardTrace
        From :func:`trace_forward`.
    request : LayerRequest

    Returns
    -------
    (ModuleRecord, Layout)
    """
    if layer is None:
        return _automatic(trace, request)
    name = _named(model, layer)
    candidates = [record.name for record, _ in _candidates(trace, request)]
    if name not in dict(model.named_modules()):
        raise ValueError(f'layer {name!r} not found in model; layers with '
                         f'{"spatial" if request.spatial_ndim == 2 else "sequence"} '
                         f'output: {_listing(candidates) or "none"}')
    record = trace.by_name().get(name)
    if record is None:
        if name == '':
            raise ValueError("layer '' is the model itself: its output has no spatial or "
                             f'sequence extent; pick one of: {_listing(candidates)}')
        raise ValueError(f'layer {name!r} did not run in the forward pass; pick one of: '
                         f'{_listing(candidates)}')
    if record.calls != 1:
        raise ValueError(f'layer {name!r} runs {record.calls} times in one forward pass '
                         '(a shared module), so it is not one layer; pick one of: '
                         f'{_listing(candidates)}')
    if record.shape is None:
        raise ValueError(f'layer {name!r} returns {record.returned}, nothing to explain; '
                         'a layer must return a tensor (or a tuple, list or ModelOutput '
                         'holding one); pick one of: '
                         f'{_listing(candidates) or "none"}')
    layout = request.layout(record)
    if layout is None and request.reshape is not None:
        raise ValueError(f'reshape: on the output of layer {name!r} (shape {record.shape}) '
                         'it failed or did not return a (batch, *spatial, channels) tensor '
                         f'with {request.spatial_ndim} spatial axes larger than one position')
    if layout is None:
        wanted = '2-D spatial' if request.spatial_ndim == 2 else (
            f'{request.spatial_ndim}-D sequence')
        raise ValueError(f'layer {name!r} has output shape {record.shape}, which has no '
                         f'{wanted} extent for this input; pick one of: '
                         f'{_listing(candidates) or "none"} (or pass reshape=)')
    return record, layout

