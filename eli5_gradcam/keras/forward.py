"""What every backend does inside its forward pass, written once.

A backend module runs the model with the hooks of a :class:`Probe` (to see
every layer's output shape) or of a :class:`Tap` (to differentiate one
layer's output and read the scores); everything that is not a tensor
operation of a particular framework lives here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from .layers import LayerRecord, is_model, walk_layers
from .patching import OutputHook

__all__ = ['Plan', 'Probe', 'Tap', 'TargetRequest', 'select_output', 'shape_of', 'step_key']

#: ``score_name`` of the capture for each score mode.
SCORE_NAMES = {'softmax': 'pre-softmax logit', 'sigmoid': 'pre-sigmoid logit',
               'output': 'model output'}


@dataclass(frozen=True)
class Plan:
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
    layer_dtype : str
        Its dtype.
    probabilities : bool
        Whether the model output is a probability (softmax or sigmoid).
    final_activation : str or None
        ``'softmax'`` or ``'sigmoid'`` when the model's last layer applies one.
    """

    layer: Any
    layer_path: str
    head: Any
    head_kind: Optional[str]
    output: Any
    n_outputs: int
    layer_shape: Tuple[int, ...]
    layer_dtype: str
    probabilities: bool
    final_activation: Optional[str] = None


def shape_of(value: Any) -> Optional[Tuple[Optional[int], ...]]:
    """Shape of a single tensor (symbolic or not); None for structures."""
    if isinstance(value, (list, tuple, dict)) or not hasattr(value, 'shape'):
        return None
    try:
        return tuple(None if d is None else int(d) for d in value.shape)
    except TypeError:
        return None


def select_output(outputs: Any, output: Any, output_names: Optional[List[str]] = None) -> Any:
    """Pick the explained output of a model that may return several.

    Parameters
    ----------
    outputs : tensor, list, tuple or dict
    output : int, str or None
        None: the only output; int: an index; str: a key or an output name.
    output_names : list of str, optional
        The model's output names, to look ``output`` up by name.
    """
    if isinstance(outputs, dict):
        keys = list(outputs)
        if output is None:
            if len(keys) == 1:
                return outputs[keys[0]]
            raise ValueError(f'the model has {len(keys)} outputs {keys}; pass output= '
                             'a key or an index to choose one')
        if isinstance(output, str):
            if output not in outputs:
                raise ValueError(f'output {output!r} not found; the model outputs {keys}')
            return outputs[output]
        output = int(output)
        if not 0 <= output < len(keys):
            raise ValueError(f'output index {output} out of range; the model has '
                             f'{len(keys)} outputs {keys}')
        return outputs[keys[output]]
    if isinstance(outputs, (list, tuple)):
        if output is None:
            if len(outputs) == 1:
                return outputs[0]
            raise ValueError(f'the model has {len(outputs)} outputs; pass output= an index '
                             f'or a name {output_names or ""} to choose one')
        if isinstance(output, str):
            if not output_names or output not in output_names:
                raise ValueError(f'output {output!r} not found; the model outputs '
                                 f'{output_names}')
            output = output_names.index(output)
        if isinstance(output, bool) or not isinstance(output, int):
            raise TypeError(f'output must be an int index or a str name; got {output!r}')
        if not 0 <= output < len(outputs):
            raise ValueError(f'output index {output} out of range; the model has '
                             f'{len(outputs)} outputs')
        return outputs[output]
    if output not in (None, 0) and not (isinstance(output, str) and output_names
                                        and output_names == [output]):
        raise ValueError(f'output={output!r}, but the model has a single output; '
                         'leave output=None')
    return outputs


def output_names_of(model: Any) -> Optional[List[str]]:
    """The model's output names where it has them."""
    names = getattr(model, 'output_names', None)
    return list(names) if isinstance(names, (list, tuple)) else None


