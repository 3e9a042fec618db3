"""Keras adapter: Keras 3 (TensorFlow, PyTorch and JAX backends) and tf_keras models.

:func:`explain_prediction_keras` is what :func:`eli5.explain_prediction`
dispatches to for ``keras.Model`` and ``tf_keras.Model``.  Importing this
package imports no framework; the backend's module is imported the first
time a model is explained.
"""
from .capture import capture_keras
from .documents import check_docs
from .explain import KERAS, capture_batch, explain_batch_keras, explain_prediction_keras
from .inputs import KerasInputs
from .multi_input import keras_inputs

__all__ = ['explain_prediction_keras', 'explain_batch_keras', 'capture_batch', 'capture_keras',
           'check_docs', 'keras_inputs', 'KerasInputs', 'KERAS']
