"""What the PyTorch and Keras rows of the gradient-free methods share."""
from __future__ import annotations

from typing import Any, Callable, Dict, Tuple

import numpy as np

import eli5

__all__ = ['BATCH', 'FASTER_FRACTION', 'agreement', 'ours', 'heatmap_of', 'scorecam_rows']

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


def ours(model: Any, doc: Any, layer: str, target: int, **options: Any) -> Callable[[], Any]:
    """Our explanation of ``target`` at ``layer``, as a timed callable."""
    return lambda: eli5.explain_prediction(model, doc, layer=layer, targets=[target],
                                           progress=False, **options)


def heatmap_of(run: Callable[[], Any]) -> np.ndarray:
    """The first target's heatmap of one call of ``run``."""
    return np.asarray(run().targets[0].heatmap)


def scorecam_rows(model: Any, doc: Any, layer: str, target: int, channels: int
                  ) -> Tuple[Dict[str, Callable[[], object]], Dict[str, Any], np.ndarray]:
    """Score-CAM and Faster Score-CAM contenders, the result with their
    agreement, and the full Score-CAM map (for the peers' agreement)."""
    maps = max(1, channels // FASTER_FRACTION)
    full_run = ours(model, doc, layer, target, method='scorecam', batch_size=BATCH)
    faster = ours(model, doc, layer, target, method='scorecam', batch_size=BATCH,
                  scorecam_maps=maps)
    contenders: Dict[str, Callable[[], object]] = {
        'eli5-gradcam': full_run, f'eli5-gradcam, Faster ({maps} maps)': faster}
    full = heatmap_of(full_run)
    result: Dict[str, Any] = {'target': target, 'channels': channels, 'agreement': {
        f'eli5-gradcam, Faster ({maps} maps) vs full': agreement(full, heatmap_of(faster))}}
    return contenders, result, full
