"""The gradients of several target scores, from one forward pass.

Two ways, both with :func:`torch.autograd.grad` only (no ``.backward()``, so
no parameter's ``.grad`` is ever written):

* ``'batched'``: one vector-Jacobian product for all targets at once
  (``is_grads_batched=True``, vectorised with ``vmap``);
* ``'loop'``: one backward pass per target, keeping the graph between them.

:data:`DEFAULT_STRATEGY` is ``'auto'``: batched when the differentiated part
of the graph (from the layer to the scores) is short, the loop otherwise.
Measured (bench/README.rst, "Measurements behind choices in the code"):
batched is faster on short heads (a text CNN, a 1-D CNN, ResNet-50's
``layer4`` and ``layer3``) and gains little or loses on long ones.  A short
head has few, small operations, where the loop pays the per-operation
overhead once per target; a long one has large convolutions whose vectorised
backward gains nothing and needs the memory of every target at once.
``vmap`` does not cover every operation: when it fails
the loop is used.
"""
from __future__ import annotations

import warnings
from typing import Any, List, Optional, Sequence, Set

import numpy as np
import torch

__all__ = ['STRATEGIES', 'DEFAULT_STRATEGY', 'BATCHED_MAX_NODES', 'head_is_short',
           'target_gradients', 'gradients_by_target']

STRATEGIES = ('auto', 'batched', 'loop')

#: See the module docstring.
DEFAULT_STRATEGY = 'auto'

#: ``'auto'`` vectorises when the graph from the layer to the scores has at
#: most this many autograd nodes (the measurements above).
BATCHED_MAX_NODES = 128


def head_is_short(scores: torch.Tensor, limit: int = BATCHED_MAX_NODES) -> bool:
    """Whether the autograd graph behind ``scores`` has at most ``limit`` nodes.

    Only the part downstream of the captured layer is recorded (see
    :func:`~eli5_gradcam.pytorch.capture.capture_layer`), so this counts the
    operations a backward pass to the layer runs.  The walk stops at
    ``limit + 1`` nodes.
    """
    seen: Set[Any] = set()
    pending: List[Any] = [scores.grad_fn]
    while pending:
        node = pending.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if len(seen) > limit:
            return False
        pending.extend(parent for parent, _ in node.next_functions)
    return True


def _one_hot(scores: torch.Tensor, targets: np.ndarray) -> torch.Tensor:
    """``(targets, batch, outputs)`` selectors of each target's score."""
    batch, n_targets = targets.shape
    # built in numpy (one small array, no torch operations) and shared with torch
    selectors = np.zeros((n_targets,) + tuple(scores.shape), dtype=np.float64)
    selectors[np.arange(n_targets)[:, None], np.arange(batch)[None, :], targets.T] = 1.0
    return torch.from_numpy(selectors).to(device=scores.device, dtype=scores.dtype)


def target_gradients(scores: torch.Tensor, layer_output: torch.Tensor,
                     targets: np.ndarray, strategy: str = DEFAULT_STRATEGY) -> torch.Tensor:
    """Gradient of each document's target scores with respect to ``layer_output``.

    Parameters
    ----------
    scores : torch.Tensor
        ``(batch, outputs)``, computed from ``layer_output``.
    layer_output : torch.Tensor
        The captured layer output (a leaf that requires grad).
    targets : numpy.ndarray
        ``(batch, targets)`` int output indices.
    strategy : {'auto', 'batched', 'loop'}

    Returns
    -------
    torch.Tensor
        ``(targets, *layer_output.shape)``; entry ``t`` is, for each document
        ``b``, the gradient of ``scores[b, targets[b, t]]``.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f'strategy must be one of {STRATEGIES}; got {strategy!r}')
    selectors = _one_hot(scores, targets)
    n_targets = selectors.shape[0]
    if n_targets > 1 and (strategy == 'batched'
                          or (strategy == 'auto' and head_is_short(scores))):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore', UserWarning)     # vmap performance notes
                (gradients,) = torch.autograd.grad(scores, layer_output,
                                                   grad_outputs=selectors,
                                                   retain_graph=True, allow_unused=True,
                                                   is_grads_batched=True)
            if gradients is not None:
                return gradients
        except (RuntimeError, NotImplementedError):
            pass
    per_target = []
    for column in range(n_targets):
        (gradient,) = torch.autograd.grad(scores, layer_output,
                                          grad_outputs=selectors[column],
                                          retain_graph=column < n_targets - 1,
                                          allow_unused=True)
        per_target.append(torch.zeros_like(layer_output) if gradient is None else gradient)
    if n_targets == 1:
        return per_target[0].unsqueeze(0)       # a view: no copy of the one gradient
    return torch.stack(per_target)


def gradients_by_target(scores: torch.Tensor, tensors: Sequence[torch.Tensor],
                        targets: np.ndarray, *, sign: float = 1.0
                        ) -> List[Optional[torch.Tensor]]:
    """The target gradients of several tensors: one backward pass per target.

    Used for several layers at once and for the input's guided gradients;
    the graph is kept for a later backward pass (it goes with ``scores``).

    Parameters
    ----------
    scores : torch.Tensor
        ``(batch, outputs)``.
    tensors : sequence of torch.Tensor
        Tensors ``scores`` were computed from (leaves or not).
    targets : numpy.ndarray
        ``(batch, targets)`` int output indices.
    sign : float
        -1 differentiates the negated scores.

    Returns
    -------
    list of torch.Tensor or None
        Per tensor, ``(targets, *tensor.shape)``, or None where no score
        depends on it.
    """
    selectors = _one_hot(scores, targets) * sign
    per_tensor: List[List[Optional[torch.Tensor]]] = [[] for _ in tensors]
    for column in range(selectors.shape[0]):
        gradients = torch.autograd.grad(scores, list(tensors), grad_outputs=selectors[column],
                                        retain_graph=True, allow_unused=True)
        for collected, gradient in zip(per_tensor, gradients):
            collected.append(gradient)
    return [None if any(g is None for g in collected) else torch.stack(collected)  # type: ignore
            for collected in per_tensor]
