"""The model's scores on a batch of documents, without gradients: what metrics score."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from ..nn.options import ExplainOptions
from .documents import ModelInputs, model_inputs
from .inputs import as_numpy
from .plan import model_output, run_model
from .state import eval_behaviour, exclusive

__all__ = ['predict_scores']


def predict_scores(model: nn.Module, docs: Any, options: ExplainOptions = ExplainOptions()
                   ) -> np.ndarray:
    """The explained output of ``model`` on ``docs``, as numpy ``(batch, outputs)``.

    One forward pass under ``torch.no_grad()`` in eval behaviour; every
    module's ``training`` flag is restored afterwards and no hook is added.

    Parameters
    ----------
    model : torch.nn.Module
    docs : torch.Tensor, numpy.ndarray, mapping, tuple or ModelInputs
        ``(batch, ...)``; moved to the model's device (floats to its dtype).
    options : ExplainOptions
        ``output`` is read from it (which of several outputs holds the scores).

    Returns
    -------
    numpy.ndarray
        float64 ``(batch, outputs)``; a ``(batch,)`` output becomes ``(batch, 1)``.
    """
    batch = docs if isinstance(docs, ModelInputs) else model_inputs(model, docs,
                                                                    options.input_key)
    with exclusive(model), eval_behaviour(model), torch.no_grad():
        output = model_output(run_model(model, batch), options)
    scores = as_numpy(output).astype(np.float64)
    if scores.ndim == 1:
        scores = scores[:, np.newaxis]
    if scores.ndim != 2 or scores.shape[0] != batch.shape[0]:
        raise ValueError(f'output: the model output has shape {scores.shape}; metrics need one '
                         f'score per output, shape (batch, outputs) for a batch of '
                         f'{batch.shape[0]}: pick another output= or wrap the model')
    return scores
