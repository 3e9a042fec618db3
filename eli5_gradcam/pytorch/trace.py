"""One forward pass watched module by module: a :class:`ForwardTrace`.

:func:`trace_forward` runs the model once (no gradients) with a hook on
every module and records, in execution order, what each module produced:
when it started and finished, how often it ran, its output's shape and axis
order, the container whose output it is, and which embedding reads the
token ids the model was given (checked against its vocabulary before it
runs).  :mod:`.layers` chooses and resolves layers from it.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import torch
from torch import nn

from ..nn.doc_checks import check_token_ids
from .layer_outputs import describe_output, first_tensor
from .layout import CHANNELS_FIRST, module_order
from .state import same_thread, temporary_hooks

__all__ = ['ModuleRecord', 'ForwardTrace', 'trace_forward', 'check_ids']

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
            if ours():
                _record_output(record, module, output, state, counter)
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
    _mark_final(trace, state['last'], selected)
    return trace


def _record_output(record: ModuleRecord, module: nn.Module, output: Any,
                   state: Dict[str, Any], counter: Iterator[int]) -> None:
    """What a module's call produced: its first call's output and axis order,
    and the submodule whose very tensor it returned (a container's last child)."""
    record.calls += 1
    order = module_order(module, state['order'])
    state['order'] = order
    tensor = first_tensor(output)
    previous = state['last']
    state['last'] = (record, tensor)
    if record.calls > 1:
        return
    record.end = next(counter)
    record.order = order
    record.shape = None if tensor is None else tuple(tensor.shape)
    record.returned = '' if tensor is not None else describe_output(output)
    if (previous is not None and tensor is not None and previous[1] is tensor
            and previous[0].name.startswith(record.name + '.')):
        record.producer = previous[0]


def _mark_final(trace: ForwardTrace, last: Optional[Tuple[ModuleRecord, Any]],
                selected: Optional[torch.Tensor]) -> None:
    """Set ``trace.final_name`` / ``final_kind`` when the module that ran last
    produced the explained output and is a softmax, log-softmax or sigmoid."""
    if last is None or selected is None or last[1] is not selected:
        return
    for final_type, kind in _FINAL_KINDS:
        if isinstance(last[0].module, final_type):
            trace.final_name, trace.final_kind = last[0].name, kind
            return
