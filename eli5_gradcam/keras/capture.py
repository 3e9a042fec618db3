"""From a Keras model and a batch of documents to a :class:`LayerCapture`.

:func:`capture_keras` is the framework work of an explanation, for a batch
of one or more documents (already checked by :func:`.documents.check_docs`):
probe the model once per input signature (cached), resolve the layer and
the score mode into a :class:`~eli5_gradcam.keras.forward.StepPlan` (cached),
and run the backend's compiled forward+gradient pass.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from ..nn.capture import LayerCapture
from ..nn.errors import library_fault
from ..nn.kinds import DocumentKind
from ..nn.options import ExplainOptions
from ..nn.targets import score_function_name, target_request
from . import backend as backends
from .cache import cached
from .forward import Probe, StepPlan
from .layers import LayerRecord, final_activation, head_kind, resolve_layer

__all__ = ['capture_keras', 'probe_model', 'make_plan', 'plan_for', 'framework_message']


def framework_message(exc: BaseException) -> str:
    """A framework's error as one line: TensorFlow's graph errors lose their stack."""
    text = str(exc)
    if '(most recent call last)' in text:
        text = text.rstrip().rsplit('\n\n', 1)[-1]
    return f'{type(exc).__name__}: {" ".join(text.split())}'


def _model_failed(exc: Exception, docs: np.ndarray, doing: str) -> ValueError:
    detail = str(exc) if isinstance(exc, (ValueError, TypeError)) else framework_message(exc)
    return ValueError(f'doc: the model {doing} on a doc of shape {docs.shape} and dtype '
                      f'{docs.dtype}: {detail}')


def probe_model(model: Any, docs: np.ndarray, output: Any,
                needs_outputs: bool = True) -> Probe:
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
    key = ('probe', docs.shape, str(docs.dtype), repr(output), needs_outputs)
    return cached(model, key, build)


def _n_outputs(shape: Optional[Tuple[Optional[int], ...]]) -> int:
    if shape is None or len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] is None):
        raise ValueError(f'the explained output has shape {shape}; Grad-CAM needs scores of '
                         'shape (batch, outputs) or (batch,): pass output= to pick one')
    return 1 if len(shape) == 1 else int(shape[1])  # type: ignore[arg-type]


def make_plan(model: Any, recorder: Probe, kind: DocumentKind,
              options: ExplainOptions) -> StepPlan:
    """Resolve the layer and the score mode for one signature."""
    record: LayerRecord = resolve_layer(model, options.layer, recorder.records,
                                        kind.spatial_ndim, kind.image_hw)
    n_outputs = _n_outputs(recorder.output_shape) if options.needs_outputs else 0
    leaves = [r for r in recorder.records if not r.is_model]
    last = leaves[-1] if leaves else None
    activation = None
    if n_outputs and last is not None and last.shape == recorder.output_shape:
        activation = final_activation(last.layer)
    head = head_kind(last.layer) if (last is not None and activation is not None
                                     and options.score == 'auto') else None
    shape = tuple(int(d) for d in record.shape)  # type: ignore[union-attr, arg-type]
    return StepPlan(layer=record.layer, layer_path=record.path,
                    head=last.layer if head and last is not None else None, head_kind=head,
                    output=options.output, n_outputs=n_outputs, layer_shape=shape,
                    probabilities=activation is not None, final_activation=activation,
                    functions=options.score_functions)


def plan_for(model: Any, docs: np.ndarray, kind: DocumentKind,
             options: ExplainOptions) -> StepPlan:
    """The cached :class:`StepPlan` of this call (probing the model once per signature)."""
    recorder = probe_model(model, docs, options.output, options.needs_outputs)
    return cached(model, ('plan', docs.shape, str(docs.dtype), repr(options.output),
                          options.score, options.layer_key, kind.spatial_ndim,
                          options.needs_outputs),
                  lambda: make_plan(model, recorder, kind, options),
                  functions=options.score_functions)


def capture_keras(model: Any, docs: np.ndarray, kind: DocumentKind,
                  options: ExplainOptions = ExplainOptions()) -> LayerCapture:
    """Activations, gradients and scores of one forward pass on a batch of documents.

    Parameters
    ----------
    model : keras.Model or tf_keras.Model
    docs : numpy.ndarray
        ``(batch, ...)``, batch >= 1, as :func:`.documents.check_docs` returns.
    kind : DocumentKind
        What the documents ask of the layer (its spatial axes).
    options : ExplainOptions
        ``layer``, ``targets``, ``top_targets``, ``target_names``, ``score``
        and ``output`` are read from it.

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
        activations, gradients, scores, probabilities, target_indices = module.run(
            model, plan, docs, request)
    except Exception as exc:  # the arguments are checked: the model failed on the values
        if library_fault(exc):
            raise
        raise _model_failed(exc, docs, 'failed') from exc
    return LayerCapture(
        activations=np.asarray(activations, dtype=np.float32),
        gradients=np.asarray(gradients, dtype=np.float32),
        scores=np.asarray(scores, dtype=np.float32),
        targets=np.asarray(target_indices, dtype=np.int64),
        layer_name=plan.layer_path,
        final_activation=plan.final_activation,
        logits=plan.head_kind is not None,
        probabilities=None if probabilities is None else np.asarray(probabilities, np.float32),
        function_names=tuple(score_function_name(function, position)
                             for position, function in enumerate(plan.functions)),
    )
