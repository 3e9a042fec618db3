"""Forward passes without a backward pass: Eigen-CAM, Score-CAM, Ablation-CAM.

Written once for every backend; each backend module only compiles them
(``compile_pass``: ``tf.function``, ``jax.jit``, or eager PyTorch under
``no_grad``) and hands them its own array operations (:class:`PassOps`: a
``tf_keras`` model runs on TensorFlow whatever Keras 3's backend is), and
the compiled functions are cached per model like the gradient steps
(:mod:`.cache`).

* :func:`forward_capture`: the gradient-free :class:`LayerCapture`;
* :func:`masked_scores`: Score-CAM's scores of a document times masks;
* :func:`ablated_scores`: Ablation-CAM's scores with one channel of the
  layer zeroed per row.  The patched ``call`` of the layer (see
  :mod:`.patching`) multiplies its output by a ``(n, 1.., channels)`` batch
  of zeros-and-ones: with ``whole=False`` the model runs on the one document,
  so the layers below the explained one run once and only those above it
  see the ``n`` ablated copies; with ``whole=True`` it runs on ``n`` copies.

Compiled backends (TensorFlow, JAX) trace once per input shape, so a batch
of rows smaller than the one compiled is padded to it and the padding's
scores dropped.

For a model of several inputs (:class:`~.inputs.KerasInputs`) Score-CAM's
masks multiply the explained input only, and Ablation-CAM's whole-model
runs repeat every input.
"""
from __future__ import annotations

from typing import Any, Callable, List, NamedTuple, Tuple

import numpy as np

from ..nn.capture import LayerCapture
from ..nn.errors import library_fault
from ..nn.kinds import DocumentKind
from ..nn.options import ExplainOptions
from ..nn.targets import target_request
from . import backend as backends
from .cache import CACHE
from .capture import _model_failed, plan_for
from .forward import OutputHook, StepPlan, Tap, pick_output
from .inputs import Docs, explained, map_structure, put, select, signature, slot, take
from .patching import wrapped_calls

__all__ = ['PassOps', 'forward_capture', 'masked_scores', 'ablated_scores']


class PassOps(NamedTuple):
    """The few array operations the passes need, in one backend's own terms."""

    #: ``reshape(x, shape)``
    reshape: Callable[[Any, Tuple[int, ...]], Any]
    #: ``float32(x)``: ``x`` cast to float32
    float32: Callable[[Any], Any]
    #: ``zeros(shape)``: float32 zeros
    zeros: Callable[[Tuple[int, ...]], Any]
    #: ``repeat(x, n)``: ``x`` repeated ``n`` times along the batch axis
    repeat: Callable[[Any, int], Any]
    #: ``like(x, y)``: ``x`` cast to ``y``'s dtype
    like: Callable[[Any, Any], Any]


class PassTap(Tap):
    """:class:`~.forward.Tap` for passes whose batch is not the documents'."""

    def scores(self, outputs: Any, ops: Any) -> Tuple[Any, Any]:
        """``(rows, outputs)`` scores (logits where ``score='auto'``) and probabilities;
        ``ops`` has the backend's ``reshape`` (score functions are not supported here)."""
        reshape = ops.reshape
        selected = reshape(pick_output(outputs, self.plan.output, self.output_names),
                           (-1, self.plan.n_outputs))
        probabilities = selected if self.plan.probabilities else None
        if self.plan.head_kind is None or self.logits is None:
            return selected, probabilities
        return reshape(self.logits, (-1, self.plan.n_outputs)), probabilities


def _scores_of(plan: StepPlan, model: Any, dense: Callable[..., Any], ops: PassOps,
               call: Callable[..., Any], inputs: Any,
               mark: Callable[[Any], Any]) -> Tuple[Any, Any, Any]:
    """Run the model once with the tap's hooks: ``(activations, scores, probabilities)``."""
    tap = PassTap(plan, model, lambda index, outputs: mark(outputs), dense)
    hooks: List[Tuple[Any, OutputHook]] = tap.hooks()
    with wrapped_calls(hooks):
        outputs = call(inputs)
    scores, probabilities = tap.scores(outputs, ops)
    if probabilities is None:
        probabilities = ops.zeros((0,))
    return tap.activations, ops.float32(scores), ops.float32(probabilities)


def _compiled(model: Any, key: tuple, body: Callable[..., Any]) -> Callable[..., Any]:
    module = backends.backend_module(model)
    return CACHE.get_or_build(model, (module.__name__,) + key,
                              lambda: module.compile_pass(model, body))


def _run(model: Any, docs: Docs, run: Callable[..., Any], *arrays: Docs,
         wrap: bool = True) -> Any:
    """``run(*arrays)``; the model's own failure as a ValueError about ``doc``
    (``wrap=False``: as it was raised)."""
    try:
        return run(*arrays)
    except Exception as exc:  # the arguments are checked: the model failed on the values
        if library_fault(exc) or not wrap:
            raise
        raise _model_failed(exc, docs, 'failed') from exc


