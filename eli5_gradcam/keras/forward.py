"""What every backend does inside its forward pass, written once.

A backend module runs the model with the hooks of a :class:`Probe` (to see
every layer's output shape) or of a :class:`Tap` (to differentiate one
layer's output and read the scores); everything that is not a tensor
operation of a particular framework lives here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

import numpy as np

from ..nn.outputs import select_output
from ..nn.targets import TargetRequest, score_function_name
from .inputs import Docs, signature
from .layers import LayerRecord, is_model, walk_layers
from .patching import OutputHook

__all__ = ['StepPlan', 'StepResult', 'Probe', 'Tap', 'BackendOps', 'is_tensor', 'pick_output',
           'shape_of', 'step_key']

@dataclass(frozen=True)
class StepPlan:
    """Everything fixed for one (model, layer, input signature, score mode).

    Attributes
    ----------
    layer : object
        The layer whose output is explained.
    layer_path : str
        Its name, as the user would give it.
    head : object or None
        The model's last layer, where it applies a softmax and ``score='auto'``.
    head_kind : str or None
        ``'dense'`` or ``'input'``, see :func:`~eli5_gradcam.keras.layers.head_kind`.
    output : int, str or None
        Which model output to explain.
    n_outputs : int
        Number of scores of that output.
    layer_shape : tuple of int
        Shape of the layer's output, batch included.
    probabilities : bool
        Whether the model output is a probability (softmax or sigmoid).
    final_activation : str or None
        ``'softmax'`` or ``'sigmoid'`` when the model's last layer applies one.
    more_layers : tuple of (layer, path, shape)
        The other explained layers of ``layer=[...]``, in the order given.
    guided : bool
        Also differentiate the input, with the ReLUs of ``relu_layers``
        guided (:mod:`.guided`).
    relu_layers : tuple
        The layers a guided pass overrides.
    counterfactual : bool
        The guided input gradients are those of the negated scores.
    functions : tuple of callable
        Score-function targets: one score column each, after the outputs.
    """

    layer: Any
    layer_path: str
    head: Any
    head_kind: Optional[str]
    output: Any
    n_outputs: int
    layer_shape: Tuple[int, ...]
    probabilities: bool
    final_activation: Optional[str] = None
    more_layers: Tuple[Tuple[Any, str, Tuple[int, ...]], ...] = ()
    guided: bool = False
    relu_layers: Tuple[Any, ...] = ()
    counterfactual: bool = False
    functions: Tuple[Callable[[Any], Any], ...] = ()

    @property
    def explained(self) -> Tuple[Tuple[Any, str, Tuple[int, ...]], ...]:
        """Every explained ``(layer, path, shape)``, the first layer first."""
        return ((self.layer, self.layer_path, self.layer_shape),) + self.more_layers


class StepResult(NamedTuple):
    """What a backend's ``run`` returns, as numpy.

    ``activations`` and ``gradients`` hold one array per explained layer
    (``(batch, *spatial, channels)`` and ``(batch, targets, *spatial,
    channels)``); ``input_gradients`` is ``(batch, targets, *input_shape)``
    for a guided plan, else None.
    """

    activations: List[np.ndarray]
    gradients: List[np.ndarray]
    scores: np.ndarray
    probabilities: Optional[np.ndarray]
    targets: np.ndarray
    input_gradients: Optional[np.ndarray]


def shape_of(value: Any) -> Optional[Tuple[Optional[int], ...]]:
    """Shape of a single tensor (symbolic or not); None for structures."""
    if isinstance(value, (list, tuple, dict)) or not hasattr(value, 'shape'):
        return None
    try:
        return tuple(None if d is None else int(d) for d in value.shape)
    except TypeError:
        return None


def is_tensor(value: Any) -> bool:
    """Whether ``value`` is one (symbolic or eager) tensor, not a structure of them."""
    return shape_of(value) is not None


def pick_output(outputs: Any, output: Any, output_names: Optional[List[str]]) -> Any:
    """The explained output, by the rule of :func:`eli5_gradcam.nn.outputs.select_output`."""
    return select_output(outputs, output, is_tensor=is_tensor, output_names=output_names)


def output_names_of(model: Any) -> Optional[List[str]]:
    """The model's output names where it has them."""
    names = getattr(model, 'output_names', None)
    return list(names) if isinstance(names, (list, tuple)) else None


class Probe:
    """Hooks that record every layer's output shape, in completion order."""

    def __init__(self, model: Any, output: Any, needs_outputs: bool = True) -> None:
        self.paths: Dict[int, str] = {}
        self.layers: List[Any] = []
        for path, layer in walk_layers(model):
            if id(layer) not in self.paths:
                self.paths[id(layer)] = path
                self.layers.append(layer)
        self.output = output
        self.needs_outputs = needs_outputs
        self.output_names = output_names_of(model)
        self.records: List[LayerRecord] = []
        self.output_shape: Optional[Tuple[Optional[int], ...]] = None
        self.output_error: Optional[Exception] = None

    def _hook(self, layer: Any, args: tuple, outputs: Any) -> Any:
        self.records.append(LayerRecord(self.paths[id(layer)], layer, shape_of(outputs),
                                        is_model(layer)))
        return outputs

    def hooks(self) -> List[Tuple[Any, OutputHook]]:
        """One recording hook per layer of the model."""
        return [(layer, self._hook) for layer in self.layers]

    def finish(self, outputs: Any) -> None:
        """Record the shape of the explained output (a bad ``output=`` is kept in
        ``output_error`` too, so that it is not mistaken for the model failing)."""
        if not self.needs_outputs:           # only score functions are explained
            return
        try:
            selected = pick_output(outputs, self.output, self.output_names)
        except (ValueError, TypeError) as exc:
            self.output_error = exc
            raise
        self.output_shape = shape_of(selected)


