"""From a Keras model and a batch of documents to a :class:`LayerCapture`.

:func:`capture_keras` is the framework work of an explanation, for a batch
of one or more documents: check the documents, probe the model once per
input signature (cached), resolve the layer and the score mode into a
:class:`~eli5_gradcam.keras.forward.Plan` (cached), and run the backend's
compiled forward+gradient pass.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from ..nn.capture import LayerCapture
from ..nn.targets import TargetNames, resolve_targets
from . import backend as backends
from .cache import cached
from .forward import SCORE_NAMES, Plan, Probe, TargetRequest
from .layers import LayerRecord, final_activation, head_kind, resolve_layer

__all__ = ['capture_keras', 'check_docs', 'probe_model', 'make_plan']


def framework_message(exc: BaseException) -> str:
    """A framework's error as one line: TensorFlow's graph errors lose their stack."""
    text = str(exc)
    if '(most recent call last)' in text:
        text = text.rstrip().rsplit('\n\n', 1)[-1]
    return f'{type(exc).__name__}: {" ".join(text.split())}'


def _expected_input_shape(model: Any) -> Optional[Tuple[Optional[int], ...]]:
    inputs = getattr(model, 'inputs', None)
    if not isinstance(inputs, (list, tuple)) or len(inputs) != 1:
        return None
    try:
        return tuple(None if d is None else int(d) for d in inputs[0].shape)
    except (TypeError, AttributeError, ValueError):
        return None


def _expected_input_dtype(model: Any) -> Optional[str]:
    inputs = getattr(model, 'inputs', None)
    if isinstance(inputs, (list, tuple)) and len(inputs) == 1:
        dtype = getattr(inputs[0], 'dtype', None)
        name = getattr(dtype, 'name', dtype)
        return None if name is None else str(name)
    return None


def _matches(shape: Tuple[int, ...], expected: Tuple[Optional[int], ...]) -> bool:
    return len(shape) == len(expected) and all(
        e is None or e == s for s, e in zip(shape[1:], expected[1:]))


def check_docs(model: Any, docs: Any) -> np.ndarray:
    """Documents as a numpy batch the model accepts, or a named error.

    Parameters
    ----------
    model : keras.Model or tf_keras.Model
    docs : array-like
        ``(batch, ...)``: numpy array, list, or a TensorFlow / torch / JAX tensor.

    Returns
    -------
    numpy.ndarray
        Floats in the model's input dtype (float32 by default), integers as int32.
    """
    if isinstance(docs, (str, bytes, dict)) or docs is None:
        raise TypeError('doc must be a numeric array with a batch axis (pixels, token ids, '
                        f'a signal); got {type(docs).__name__}')
    if hasattr(docs, 'detach') and hasattr(docs, 'cpu'):      # a torch tensor
        docs = docs.detach().cpu().numpy()
    try:
        array = np.asarray(docs)
    except (TypeError, ValueError) as exc:
        raise TypeError(f'doc must be a numeric array; got {type(docs).__name__}') from exc
    if array.dtype == bool:
        array = array.astype(np.float32)
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise TypeError('doc must be a numeric array (pixels, token ids, a signal); got an '
                        f'array of dtype {array.dtype}')
    if array.ndim < 2:
        raise ValueError(f'doc must have a batch axis: shape (1, ...); got shape {array.shape}'
                         ' (add one with doc[np.newaxis])')
    if array.shape[0] < 1 or array.size == 0:
        raise ValueError(f'doc is empty; got shape {array.shape}')
    expected = _expected_input_shape(model)
    if expected is not None and not _matches(array.shape, expected):
        moved = np.moveaxis(array, 1, -1).shape if array.ndim == 4 else None
        if moved is not None and _matches(moved, expected):
            raise ValueError(f'doc has shape {array.shape}, which looks channels-first, but '
                             f'the model expects channels-last input {expected}; pass '
                             'np.moveaxis(doc, 1, -1)')
        raise ValueError(f'doc has shape {array.shape} but the model expects input of shape '
                         f'{expected} (None: any size)')
    dtype = _expected_input_dtype(model)
    if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
        raise ValueError(f'doc holds {int((~np.isfinite(array)).sum())} NaN or infinite '
                         f'value(s) (shape {array.shape}); Grad-CAM needs finite inputs')
    if np.issubdtype(array.dtype, np.floating) and dtype and dtype.startswith(('int', 'uint')):
        if not np.array_equal(array, np.round(array)):
            raise ValueError(f'doc: the model takes integer input ({dtype}, e.g. token ids) '
                             f'but doc holds non-integer floats (dtype {array.dtype})')
        array = array.astype(np.int32)
    elif np.issubdtype(array.dtype, np.floating):
        wanted = dtype if dtype and dtype.startswith(('float', 'bfloat')) else 'float32'
        array = array.astype(wanted)
    elif dtype and dtype.startswith('float'):
        array = array.astype(dtype)
    else:
        array = array.astype(np.int32)
    return np.ascontiguousarray(array)


def probe_model(model: Any, docs: np.ndarray, output: Any) -> Probe:
    """Every layer's output shape on ``docs``' signature (cached per model and signature)."""
    if not getattr(model, 'built', True):
        raise ValueError('model is not built (it has no weights yet): call it on data, or '
                         'load trained weights, before explaining it')
    module = backends.backend_module(model)

    def build() -> Probe:
        recorder = Probe(model, output)
        try:
            module.probe(model, docs, recorder)
        except Exception as exc:  # framework errors, whatever their class
            if recorder.output_error is not None:     # a bad output=, not a bad doc
                raise recorder.output_error from None
            detail = str(exc) if isinstance(exc, (ValueError, TypeError)) else (
                framework_message(exc))
            raise ValueError(f'doc: the model cannot run on a doc of shape {docs.shape} and '
                             f'dtype {docs.dtype}: {detail}') from exc
        return recorder
    key = ('probe', docs.shape, str(docs.dtype), repr(output))
    return cached(model, key, build)


def _n_outputs(shape: Optional[Tuple[Optional[int], ...]]) -> int:
    if shape is None or len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] is None):
        raise ValueError(f'the explained output has shape {shape}; Grad-CAM needs scores of '
                         'shape (batch, outputs) or (batch,): pass output= to pick one')
    return 1 if len(shape) == 1 else int(shape[1])  # type: ignore[arg-type]


def _leaf_records(recorder: Probe) -> list:
    return [r for r in recorder.records if not r.is_model]


def make_plan(model: Any, recorder: Probe, *, layer: object, rank: Optional[int],
              score: str, output: Any) -> Plan:
    """Resolve the layer and the score mode for one signature."""
    record: LayerRecord = resolve_layer(model, layer, recorder.records, rank)
    n_outputs = _n_outputs(recorder.output_shape)
    leaves = _leaf_records(recorder)
    last = leaves[-1] if leaves else None
    activation = None
    if last is not None and last.shape == recorder.output_shape:
        activation = final_activation(last.layer)
    kind = head_kind(last.layer) if (last is not None and activation is not None
                                      and score == 'auto') else None
    shape = tuple(int(d) for d in record.shape)  # type: ignore[union-attr, arg-type]
    return Plan(layer=record.layer, layer_path=record.path,
                head=last.layer if kind and last is not None else None, head_kind=kind, output=output,
                n_outputs=n_outputs, layer_shape=shape, layer_dtype='float32',
                probabilities=activation is not None, final_activation=activation)


def final_activation_of(model: Any, recorder: Probe) -> Optional[str]:
    """``'softmax'``/``'sigmoid'`` when the model's last layer applies one."""
    leaves = _leaf_records(recorder)
    if leaves and leaves[-1].shape == recorder.output_shape:
        return final_activation(leaves[-1].layer)
    return None


