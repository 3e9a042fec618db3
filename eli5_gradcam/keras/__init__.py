"""Keras adapter: Keras 3 (every backend) and tf_keras models.

Not implemented yet (issue: "Keras: explain Keras 3 models"); the
dispatch to it is real.
"""
from __future__ import annotations

from typing import Any

from eli5.base import Explanation

__all__ = ['explain_prediction_keras']


def explain_prediction_keras(model: Any, doc: Any, **kwargs: Any) -> Explanation:
    """Explain a Keras model's prediction (not implemented yet)."""
    return Explanation(type(model).__name__,
                       error='eli5_gradcam: the Keras adapter is not implemented yet')