class Tap:
    """Hooks for one differentiated forward pass.

    Parameters
    ----------
    plan : StepPlan
    model : keras.Model
        For its output names.
    mark : callable
        ``mark(index, layer_output) -> layer_output``: what the backend does to
        make the output of explained layer ``index`` (of
        :attr:`StepPlan.explained`) differentiable (add a zero tensor to it).
    dense : callable
        ``dense(inputs, layer, use_bias)``: a Dense layer's pre-activation in
        the backend's ops.  It runs inside the head's call, where the layer's
        weights are what the forward pass uses (JAX's stateless scope).
    """

    def __init__(self, plan: StepPlan, model: Any, mark: Callable[[int, Any], Any],
                 dense: Callable[[Any, Any, bool], Any]) -> None:
        self.plan = plan
        self.mark = mark
        self.dense = dense
        self.output_names = output_names_of(model)
        self.layer_outputs: List[Any] = [None] * len(plan.explained)
        self.logits: Any = None

    @property
    def activations(self) -> Any:
        """The first explained layer's output."""
        return self.layer_outputs[0]

    def _layer_hook(self, index: int) -> OutputHook:
        def hook(layer: Any, args: tuple, outputs: Any) -> Any:
            self.layer_outputs[index] = outputs
            return self.mark(index, outputs)
        return hook

    def _head_hook(self, layer: Any, args: tuple, outputs: Any) -> Any:
        inputs = args[0] if args else None
        if inputs is not None and self.plan.head_kind == 'dense':
            self.logits = self.dense(inputs, layer, bool(getattr(layer, 'use_bias', True)))
        elif inputs is not None:
            self.logits = inputs
        return outputs

    def hooks(self) -> List[Tuple[Any, OutputHook]]:
        """The layer's hook and, when scores are logits, the head's."""
        hooks: List[Tuple[Any, OutputHook]] = [
            (layer, self._layer_hook(index))
            for index, (layer, _, _) in enumerate(self.plan.explained)]
        if self.plan.head is not None and all(self.plan.head is not layer
                                              for layer, _, _ in self.plan.explained):
            hooks.append((self.plan.head, self._head_hook))
        return hooks

    def scores(self, outputs: Any, ops: 'BackendOps') -> Tuple[Any, Any]:
        """The scores to differentiate ``(batch, outputs + functions)`` and the
        probabilities ``(batch, outputs)``.

        Parameters
        ----------
        outputs : the model's outputs
        ops : BackendOps
            The backend's reshape, concatenation and float32 cast.
        """
        batch = self.plan.layer_shape[0]
        parts, probabilities = [], None
        if self.plan.n_outputs:
            selected = pick_output(outputs, self.plan.output, self.output_names)
            shape = (batch, self.plan.n_outputs)
            selected = ops.reshape(selected, shape)
            probabilities = selected if self.plan.probabilities else None
            use_logits = self.plan.head_kind is not None and self.logits is not None
            parts.append(ops.float32(ops.reshape(self.logits, shape) if use_logits
                                     else selected))
        for position, function in enumerate(self.plan.functions):
            parts.append(ops.float32(_score_column(function, outputs, batch, position, ops)))
        return (parts[0] if len(parts) == 1 else ops.concat(parts)), probabilities


@dataclass(frozen=True)
class BackendOps:
    """The few tensor operations :meth:`Tap.scores` needs, in a backend's ops."""

    reshape: Callable[[Any, Tuple[int, ...]], Any]
    concat: Callable[[List[Any]], Any]
    float32: Callable[[Any], Any]


def _score_column(function: Callable[[Any], Any], outputs: Any, batch: int, position: int,
                  ops: BackendOps) -> Any:
    """One score function's ``(batch, 1)`` column, or a named error."""
    column = function(outputs)
    shape = shape_of(column)
    if shape is None or tuple(shape) not in ((batch,), (batch, 1)):
        raise ValueError(f'targets: the score function '
                         f'{score_function_name(function, position)!r} returned '
                         f'{"shape " + str(tuple(shape)) if shape else type(column).__name__};'
                         f' it must return one score per document, shape ({batch},)')
    return ops.reshape(column, (batch, 1))


def step_key(backend: str, plan: StepPlan, docs: Docs, request: TargetRequest) -> Tuple:
    """Cache key of the compiled step of ``backend`` for this call: it is
    traced once per (layer, input signature, score mode, output, targets)."""
    return (backend, tuple(path for _, path, _ in plan.explained)) + signature(docs) + (
        plan.head_kind, plan.output, plan.n_outputs, request.key, plan.guided,
        plan.counterfactual)
