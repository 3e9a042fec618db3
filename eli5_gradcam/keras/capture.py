"""From a Keras model and a batch of documents to a :class:`LayerCapture`.

:func:`capture_keras` is the framework work of an explanation, for a batch
of one or more documents (already checked by :func:`.multi_input.keras_inputs`:
one array, or :class:`~.inputs.KerasInputs` for a model of several inputs):
probe the model once per input signature (cached), resolve the layer and
the score mode into a :class:`~eli5_gradcam.keras.forward.StepPlan` (cached),
and run the backend's compiled forward+gradient pass.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from ..nn.capture import LayerArrays, LayerCapture
from ..nn.errors import library_fault
from ..nn.guided import GUIDED_METHODS
from ..nn.kinds import DocumentKind
from ..nn.options import ExplainOptions
from ..nn.targets import score_function_name, target_request
from . import backend as backends
from .cache import cached
from .forward import Probe, StepPlan
from .guided import no_relu_error, relu_layers
from .inputs import Docs, describe, signature
from .layers import LayerRecord, final_activation, head_kind, resolve_layer

__all__ = ['capture_keras', 'probe_model', 'make_plan', 'plan_for', 'framework_message']


def framework_message(exc: BaseException) -> str:
    """A framework's error as one line: TensorFlow's graph errors lose their stack."""
    text = str(exc)
    if '(most recent call last)' in text:
        text = text.rstrip().rsplit('\n\n', 1)[-1]
    return f'{type(exc).__name__}: {" ".join(text.split())}'


def _model_failed(exc: Exception, docs: Docs, doing: str) -> ValueError:
    detail = str(exc) if isinstance(exc, (ValueError, TypeError)) else framework_message(exc)
    return ValueError(f'doc: the model {doing} on {describe(docs)}: {detail}')


def probe_model(model: Any, docs: Docs, output: Any, needs_outputs: bool = True) -> Probe:
    """Every layer's output shape on ``docs``' signature (cached per model and signature)."""
    module = backends.backend_module(model)

    def build() -> Probe:
        recorder = Probe(model, output, needs_outputs)
        try:
            module.probe(model, docs, recorder)
        except Exception as exc:  # framework errors, whatever their class
            if library_fault(exc):
                raise
            raise _model_failed(exc, docs, 'cannot run') from exc
        return recorder
    key = ('probe',) + signature(docs) + (repr(output), needs_outputs)
    return cached(model, key, build)


def _n_outputs(shape: Optional[Tuple[Optional[int], ...]]) -> int:
    if shape is None or len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] is None):
        raise ValueError(f'the explained output has shape {shape}; Grad-CAM needs scores of '
                         'shape (batch, outputs) or (batch,): pass output= to pick one')
    return 1 if len(shape) == 1 else int(shape[1])  # type: ignore[arg-type]


def _records(model: Any, recorder: Probe, kind: DocumentKind,
             options: ExplainOptions) -> Tuple[LayerRecord, ...]:
    """The explained layers' records (``layer=[...]`` gives several)."""
    items = options.layer if isinstance(options.layer, tuple) else (options.layer,)
    return tuple(resolve_layer(model, item, recorder.records, kind.spatial_ndim,
                                kind.image_hw)
                 for item in items)


def _shape(record: LayerRecord) -> Tuple[int, ...]:
    return tuple(int(d) for d in record.shape)  # type: ignore[union-attr, arg-type]


def make_plan(model: Any, recorder: Probe, kind: DocumentKind,
              options: ExplainOptions) -> StepPlan:
    """Resolve the layers, the score mode and the guided ReLUs for one signature."""
    records = _records(model, recorder, kind, options)
    record = records[0]
    guided = options.method in GUIDED_METHODS
    relus = relu_layers(model) if guided else ()
    if guided and not relus:
        raise no_relu_error(options.method)
    n_outputs = _n_outputs(recorder.output_shape) if options.needs_outputs else 0
    leaves = [r for r in recorder.records if not r.is_model]
    last = leaves[-1] if leaves else None
    activation = None
    if n_outputs and last is not None and last.shape == recorder.output_shape:
        activation = final_activation(last.layer)
    head = head_kind(last.layer) if (last is not None and activation is not None
                                     and options.score == 'auto') else None
    return StepPlan(layer=record.layer, layer_path=record.path,
                    head=last.layer if head and last is not None else None, head_kind=head,
                    output=options.output, n_outputs=n_outputs, layer_shape=_shape(record),
                    probabilities=activation is not None, final_activation=activation,
                    functions=options.score_functions,
                    more_layers=tuple((r.layer, r.path, _shape(r)) for r in records[1:]),
                    guided=guided, relu_layers=relus,
                    counterfactual=guided and options.counterfactual)


def plan_for(model: Any, docs: Docs, kind: DocumentKind,
             options: ExplainOptions) -> StepPlan:
    """The cached :class:`StepPlan` of this call (probing the model once per signature)."""
    recorder = probe_model(model, docs, options.output, options.needs_outputs)
    guided = options.method in GUIDED_METHODS
    key = ('plan',) + signature(docs) + (
        repr(options.output), options.score, options.layer_key, kind.spatial_ndim,
        options.needs_outputs, guided, guided and options.counterfactual)
    return cached(model, key,
                  lambda: make_plan(model, recorder, kind, options),
                  functions=options.score_functions)


def capture_keras(model: Any, docs: Docs, kind: DocumentKind,
                  options: ExplainOptions = ExplainOptions()) -> LayerCapture:
    """Activations, gradients and scores of one forward pass on a batch of documents.

    Parameters
    ----------
    model : keras.Model or tf_keras.Model
    docs : numpy.ndarray or KerasInputs
        ``(batch, ...)``, batch >= 1, as :func:`.multi_input.keras_inputs` returns.
    kind : DocumentKind
        What the documents ask of the layer (its spatial axes).
    options : ExplainOptions
        ``layer`` (one or several), ``targets``, ``top_targets``,
        ``target_names``, ``score`` and ``output`` are read from it;
        ``method`` and ``counterfactual`` for the guided methods, whose input
        gradients come from the same pass (see :mod:`.guided`).

    Returns
    -------
    LayerCapture
    """
    plan = plan_for(model, docs, kind, options)
    request = target_request(plan.n_outputs, targets=options.targets,
                             top_targets=options.top_targets,
                             target_names=options.target_names)
    module = backends.backend_module(model)
    try:
        result = module.run(model, plan, docs, request)
    except Exception as exc:  # the arguments are checked: the model failed on the values
        if library_fault(exc):
            raise
        raise _model_failed(exc, docs, 'failed') from exc
    layers = [LayerArrays(np.asarray(activations, dtype=np.float32),
                          np.asarray(gradients, dtype=np.float32), path)
              for (_, path, _), activations, gradients in zip(
                  plan.explained, result.activations, result.gradients)]
    return LayerCapture(
        activations=layers[0].activations,
        gradients=layers[0].gradients,
        scores=np.asarray(result.scores, dtype=np.float32),
        targets=np.asarray(result.targets, dtype=np.int64),
        layer_name=plan.layer_path,
        final_activation=plan.final_activation,
        logits=plan.head_kind is not None,
        probabilities=(None if result.probabilities is None
                       else np.asarray(result.probabilities, np.float32)),
        more_layers=tuple(layers[1:]),
        input_gradients=(None if result.input_gradients is None
                         else np.asarray(result.input_gradients, np.float32)),
        function_names=tuple(score_function_name(function, position)
                             for position, function in enumerate(plan.functions)),
    )
