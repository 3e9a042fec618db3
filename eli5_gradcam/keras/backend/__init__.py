"""The one place that branches on the Keras backend.

Each module here (``tensorflow``, ``torch``, ``jax``) has the same three
functions, as Keras keeps one folder per backend with the same names:

``probe(model, docs, probe)``
    Run (or trace) the model on ``docs`` with ``probe.hooks()`` and call
    ``probe.finish(outputs)``: the output shape of every layer, no gradients.
``run(model, plan, docs, targets)``
    One forward pass, compiled where the backend allows, returning numpy
    ``(activations, gradients, scores, probabilities, targets)``.
``predict(model, docs, select)``
    The model's output on ``docs`` (``select`` picks the scores among its
    outputs) as numpy, without gradients: what the metrics score.

``tf_keras`` models run on the TensorFlow module.
"""
from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

__all__ = ['BACKENDS', 'backend_name', 'backend_module']

#: Backends with a module here.
BACKENDS = ('tensorflow', 'torch', 'jax')


def backend_name(model: Any) -> str:
    """The backend that runs ``model``: Keras 3's, or ``'tensorflow'`` for tf_keras."""
    top = type(model).__module__.split('.')[0]
    if top == 'tf_keras' or any(c.__module__.split('.')[0] == 'tf_keras'
                                for c in type(model).__mro__):
        return 'tensorflow'
    import keras
    name = str(keras.backend.backend())
    if name not in BACKENDS:
        raise ValueError(f'Keras backend {name!r} is not supported; use one of {BACKENDS} '
                         '(set KERAS_BACKEND)')
    return name


def backend_module(model: Any) -> ModuleType:
    """The module of :data:`BACKENDS` that runs ``model``."""
    return importlib.import_module(f'{__name__}.{backend_name(model)}')
