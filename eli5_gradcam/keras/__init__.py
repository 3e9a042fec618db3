"""Keras adapter: Keras 3 (TensorFlow, PyTorch and JAX backends) and tf_keras models.

:func:`explain_prediction_keras` is what :func:`eli5.explain_prediction`
dispatches to for ``keras.Model`` and ``tf_keras.Model``.  Importing this
package imports no framework; the backend's module is imported the first
time a model is explained.
"""
from .capture import capture_keras
from .explain import explain_batch_keras, explain_prediction_keras

__all__ = ['explain_prediction_keras', 'explain_batch_keras', 'capture_keras']
