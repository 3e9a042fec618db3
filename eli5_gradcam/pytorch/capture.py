"""One forward pass and the gradients of every target: a :class:`LayerCapture`.

:func:`capture_layer` runs the model once with the chosen layers' outputs
captured by replacing hooks (:mod:`.hooked_pass` says how, and why the pass
records no graph below the layer), picks the targets from the scores, takes
each target's gradients (:mod:`.gradients`) and, for the guided methods, the
input's guided gradients from the same pass (:mod:`.guided`), and hands the
core numpy arrays in the channels-last layout.
"""
from __future__ import annotations

from typing import Any, Dict, List, Sequence, Union

import numpy as np
import torch
from torch import nn

from ..nn.capture import LayerArrays, LayerCapture
from ..nn.guided import GUIDED_METHODS
from ..nn.kinds import DocumentKind
from ..nn.options import ExplainOptions
from ..nn.targets import score_function_name, target_request
from .documents import ModelInputs
from .gradients import DEFAULT_STRATEGY, gradients_by_target, target_gradients
from .guided import GuidedReLUs, check_relus_ran
from .hooked_pass import as_scores, differentiable_pass
from .inputs import as_numpy
from .layout import Layout
from .plan import LayerPlan
from .state import eval_behaviour, exclusive, gradients_enabled

__all__ = ['capture_layer', 'channels_last']


def channels_last(layout: Layout, tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` in the channels-last layout, or a named error for a bad ``reshape=``."""
    converted = layout.to_channels_last(tensor)
    if not isinstance(converted, torch.Tensor):
        raise TypeError(f'reshape must return a torch.Tensor; got {type(converted).__name__}')
    return converted


def _input_gradients(store: Dict[str, Any], relus: GuidedReLUs, targets: np.ndarray,
                     options: ExplainOptions) -> torch.Tensor:
    """``(batch, targets, *spatial, channels)`` guided gradients of the NCHW input."""
    check_relus_ran(relus, options.method)
    relus.guided = True
    (gradients,) = gradients_by_target(store['scores'], [store['inputs']], targets,
                                       sign=-1.0 if options.counterfactual else 1.0)
    if gradients is None:
        raise ValueError(f'method={options.method!r}: the explained output does not depend '
                         'on the input through recorded operations (does the model run '
                         'under its own torch.no_grad()?)')
    return gradients.movedim(0, 1).movedim(2, -1)


def _layer_gradients(plans: Sequence[LayerPlan], store: Dict[str, Any],
                     targets: np.ndarray, strategy: str) -> List[torch.Tensor]:
    """Each layer's ``(targets, *raw)`` target gradients (plain ReLUs)."""
    captured = store['captured']
    if len(plans) == 1 and captured[0].is_leaf:
        return [target_gradients(store['scores'], captured[0], targets, strategy)]
    return [torch.zeros((targets.shape[1],) + tuple(tensor.shape), dtype=tensor.dtype,
                        device=tensor.device) if gradients is None else gradients
            for tensor, gradients in zip(captured, gradients_by_target(
                store['scores'], captured, targets))]


def capture_layer(model: nn.Module,
                  docs: Union[torch.Tensor, ModelInputs],
                  kind: DocumentKind,
                  options: ExplainOptions = ExplainOptions(),
                  *,
                  strategy: str = DEFAULT_STRATEGY) -> LayerCapture:
    """Run ``model`` once on ``docs`` and capture a layer and its target gradients.

    Works for a batch of any size; the model is run in eval behaviour and
    left as it was (see :mod:`.state`).

    Parameters
    ----------
    model : torch.nn.Module
    docs : torch.Tensor or ModelInputs
        ``(batch, ...)`` on the model's device (see :func:`.documents.model_inputs`).
    kind : DocumentKind
        What the documents ask of the layer (spatial axes, image size).
    options : ExplainOptions
        ``layer`` (one or several), ``targets``, ``top_targets``,
        ``target_names``, ``score``, ``output`` and ``reshape`` are read from
        it; ``method`` and ``counterfactual`` for the guided methods, whose
        input gradients come from the same pass (see :mod:`.guided`).
    strategy : {'auto', 'batched', 'loop'}
        How several targets are differentiated, see :mod:`.gradients`.

    Returns
    -------
    LayerCapture
    """
    if isinstance(docs, torch.Tensor):
        docs = ModelInputs((docs,))
    relus = GuidedReLUs() if options.method in GUIDED_METHODS else None
    with exclusive(model), eval_behaviour(model), gradients_enabled():
        plans, store = differentiable_pass(model, docs, kind, options, relus)
        scores = store['scores']
        scores_np = as_numpy(scores).astype(np.float64)
        n_outputs = scores_np.shape[1] - len(options.score_functions)
        request = target_request(n_outputs, targets=options.targets,
                                 top_targets=options.top_targets,
                                 target_names=options.target_names)
        target_indices = request.select(scores_np)
        layers = []
        for plan, captured, gradients in zip(plans, store['captured'], _layer_gradients(
                plans, store, target_indices, strategy)):
            activations = channels_last(plan.layout, captured.detach())
            # a bad reshape= was reported by the activations' conversion above
            layers.append(LayerArrays(as_numpy(activations), as_numpy(
                plan.layout.targets_to_channels_last(gradients)), plan.name))
        input_gradients = (None if relus is None else
                           as_numpy(_input_gradients(store, relus, target_indices, options)))
    probabilities = None
    if store['logits_used']:
        probs = as_scores(store['output'].detach(), scores_np.shape[0])[:, :n_outputs]
        probabilities = as_numpy(probs.exp() if plans[0].final_activation == 'log_softmax'
                                 else probs)
    return LayerCapture(activations=layers[0].activations,
                        gradients=layers[0].gradients,
                        scores=scores_np,
                        targets=target_indices,
                        layer_name=layers[0].layer_name,
                        final_activation=plans[0].final_activation,
                        logits=bool(store['logits_used']),
                        probabilities=probabilities,
                        more_layers=tuple(layers[1:]),
                        input_gradients=input_gradients,
                        function_names=tuple(
                            score_function_name(function, position) for position, function
                            in enumerate(options.score_functions)))