def forward_capture(model: Any, docs: Docs, kind: DocumentKind,
                    options: ExplainOptions) -> LayerCapture:
    """The layer's activations and the scores of one forward pass, ``gradients=None``."""
    plan = plan_for(model, docs, kind, options)

    def body(call: Callable[..., Any], dense: Callable[..., Any], ops: PassOps,
             inputs: Any) -> Any:
        return _scores_of(plan, model, dense, ops, call, inputs, lambda outputs: outputs)
    run = _compiled(model, ('forward', plan.layer_path) + signature(docs) + (
        plan.head_kind, repr(plan.output)), body)
    activations, scores, probabilities = _run(model, docs, run, docs)
    scores = np.asarray(scores, dtype=np.float32)
    request = target_request(plan.n_outputs, targets=options.targets,
                             top_targets=options.top_targets, target_names=options.target_names)
    return LayerCapture(
        activations=np.asarray(activations, dtype=np.float32), gradients=None, scores=scores,
        targets=request.select(scores), layer_name=plan.layer_path,
        final_activation=plan.final_activation, logits=plan.head_kind is not None,
        probabilities=(np.asarray(probabilities, dtype=np.float32) if plan.probabilities
                       else None))


def _padded_run(model: Any, key: tuple, body: Callable[..., Any], docs: Docs,
                rows: np.ndarray, fixed: Docs, wrap: bool = True) -> np.ndarray:
    """Run ``body`` on the ``fixed`` document and ``rows`` (padded to the largest
    batch compiled so far for ``key`` on backends that compile per shape)."""
    count = len(rows)
    if backends.backend_module(model).PADS:
        sizes = CACHE.get_or_build(model, ('pass-rows',) + key, lambda: [count])
        size = max(sizes[0], count)
        sizes[0] = size
        if size > count:
            rows = np.concatenate([rows, np.zeros((size - count,) + rows.shape[1:],
                                                  rows.dtype)])
        key = key + (size,)
    (scores,) = _run(model, docs, _compiled(model, key, body), fixed, rows, wrap=wrap)
    return np.asarray(scores)[:count]


def masked_scores(model: Any, docs: Docs, item: int, masks: np.ndarray,
                  kind: DocumentKind, options: ExplainOptions) -> np.ndarray:
    """Scores ``(n, outputs)`` of ``docs[item]`` with its explained input
    multiplied by each of ``n`` masks."""
    dtype = explained(docs).dtype
    if not np.issubdtype(dtype, np.floating):
        raise ValueError(f"method='scorecam' multiplies the document by masks, but doc holds "
                         f'{dtype} values (token ids?); use another method, or explain '
                         'a model that takes float inputs (embeddings)')
    plan = plan_for(model, docs, kind, options)
    where, fixed = slot(docs), select(docs, item)

    def body(call: Callable[..., Any], dense: Callable[..., Any], ops: PassOps, doc: Any,
             weights: Any) -> Any:
        masked = put(doc, where, take(doc, where) * weights)
        return _scores_of(plan, model, dense, ops, call, masked, lambda outputs: outputs)[1:2]
    key = ('masked', plan.layer_path) + signature(fixed) + (
        plan.head_kind, repr(plan.output), masks.shape[1:])
    return _padded_run(model, key, body, docs, masks.astype(dtype), fixed)


def ablated_scores(model: Any, docs: Docs, item: int, channels: np.ndarray,
                   kind: DocumentKind, options: ExplainOptions, *, whole: bool) -> np.ndarray:
    """Scores ``(n, outputs)`` of ``docs[item]`` with channel ``channels[i]``
    of the layer zeroed in row ``i`` (see the module docstring)."""
    plan = plan_for(model, docs, kind, options)
    width = plan.layer_shape[-1]
    keep = np.ones((len(channels), width), dtype=np.float32)
    rows = np.flatnonzero(channels >= 0)
    keep[rows, channels[rows]] = 0.0
    shape = (-1,) + (1,) * (len(plan.layer_shape) - 2) + (width,)

    def body(call: Callable[..., Any], dense: Callable[..., Any], ops: PassOps, doc: Any,
             kept: Any) -> Any:
        def mark(outputs: Any) -> Any:
            return outputs * ops.like(ops.reshape(kept, shape), outputs)
        count = int(kept.shape[0])
        inputs = map_structure(lambda tensor: ops.repeat(tensor, count), doc) if whole else doc
        return _scores_of(plan, model, dense, ops, call, inputs, mark)[1:2]
    fixed = select(docs, item)
    key = ('ablated', plan.layer_path) + signature(fixed) + (
        plan.head_kind, repr(plan.output), whole)
    # the model's own failure on the ablated batch is raised as it is: the caller
    # then tries the other way (see eli5_gradcam.nn.passes)
    return _padded_run(model, key, body, docs, keep, fixed, wrap=False)
