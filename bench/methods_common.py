"""What the PyTorch and Keras rows of the gradient-free methods share."""
from __future__ import annotations

from typing import Any, Dict

import numpy as np

__all__ = ['BATCH', 'FASTER_FRACTION', 'agreement']

BATCH = 32
#: Faster Score-CAM keeps one in this many of the layer's maps (ResNet-50 layer1: 32 of 256)
FASTER_FRACTION = 8


def _min_max(values: Any) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    spread = values.max() - values.min()
    return (values - values.min()) / (spread if spread > 0 else 1.0)


def agreement(ours: Any, theirs: Any) -> Dict[str, float]:
    """Largest difference and correlation of two maps after min-max scaling."""
    a, b = _min_max(ours).ravel(), _min_max(theirs).ravel()
    correlation = float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else 1.0
    return {'max_difference': float(np.abs(a - b).max()), 'correlation': correlation}
