"""The model's scores on a batch of documents, without gradients: what metrics score."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..nn.errors import library_fault
from ..nn.options import ExplainOptions
from . import backend as backends
from .capture import framework_message
from .forward import output_names_of, pick_output
from .inputs import KerasInputs, batch_size, describe
from .multi_input import keras_inputs

__all__ = ['predict_scores']


def predict_scores(model: Any, docs: Any, options: ExplainOptions = ExplainOptions()
                   ) -> np.ndarray:
    """The explained output of ``model`` on ``docs``, as numpy ``(batch, outputs)``.

    The model runs in inference mode (``training=False``) on its backend,
    recording no gradients; nothing about the model is changed.

    Parameters
    ----------
    model : keras.Model or tf_keras.Model
    docs : array-like, dict, list or KerasInputs
        ``(batch, ...)``, see :func:`.multi_input.keras_inputs`.
    options : ExplainOptions
        ``output`` is read from it (which of several outputs holds the scores).

    Returns
    -------
    numpy.ndarray
        float64 ``(batch, outputs)``; a ``(batch,)`` output becomes ``(batch, 1)``.
    """
    array = docs if isinstance(docs, KerasInputs) else keras_inputs(model, docs,
                                                                    options.input_key)
    count = batch_size(array)
    names = output_names_of(model)
    module = backends.backend_module(model)
    try:
        scores = module.predict(model, array,
                                lambda outputs: pick_output(outputs, options.output, names))
    except Exception as exc:
        if library_fault(exc):      # ours (a bad output=), not the model's
            raise
        raise ValueError(f'doc: the model failed on {describe(array)}: '
                         f'{framework_message(exc)}') from exc
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim == 1:
        scores = scores[:, np.newaxis]
    if scores.ndim != 2 or scores.shape[0] != count:
        raise ValueError(f'output: the model output has shape {scores.shape}; metrics need one '
                         f'score per output, shape (batch, outputs) for a batch of '
                         f'{count}: pick another output=')
    return scores
