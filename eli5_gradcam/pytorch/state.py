"""Leave the user's model as it was: training flags, hooks and grad mode.

Every context manager here restores what it changed in ``finally``, so an
exception raised mid-explanation leaves the model exactly as it was.
"""
from __future__ import annotations

import threading
import weakref
from contextlib import contextmanager
from typing import Callable, Iterator, List

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

__all__ = ['exclusive', 'eval_behaviour', 'gradients_enabled', 'temporary_hooks',
           'same_thread']


_LOCKS: 'weakref.WeakKeyDictionary[nn.Module, threading.RLock]' = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


@contextmanager
def exclusive(model: nn.Module) -> Iterator[None]:
    """One explanation of ``model`` at a time (across threads).

    Explaining switches every module's ``training`` flag and puts hooks on a
    layer; two threads doing so at once on the same model would capture each
    other's activations and restore each other's flags.  Different models
    are explained in parallel.
    """
    with _LOCKS_GUARD:
        lock = _LOCKS.get(model)
        if lock is None:
            lock = _LOCKS[model] = threading.RLock()
    with lock:
        yield


def same_thread() -> Callable[[], bool]:
    """A check that the caller runs in the thread that created it: hooks use it to
    ignore forward passes of the same model run by other threads."""
    owner = threading.get_ident()
    return lambda: threading.get_ident() == owner


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
    # Only the modules in training mode are switched (and switched back): a
    # model already in eval mode costs one walk over its modules.
    training = [module for module in model.modules() if module.training]
    try:
        for module in training:
            module.training = False
        yield
    finally:
        for module in training:
            module.training = True


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
