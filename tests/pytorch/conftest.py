"""Shared fixtures of the PyTorch adapter tests."""
from __future__ import annotations

from typing import Any, Callable, Dict

import pytest

torch = pytest.importorskip('torch')
torch.set_num_threads(1)


def model_state(model: Any) -> Dict[str, Any]:
    """Everything the adapter must leave as it was."""
    return {
        'training': [(name, module.training) for name, module in model.named_modules()],
        'requires_grad': [(name, p.requires_grad) for name, p in model.named_parameters()],
        'grads': [(name, p.grad) for name, p in model.named_parameters()],
        'hooks': [(name, len(module._forward_hooks), len(module._forward_pre_hooks),
                   len(module._backward_hooks), len(module._backward_pre_hooks))
                  for name, module in model.named_modules()],
        'weights': {name: t.detach().clone() for name, t in model.state_dict().items()},
    }


def assert_same_state(before: Dict[str, Any], after: Dict[str, Any]) -> None:
    assert after['training'] == before['training']
    assert after['requires_grad'] == before['requires_grad']
    assert all(grad is None for _, grad in after['grads'])
    assert after['hooks'] == before['hooks']
    assert after['weights'].keys() == before['weights'].keys()
    for name, value in before['weights'].items():
        assert torch.equal(after['weights'][name], value), name


@pytest.fixture
def untouched() -> Callable[[Any], Any]:
    """``with untouched(model): ...`` asserts the model is left as it was."""
    from contextlib import contextmanager

    @contextmanager
    def check(model: Any) -> Any:
        before = model_state(model)
        try:
            yield
        finally:
            assert_same_state(before, model_state(model))
    return check
