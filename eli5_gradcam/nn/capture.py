"""What a framework adapter hands to the core: :class:`LayerCapture`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

__all__ = ['LayerCapture']


@dataclass(frozen=True)
class LayerCapture:
    """One forward pass and its gradients, as numpy arrays on the CPU.

    This is the whole contract between an adapter (``keras/``, ``pytorch/``)
    and the framework-agnostic core: the adapter runs the model once and fills
    this in; the core does every bit of heatmap math.

    Attributes
    ----------
    activations : numpy.ndarray
        ``(batch, *spatial, channels)``: the chosen layer's output, channels last.
    gradients : numpy.ndarray
        ``(batch, targets, *spatial, channels)``: the gradient of each
        target's score with respect to ``activations``.
    scores : numpy.ndarray
        ``(batch, outputs)``: the scores that were differentiated (pre-softmax
        logits or the raw output, see ``score_name``).
    targets : numpy.ndarray
        ``(batch, targets)`` int: the output index of each target.
    layer_name : str
        The chosen layer, as the user would name it.
    score_name : str
        What ``scores`` are, for the explanation's description
        (e.g. ``'pre-softmax logit'`` or ``'model output'``).
    probabilities : numpy.ndarray, optional
        ``(batch, outputs)`` class probabilities, where the adapter knows them.
    """

    activations: np.ndarray
    gradients: np.ndarray
    scores: np.ndarray
    targets: np.ndarray
    layer_name: str
    score_name: str
    probabilities: Optional[np.ndarray] = None

    @property
    def spatial_shape(self) -> tuple:
        """Shape of the layer's spatial (or sequence) axes."""
        return tuple(self.activations.shape[1:-1])
