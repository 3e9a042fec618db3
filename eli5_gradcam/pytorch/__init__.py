"""PyTorch adapter: explain any ``torch.nn.Module``.

Not implemented yet (issue: "PyTorch: explain any torch.nn.Module"); the
dispatch to it is real.
"""
from __future__ import annotations

from typing import Any

from eli5.base import Explanation

__all__ = ['explain_prediction_pytorch']


def explain_prediction_pytorch(model: Any, doc: Any, **kwargs: Any) -> Explanation:
    """Explain a PyTorch model's prediction (not implemented yet)."""
    return Explanation(type(model).__name__,
                       error='eli5_gradcam: the PyTorch adapter is not implemented yet')