def capture_keras(model: Any, docs: Any, *,
                  layer: object = None,
                  rank: Optional[int] = None,
                  targets: object = None,
                  top_targets: Optional[int] = None,
                  target_names: Optional[TargetNames] = None,
                  score: str = 'auto',
                  output: Any = None) -> LayerCapture:
    """Activations, gradients and scores of one forward pass on a batch of documents.

    Parameters
    ----------
    model : keras.Model or tf_keras.Model
    docs : array-like
        ``(batch, ...)``, batch >= 1.
    layer : None, str, int or Layer
        See :func:`~eli5_gradcam.keras.layers.resolve_layer`.
    rank : int or None
        Rank of the layer output wanted by the automatic choice.
    targets, top_targets, target_names
        See :func:`~eli5_gradcam.nn.targets.resolve_targets`.
    score : {'auto', 'output'}
    output : int, str or None
        Which model output, for models with several.

    Returns
    -------
    LayerCapture
    """
    array = check_docs(model, docs)
    recorder = probe_model(model, array, output)
    plan = cached(model, ('plan', array.shape, str(array.dtype), repr(output), score,
                          _layer_key(layer), rank),
                  lambda: make_plan(model, recorder, layer=layer, rank=rank, score=score,
                                    output=output))
    checked = resolve_targets(np.zeros((array.shape[0], plan.n_outputs)), targets=targets,
                              top_targets=top_targets, target_names=target_names)
    if targets is None:
        request = TargetRequest(top=(1 if top_targets is None
                                     else int(np.sign(top_targets)) * checked.shape[1]))
    else:
        request = TargetRequest(given=checked)
    module = backends.backend_module(model)
    try:
        activations, gradients, scores, probabilities, target_indices = module.run(
            model, plan, array, request)
    except Exception as exc:  # the arguments are checked: the model failed on the values
        raise ValueError(f'doc: the model failed on a doc of shape {array.shape} and dtype '
                         f'{array.dtype}: {framework_message(exc)}') from exc
    return LayerCapture(
        activations=np.asarray(activations, dtype=np.float32),
        gradients=np.asarray(gradients, dtype=np.float32),
        scores=np.asarray(scores, dtype=np.float32),
        targets=np.asarray(target_indices, dtype=np.int64),
        layer_name=plan.layer_path,
        score_name=SCORE_NAMES[(plan.final_activation if plan.head_kind else None) or 'output'],
        probabilities=None if probabilities is None else np.asarray(probabilities, np.float32),
    )


def _layer_key(layer: object) -> object:
    if layer is None or isinstance(layer, (str, int)):
        return (type(layer).__name__, layer)
    return ('object', id(layer))
