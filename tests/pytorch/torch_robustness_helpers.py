"""Tiny models, documents and state checks shared by the PyTorch robustness tests
(issue 7): ``test_pytorch_bad_input``, ``test_pytorch_edge_inputs``,
``test_pytorch_state_fuzz``, ``test_pytorch_threads`` and ``test_pytorch_soak``.
"""
from __future__ import annotations

import warnings
from typing import Any, Dict

import eli5
import torch
from PIL import Image
from torch import nn

from eli5_gradcam import FlatHeatmapWarning


# ---- tiny models -------------------------------------------------------------------------

def image_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))


class TextModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.embedding = nn.Embedding(10, 4)
        self.conv = nn.Conv1d(4, 5, 3, padding=1)
        self.fc = nn.Linear(5, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        features = self.conv(self.embedding(ids).transpose(1, 2))
        return self.fc(features.mean(dim=2))


class TupleModel(nn.Module):
    """Returns ``(scores, features)``: ``output=`` picks one."""

    def __init__(self) -> None:
        super().__init__()
        self.body = image_model(2)

    def forward(self, x: torch.Tensor) -> Any:
        return self.body(x), x.mean()


MODELS = {'image': image_model, 'text': TextModel, 'tuple': TupleModel}
IMAGE = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(3))
IDS = torch.tensor([[1, 2, 3, 4]])
TOKENS = list('abcd')
PICTURE = Image.new('RGB', (8, 8))
DOCS = torch.rand(5, 3, 8, 8, generator=torch.Generator().manual_seed(4))


def quiet_explain(model: Any, doc: Any, **kwargs: Any) -> Any:
    """``eli5.explain_prediction`` without the ``FlatHeatmapWarning`` of tiny random models."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FlatHeatmapWarning)
        return eli5.explain_prediction(model, doc, **kwargs)


# ---- model state, hooks by identity --------------------------------------------------------

def full_state(model: nn.Module) -> Dict[str, Any]:
    """Everything explaining must leave as it was, hooks by identity."""
    return {
        'training': [(name, m.training) for name, m in model.named_modules()],
        'requires_grad': [(name, p.requires_grad) for name, p in model.named_parameters()],
        'grads': [(name, None if p.grad is None else (id(p.grad), p.grad.clone()))
                  for name, p in model.named_parameters()],
        'hooks': [(name, [(key, id(hook)) for key, hook in getattr(m, attr).items()])
                  for name, m in model.named_modules()
                  for attr in ('_forward_hooks', '_forward_pre_hooks', '_backward_hooks',
                               '_backward_pre_hooks')],
        'weights': {name: t.detach().clone() for name, t in model.state_dict().items()},
        'grad_mode': (torch.is_grad_enabled(), torch.is_inference_mode_enabled()),
    }


def assert_same_full_state(before: Dict[str, Any], after: Dict[str, Any]) -> None:
    assert after['training'] == before['training']
    assert after['requires_grad'] == before['requires_grad']
    assert after['hooks'] == before['hooks']
    assert after['grad_mode'] == before['grad_mode']
    for (name, old), (_, new) in zip(before['grads'], after['grads']):
        if old is None:
            assert new is None, name
        else:
            assert new is not None and new[0] == old[0], name     # the same tensor object
            assert torch.equal(new[1], old[1]), name
    assert after['weights'].keys() == before['weights'].keys()
    for name, value in before['weights'].items():
        assert torch.equal(after['weights'][name], value), name
