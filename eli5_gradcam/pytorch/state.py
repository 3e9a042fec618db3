"""Leave the user's model as it was: training flags, hooks and grad mode.

Every context manager here restores what it changed in ``finally``, so an
exception raised mid-explanation leaves the model exactly as it was.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, List

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

__all__ = ['eval_behaviour', 'gradients_enabled', 'temporary_hooks']


@contextmanager
def eval_behaviour(model: nn.Module) -> Iterator[None]:
    """Run ``model`` in eval mode, then restore every module's own ``training`` flag.

    ``model.eval()`` switches dropout off and makes batch norm use (and not
    update) its running statistics; afterwards each submodule gets back its
    own flag, so a model mixing train and eval submodules is restored exactly.

    Parameters
    ----------
    model : torch.nn.Module
    """
    flags = [(module, module.training) for module in model.modules()]
    try:
        model.eval()
        yield
    finally:
        for module, training in flags:
            module.training = training


@contextmanager
def gradients_enabled() -> Iterator[None]:
    """Record gradients even inside the caller's ``no_grad`` or ``inference_mode``."""
    with torch.inference_mode(False), torch.enable_grad():
        yield


@contextmanager
def temporary_hooks() -> Iterator[List[RemovableHandle]]:
    """Collect hook handles; every one is removed on exit, also on exceptions."""
    handles: List[RemovableHandle] = []
    try:
        yield handles
    finally:
        for handle in handles:
            handle.remove()
