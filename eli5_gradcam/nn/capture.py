"""What a framework adapter hands to the core: :class:`LayerCapture`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import numpy as np

__all__ = ['LayerCapture', 'LayerArrays', 'FINAL_ACTIVATIONS', 'SCORE_NAMES']

#: Final activations an adapter may report (what the model's last layer applies).
FINAL_ACTIVATIONS = ('softmax', 'log_softmax', 'sigmoid')

#: What differentiated scores are, by the final activation whose input they are.
SCORE_NAMES: Dict[Optional[str], str] = {
    'softmax': 'pre-softmax logit', 'log_softmax': 'pre-softmax logit',
    'sigmoid': 'pre-sigmoid logit', None: 'model output'}


@dataclass(frozen=True)
class LayerArrays:
    """One explained layer of a capture: its output and the target gradients.

    Attributes
    ----------
    activations : numpy.ndarray
        ``(batch, *spatial, channels)``.
    gradients : numpy.ndarray or None
        ``(batch, targets, *spatial, channels)``; None for a capture of a
        gradient-free method.
    layer_name : str
    """

    activations: np.ndarray
    gradients: Optional[np.ndarray]
    layer_name: str

    @property
    def spatial_shape(self) -> tuple:
        """Shape of the layer's spatial (or sequence) axes."""
        return tuple(self.activations.shape[1:-1])


@dataclass(frozen=True)
class LayerCapture:
    """One forward pass and its gradients (or extra passes), as numpy arrays on the CPU.

    This is the whole contract between an adapter (``keras/``, ``pytorch/``)
    and the framework-agnostic core: the adapter runs the model once and fills
    this in; the core does every bit of heatmap math and makes every decision
    about the output (:attr:`score_name`, :attr:`is_regression`).

    Attributes
    ----------
    activations : numpy.ndarray
        ``(batch, *spatial, channels)``: the chosen layer's output, channels last.
    gradients : numpy.ndarray or None
        ``(batch, targets, *spatial, channels)``: the gradient of each
        target's score with respect to ``activations``.  None when the
        method uses no gradient (``'eigencam'``, ``'scorecam'``,
        ``'ablationcam'``): the adapter then runs no backward pass.
    scores : numpy.ndarray
        ``(batch, outputs)``: the scores that were differentiated.
    targets : numpy.ndarray
        ``(batch, targets)`` int: the output index of each target.
    layer_name : str
        The chosen layer, as the user would name it.
    final_activation : {'softmax', 'log_softmax', 'sigmoid', None}
        What the model's last layer applies to give its output, where the
        adapter can see it.
    logits : bool
        ``scores`` are the input of ``final_activation`` (``score='auto'``),
        not the model's output.
    probabilities : numpy.ndarray, optional
        ``(batch, outputs)`` class probabilities, where the adapter knows them.
    more_layers : tuple of LayerArrays
        The other layers of ``layer=[...]``, in the order given, from the same
        pass (the first one is ``activations`` / ``gradients`` above).
    input_gradients : numpy.ndarray, optional
        ``(batch, targets, *spatial, channels)``: the guided-backpropagation
        gradient of each target's score with respect to the input, channels
        last (the negated score's with ``counterfactual=True``), from the same
        pass; given for ``method='guided-backprop'`` and ``'guided-gradcam'``.
    function_names : tuple of str
        Names of the score-function targets, whose scores are the last
        ``len(function_names)`` columns of ``scores`` (after the model's outputs).
    channel_scores : numpy.ndarray, optional
        ``(batch, targets, channels)``, for Score-CAM and Ablation-CAM: each
        target's score (the same kind as ``scores``) with one channel of the
        layer perturbed, from extra forward passes (Score-CAM: the input
        masked by the channel's map; Ablation-CAM: the channel zeroed).  NaN
        for channels that were not evaluated (``scorecam_maps=k``).
    """

    activations: np.ndarray
    gradients: Optional[np.ndarray]
    scores: np.ndarray
    targets: np.ndarray
    layer_name: str
    final_activation: Optional[str] = None
    logits: bool = False
    probabilities: Optional[np.ndarray] = None
    more_layers: Tuple[LayerArrays, ...] = ()
    input_gradients: Optional[np.ndarray] = None
    function_names: Tuple[str, ...] = ()
    channel_scores: Optional[np.ndarray] = None

    def __post_init__(self) -> None:
        if self.final_activation not in FINAL_ACTIVATIONS + (None,):
            raise ValueError(f'final_activation must be one of {FINAL_ACTIVATIONS} or None; '
                             f'got {self.final_activation!r}')

    @property
    def spatial_shape(self) -> tuple:
        """Shape of the layer's spatial (or sequence) axes."""
        return tuple(self.activations.shape[1:-1])

    @property
    def layers(self) -> Tuple[LayerArrays, ...]:
        """Every explained layer, the first one (``activations``) first."""
        return (LayerArrays(self.activations, self.gradients, self.layer_name),
                ) + tuple(self.more_layers)

    @property
    def layer_names(self) -> Tuple[str, ...]:
        """The names of :attr:`layers`."""
        return (self.layer_name,) + tuple(arrays.layer_name for arrays in self.more_layers)

    @property
    def score_name(self) -> str:
        """What ``scores`` are, for the explanation's description."""
        return SCORE_NAMES[self.final_activation if self.logits else None]

    @property
    def n_outputs(self) -> int:
        """The model's outputs among the columns of ``scores``."""
        return int(self.scores.shape[1]) - len(self.function_names)

    @property
    def is_regression(self) -> bool:
        """One output and no final softmax or sigmoid: a regression value."""
        return self.n_outputs == 1 and self.final_activation is None