class Probe:
    """Hooks that record every layer's output shape, in completion order."""

    def __init__(self, model: Any, output: Any) -> None:
        self.paths: Dict[int, str] = {}
        self.layers: List[Any] = []
        for path, layer in walk_layers(model):
            if id(layer) not in self.paths:
                self.paths[id(layer)] = path
                self.layers.append(layer)
        self.output = output
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
        try:
            selected = select_output(outputs, self.output, self.output_names)
        except (ValueError, TypeError) as exc:
            self.output_error = exc
            raise
        self.output_shape = shape_of(selected)


class Tap:
    """Hooks for one differentiated forward pass.

    Parameters
    ----------
    plan : Plan
    model : keras.Model
        For its output names.
    mark : callable
        ``mark(layer_output) -> layer_output``: what the backend does to make
        the layer's output differentiable (add a zero tensor to it).
    dense : callable
        ``dense(inputs, layer, use_bias)``: a Dense layer's pre-activation in
        the backend's ops.  It runs inside the head's call, where the layer's
        weights are what the forward pass uses (JAX's stateless scope).
    """

    def __init__(self, plan: Plan, model: Any, mark: Callable[[Any], Any],
                 dense: Callable[[Any, Any, bool], Any]) -> None:
        self.plan = plan
        self.mark = mark
        self.dense = dense
        self.output_names = output_names_of(model)
        self.activations: Any = None
        self.logits: Any = None

    def _layer_hook(self, layer: Any, args: tuple, outputs: Any) -> Any:
        self.activations = outputs
        return self.mark(outputs)

    def _head_hook(self, layer: Any, args: tuple, outputs: Any) -> Any:
        inputs = args[0] if args else None
        if inputs is not None and self.plan.head_kind == 'dense':
            self.logits = self.dense(inputs, layer, bool(getattr(layer, 'use_bias', True)))
        elif inputs is not None:
            self.logits = inputs
        return outputs

    def hooks(self) -> List[Tuple[Any, OutputHook]]:
        """The layer's hook and, when scores are logits, the head's."""
        hooks: List[Tuple[Any, OutputHook]] = [(self.plan.layer, self._layer_hook)]
        if self.plan.head is not None and self.plan.head is not self.plan.layer:
            hooks.append((self.plan.head, self._head_hook))
        return hooks

    def scores(self, outputs: Any,
               reshape: Callable[[Any, Tuple[int, ...]], Any]) -> Tuple[Any, Any]:
        """The scores to differentiate ``(batch, outputs)`` and the probabilities.

        Parameters
        ----------
        outputs : the model's outputs
        reshape : callable
            The backend's reshape.
        """
        selected = select_output(outputs, self.plan.output, self.output_names)
        shape = (self.plan.layer_shape[0], self.plan.n_outputs)
        selected = reshape(selected, shape)
        probabilities = selected if self.plan.probabilities else None
        if self.plan.head_kind is None or self.logits is None:
            return selected, probabilities
        return reshape(self.logits, shape), probabilities


@dataclass(frozen=True)
class TargetRequest:
    """Which outputs to differentiate: the ``top`` k (negative: lowest) by score,
    chosen inside the compiled function, or ``given`` indices ``(batch, T)``."""

    top: Optional[int] = None
    given: Any = None

    @property
    def count(self) -> int:
        """Number of targets per document."""
        return abs(int(self.top)) if self.top is not None else int(self.given.shape[1])

    @property
    def key(self) -> Tuple[str, int]:
        """What a compiled function depends on."""
        return ('top', int(self.top)) if self.top is not None else ('given', self.count)

    def given_indices(self, batch: int) -> np.ndarray:
        """The given indices as an int32 ``(batch, T)`` array (``T = 0`` for top-k),
        the compiled function's second argument."""
        if self.given is None:
            return np.zeros((batch, 0), np.int32)
        return np.asarray(self.given, np.int32)


def step_key(backend: str, plan: Plan, docs: np.ndarray, request: TargetRequest) -> Tuple:
    """Cache key of the compiled step of ``backend`` for this call: it is
    traced once per (layer, input signature, score mode, output, targets)."""
    return (backend, plan.layer_path, docs.shape, str(docs.dtype), plan.head_kind,
            plan.output, request.key)
