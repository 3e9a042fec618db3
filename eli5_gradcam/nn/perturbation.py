"""Score-CAM and Ablation-CAM: channel weights from extra forward passes.

Both methods weight the layer's activation maps :math:`A^k` by what the
model's score does when one channel is perturbed, instead of by gradients:

* Score-CAM (Wang et al. 2020, https://arxiv.org/abs/1910.01279) masks the
  *input* with each channel's map, upsampled to the input and min-max
  normalised (:func:`~eli5_gradcam.nn.masks.scorecam_masks`), and weights the
  channels by a softmax over the target's scores on the masked inputs
  (:func:`scorecam_channel_weights`);
* Ablation-CAM (Desai & Ramaswamy 2020,
  https://openaccess.thecvf.com/content_WACV_2020/papers/Desai_Ablation-CAM_Visual_Explanations_for_Deep_Convolutional_Network_via_Gradient-free_Localization_WACV_2020_paper.pdf)
  zeroes each channel of the *layer* and weights it by the drop in the
  target's score (:func:`ablation_score_drops`).

A framework adapter runs the passes (see
:func:`eli5_gradcam.nn.passes.channel_score_pass`) and returns, for every
document, target and channel, the target's score with that channel
perturbed: ``LayerCapture.channel_scores``, ``(batch, targets, channels)``.
Everything else is here, in numpy.  Nothing loops over channels in Python.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from .capture import LayerCapture

__all__ = [
    'GRADIENT_FREE',
    'CHANNEL_SCORE_METHODS',
    'most_varied_channels',
    'scorecam_channel_weights',
    'ablation_score_drops',
    'scorecam_map',
    'ablationcam_map',
    'channel_evidence',
    'method_evidence',
    'evidence_source',
    'default_rows',
    'DEFAULT_BATCH_SIZE',
    'ABLATION_BATCH_BYTES',
]

#: Masked inputs per forward pass of Score-CAM when ``batch_size=None``
#: (torchcam's default; pytorch-grad-cam's is 16 for Score-CAM, 32 for Ablation-CAM).
DEFAULT_BATCH_SIZE = 32

#: Bytes of ablated layer outputs per forward pass of Ablation-CAM when
#: ``batch_size=None`` (see :func:`default_rows`).
ABLATION_BATCH_BYTES = 128 * 2 ** 20

#: Why ``counterfactual=True`` is refused for Score-CAM.
SCORECAM_COUNTERFACTUAL = ("counterfactual=True: Score-CAM's channel weights are a softmax "
                           '(all positive), so it has no counterfactual map; use '
                           "method='ablationcam' or a gradient method")

#: Methods that use no gradient: the adapters run them without a backward pass.
GRADIENT_FREE = ('eigencam', 'scorecam', 'ablationcam')

#: Methods whose channel weights come from extra forward passes
#: (``LayerCapture.channel_scores``).
CHANNEL_SCORE_METHODS = ('scorecam', 'ablationcam')


def most_varied_channels(activations: np.ndarray, count: int) -> np.ndarray:
    """The ``count`` channels of each document whose maps vary most over positions.

    Faster Score-CAM (tabayashi0117, https://github.com/tabayashi0117/Score-CAM,
    as tf-keras-vis' ``Scorecam(max_N=...)`` offers) masks the input with
    these channels only: a map that is nearly constant makes a mask that
    keeps or removes the whole input alike, and says little about where the
    evidence is.  The spread is the standard deviation over positions; ties
    go to the lower channel index.

    Parameters
    ----------
    activations : numpy.ndarray
        ``(batch, *spatial, channels)``.
    count : int
        Channels kept per document (at most ``channels``).

    Returns
    -------
    numpy.ndarray
        ``(batch, count)`` int64, in decreasing order of spread.
    """
    batch, channels = activations.shape[0], activations.shape[-1]
    flat = np.asarray(activations, dtype=np.float64).reshape(batch, -1, channels)
    spread = np.nan_to_num(flat.std(axis=1), nan=0.0)
    order = np.argsort(-spread, axis=1, kind='stable')
    return order[:, :min(int(count), channels)].astype(np.int64)


def scorecam_channel_weights(channel_scores: np.ndarray) -> np.ndarray:
    """Score-CAM channel weights: a softmax over the channels of the target's
    scores on the masked inputs.

    .. math:: w^c_k = \\frac{\\exp S^c_k}{\\sum_m \\exp S^c_m}, \\qquad
              S^c_k = y^c(X \\circ H_k)

    (Wang et al. 2020, Algorithm 1; pytorch-grad-cam and torchcam apply the
    same softmax; torchcam first subtracts the unmasked score, which a
    softmax ignores.)  Channels whose score is NaN were not evaluated
    (Faster Score-CAM) and get weight 0; the softmax runs over the others.

    Parameters
    ----------
    channel_scores : numpy.ndarray
        ``(batch, targets, channels)``.

    Returns
    -------
    numpy.ndarray
        ``(batch, targets, channels)``, each row summing to 1.
    """
    scores = np.asarray(channel_scores, dtype=np.float64)
    evaluated = ~np.isnan(scores)
    finite = np.where(evaluated, np.nan_to_num(scores, posinf=np.finfo(np.float64).max,
                                               neginf=-np.finfo(np.float64).max), -np.inf)
    peak = finite.max(axis=-1, keepdims=True)
    exponentials = np.where(evaluated, np.exp(finite - np.where(np.isfinite(peak), peak, 0.0)),
                            0.0)
    total = exponentials.sum(axis=-1, keepdims=True)
    return exponentials / np.where(total > 0.0, total, 1.0)


def ablation_score_drops(target_scores: np.ndarray, channel_scores: np.ndarray) -> np.ndarray:
    """Ablation-CAM channel weights: the drop in the target's score when the
    channel is zeroed, :math:`w^c_k = y^c - y^c_k`.

    The paper divides by :math:`y^c` (its eq. 3), and so does
    pytorch-grad-cam's ``AblationCAM``.  That is one positive factor per map
    when :math:`y^c > 0`, which normalisation removes, but a sign flip of the
    whole map when :math:`y^c < 0` (a channel whose removal lowers a
    negative score would then count *against* the target).  This function
    does not divide: the weight is the channel's contribution to the score,
    whatever its sign.

    Parameters
    ----------
    target_scores : numpy.ndarray
        ``(batch, targets)``: each target's score on the unperturbed input.
    channel_scores : numpy.ndarray
        ``(batch, targets, channels)``: the same scores with each channel zeroed.

    Returns
    -------
    numpy.ndarray
        ``(batch, targets, channels)``.
    """
    return (np.asarray(target_scores, dtype=np.float64)[..., np.newaxis]
            - np.asarray(channel_scores, dtype=np.float64))


def _weighted(activations: np.ndarray, weights: np.ndarray) -> np.ndarray:
    from .gradcam import weighted_sum   # gradcam lists these methods: imported late
    return weighted_sum(activations, weights)


def scorecam_map(activations: np.ndarray, channel_scores: np.ndarray) -> np.ndarray:
    """Score-CAM map before the ReLU: :math:`\\sum_k w^c_k A^k` with the
    weights of :func:`scorecam_channel_weights`.

    Parameters
    ----------
    activations : numpy.ndarray
        ``(batch, *spatial, channels)``.
    channel_scores : numpy.ndarray
        ``(batch, targets, channels)``: each target's score on the input
        masked by each channel's map (NaN: not evaluated).

    Returns
    -------
    numpy.ndarray
        ``(batch, targets, *spatial)``.
    """
    return _weighted(activations, scorecam_channel_weights(channel_scores))


def ablationcam_map(activations: np.ndarray, score_drops: np.ndarray) -> np.ndarray:
    """Ablation-CAM map before the ReLU: :math:`\\sum_k (y^c - y^c_k) A^k`.

    Parameters
    ----------
    activations : numpy.ndarray
        ``(batch, *spatial, channels)``.
    score_drops : numpy.ndarray
        ``(batch, targets, channels)`` from :func:`ablation_score_drops`.

    Returns
    -------
    numpy.ndarray
        ``(batch, targets, *spatial)``.
    """
    return _weighted(activations, np.asarray(score_drops, dtype=np.float64))


def channel_evidence(activations: np.ndarray, evidence: np.ndarray, method: str,
                     counterfactual: bool) -> np.ndarray:
    """Score-CAM's / Ablation-CAM's per-channel evidence, checked, in float64,
    negated for a counterfactual Ablation-CAM (what lowers the score).

    Score-CAM's weights are a softmax (all positive): it has no
    counterfactual map, and ``counterfactual=True`` is a ValueError.
    """
    expected = (activations.shape[0], activations.shape[-1])
    if activations.ndim < 2 or evidence.ndim != 3 or (
            (evidence.shape[0], evidence.shape[2]) != expected):
        raise ValueError(f'method={method!r} takes channel evidence of shape (batch, '
                         f'targets, channels) matching activations {activations.shape}; '
                         f'got {evidence.shape}')
    if counterfactual and method == 'scorecam':
        raise ValueError(SCORECAM_COUNTERFACTUAL)
    evidence = evidence.astype(np.float64, copy=False)
    return -evidence if counterfactual else evidence


def method_evidence(capture: LayerCapture, method: str) -> np.ndarray:
    """The second array a method's map function takes, from a capture.

    Gradients for the gradient methods; for Eigen-CAM (which reads only the
    number of targets) the gradients, or zeros of their shape that take no
    memory when the capture has none; the channel scores for Score-CAM; the
    score drops for Ablation-CAM.

    Parameters
    ----------
    capture : LayerCapture
    method : str
        A key of :data:`eli5_gradcam.nn.gradcam.METHODS`.

    Returns
    -------
    numpy.ndarray
    """
    if method in CHANNEL_SCORE_METHODS:
        if capture.channel_scores is None:
            raise ValueError(f'method={method!r} needs channel_scores in the capture (the '
                             'scores of its extra forward passes); this capture has none')
        if method == 'scorecam':
            return capture.channel_scores
        target_scores = np.take_along_axis(capture.scores, capture.targets, axis=1)
        return ablation_score_drops(target_scores, capture.channel_scores)
    if capture.gradients is not None:
        return capture.gradients
    if method == 'eigencam':
        shape = (capture.activations.shape[0], capture.targets.shape[1]) + (
            capture.activations.shape[1:])
        return np.broadcast_to(np.zeros((), dtype=np.float32), shape)
    raise ValueError(f'method={method!r} needs gradients; this capture was made without '
                     'them (for a gradient-free method): capture again with this method')


def evidence_source(method: str, score_name: str) -> str:
    """What a method's map is made from, for the explanation's description."""
    sources = {
        'eigencam': "from the layer's activations alone (no gradient; the same map "
                    'for every target)',
        'scorecam': f"from each target's {score_name} on the input masked by each "
                    "channel's map (a softmax over channels)",
        'ablationcam': f"from the drop in each target's {score_name} when each channel "
                       'is zeroed',
    }
    return sources.get(method, f"from the gradient of each target's {score_name}")


def default_rows(method: str, row_bytes: int, channels: int,
                 batch_size: Optional[int]) -> int:
    """Rows (masked inputs or ablated activations) per forward pass.

    ``batch_size`` when given.  Otherwise :data:`DEFAULT_BATCH_SIZE` masked
    inputs for Score-CAM (each row is a whole forward pass); for Ablation-CAM,
    whose rows share one run of the layers below the explained one, as many
    rows of the layer's output as fit in :data:`ABLATION_BATCH_BYTES`, at
    least :data:`DEFAULT_BATCH_SIZE`, at most one per channel plus one.
    """
    if batch_size is not None:
        return int(batch_size)
    if method != 'ablationcam':
        return DEFAULT_BATCH_SIZE
    fitting = ABLATION_BATCH_BYTES // max(int(row_bytes), 1)
    return int(min(max(fitting, DEFAULT_BATCH_SIZE), channels + 1))
