"""Which layer to explain: ``layer=`` resolved, or chosen by watching a forward pass.

:func:`trace_forward` runs the model once (no gradients) with a hook on
every module and records, in execution order, what each module produced.
The automatic choice (:func:`choose_layer`) is then the last module, in the
order modules *finished running*, whose output still has the spatial (image)
or sequence (text, signal) extent the input calls for.  Registration order
is not used: models often register modules in another order than they run.
A module object called more than once (a shared ``ReLU``) is not one layer
and is never chosen.  A container whose output *is* the output of its last
submodule (``features`` of a torchvision model, whose output ``features.7``
produced) is reported by that submodule's name, the most specific module
that runs once and produces the same tensor.

The trace also sees which embedding reads the token ids the model was given,
and checks the ids against its vocabulary before it runs.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
from torch import nn

from ..nn.doc_checks import check_token_ids
from ..nn.errors import ModelNotSupported
from .layer_outputs import describe_output, first_tensor
from .layout import CHANNELS_FIRST, Layout, Reshape, layout_for, module_order
from .state import same_thread, temporary_hooks

__all__ = ['ModuleRecord', 'ForwardTrace', 'trace_forward',
           'LayerRequest', 'resolve_module']

#: Modules that look token ids up in a table.
_EMBEDDINGS: Tuple[type, ...] = (nn.Embedding, nn.EmbeddingBag)

#: Final modules whose input is the logit (``score='auto'``), by kind.
_FINAL_KINDS: Tuple[Tuple[type, str], ...] = (
    (nn.Softmax, 'softmax'), (nn.LogSoftmax, 'log_softmax'), (nn.Sigmoid, 'sigmoid'))


@dataclass
class ModuleRecord:
    """What one module did during the traced forward pass.

    Attributes
    ----------
    name : str
        Its dotted name in ``model.named_modules()``.
    module : torch.nn.Module
    calls : int
        How many times it ran.
    start, end : int
        When its first call began and finished (a shared counter).
    shape : tuple of int, optional
        Shape of its (first call's) output tensor.
    order : str
        Axis order of that output, see :mod:`.layout`.
    producer : ModuleRecord, optional
        The submodule that finished just before this module and returned the
        very tensor this module returned (a container's last child).
    vocabulary : int, optional
        For an embedding that reads the model's input: its number of ids.
    """

    name: str
    module: nn.Module
    calls: int = 0
    start: int = -1
    end: int = -1
    shape: Optional[Tuple[int, ...]] = None
    order: str = CHANNELS_FIRST
    returned: str = ''
    producer: Optional['ModuleRecord'] = None
    vocabulary: Optional[int] = None


@dataclass
class ForwardTrace:
    """The modules of one forward pass, in the order they finished.

    Attributes
    ----------
    records : list of ModuleRecord
        Modules that ran (the model itself excluded), sorted by ``end``.
    final_name : str, optional
        The last module that ran, when the model's output *is* its output
        and it is an ``nn.Softmax``, ``nn.LogSoftmax`` or ``nn.Sigmoid``.
    final_kind : str, optional
        ``'softmax'``, ``'log_softmax'`` or ``'sigmoid'``.
    """

    records: List[ModuleRecord] = field(default_factory=list)
    final_name: Optional[str] = None
    final_kind: Optional[str] = None

    def by_name(self) -> Dict[str, ModuleRecord]:
        """The records keyed by module name."""
        return {record.name: record for record in self.records}

    def vocabulary(self) -> Optional[Tuple[str, int]]:
        """Name and size of the first embedding that read the model's input."""
        for record in sorted(self.records, key=lambda r: r.start):
            if record.vocabulary is not None:
                return record.name, record.vocabulary
        return None


def check_ids(ids: torch.Tensor, vocabulary: int, name: str) -> None:
    """Token ids must index the embedding ``name`` (a named ValueError otherwise)."""
    if ids.numel() and not ids.is_floating_point():
        check_token_ids(int(ids.min()), int(ids.max()), vocabulary=vocabulary, layer=name)


def _reads_input(module: nn.Module, args: Any, model_input: Any) -> bool:
    return isinstance(module, _EMBEDDINGS) and bool(args) and args[0] is model_input


def trace_forward(model: nn.Module, run: Callable[[], Any],
                  select: Callable[[Any], Optional[torch.Tensor]],
                  initial_order: str = CHANNELS_FIRST) -> ForwardTrace:
    """Run ``run()`` once without gradients, watching every module of ``model``.

    Parameters
    ----------
    model : torch.nn.Module
    run : callable
        Calls the model on the document and returns its raw output.
    select : callable
        Picks the explained output tensor from the raw output.
    initial_order : str
        Axis order of the input.

    Returns
    -------
    ForwardTrace
    """
    counter = itertools.count()
    records: Dict[int, ModuleRecord] = {}
    state: Dict[str, Any] = {'order': initial_order, 'last': None, 'input': None}

    ours = same_thread()

    def pre_hook(record: ModuleRecord) -> Callable[..., None]:
        def hook(module: nn.Module, args: Any) -> None:
            if record.start < 0 and ours():
                record.start = next(counter)
                if _reads_input(module, args, state['input']):
                    record.vocabulary = int(getattr(module, 'num_embeddings'))
                    check_ids(args[0], record.vocabulary, record.name)
        return hook

    def model_hook(module: nn.Module, args: Any) -> None:
        if state['input'] is None and args and ours():
            state['input'] = args[0]

    def post_hook(record: ModuleRecord) -> Callable[..., None]:
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            if not ours():
                return
            record.calls += 1
            order = module_order(module, state['order'])
            state['order'] = order
            tensor = first_tensor(output)
            previous = state['last']
            state['last'] = (record, tensor)
            if record.calls == 1:
                record.end = next(counter)
                record.order = order
                record.shape = None if tensor is None else tuple(tensor.shape)
                record.returned = '' if tensor is not None else describe_output(output)
                if (previous is not None and tensor is not None and previous[1] is tensor
                        and previous[0].name.startswith(record.name + '.')):
                    record.producer = previous[0]
        return hook

    with temporary_hooks() as handles:
        handles.append(model.register_forward_pre_hook(model_hook))
        for name, module in model.named_modules():
            if module is model:
                continue
            record = ModuleRecord(name=name, module=module)
            records[id(module)] = record
            handles.append(module.register_forward_pre_hook(pre_hook(record)))
            handles.append(module.register_forward_hook(post_hook(record)))
        with torch.no_grad():
            selected = select(run())
    trace = ForwardTrace(records=sorted((r for r in records.values() if r.calls > 0),
                                        key=lambda r: r.end))
    if state['last'] is not None:
        last_record, last_tensor = state['last']
        if selected is not None and last_tensor is selected:
            for final_type, kind in _FINAL_KINDS:
                if isinstance(last_record.module, final_type):
                    trace.final_name, trace.final_kind = last_record.name, kind
                    break
    return trace


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

