"""The model is handed back as it was, whatever happens."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip('torch')

from torch import nn  # noqa: E402

from eli5_gradcam.pytorch import explain_prediction_pytorch  # noqa: E402
from torch_architectures import (ResNetStyle, SmallViT, TextLSTM, seeded,  # noqa: E402
                                 vgg_style)

IMAGE = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(3))


def _mixed(model: nn.Module) -> nn.Module:
    """Train mode with one submodule in eval and one frozen parameter."""
    model.train()
    modules = list(model.modules())
    modules[len(modules) // 2].eval()
    next(model.parameters()).requires_grad_(False)
    return model


@pytest.mark.parametrize('factory', [ResNetStyle, vgg_style, SmallViT])
def test_model_left_as_it_was(factory, untouched) -> None:
    model = _mixed(seeded(factory))
    with untouched(model):
        explain_prediction_pytorch(model, IMAGE, top_targets=2)
        explain_prediction_pytorch(model, IMAGE, targets=[0], relu=False)


def test_text_model_left_as_it_was(untouched) -> None:
    model = _mixed(seeded(TextLSTM))
    with untouched(model):
        explain_prediction_pytorch(model, torch.tensor([[1, 2, 3, 4]]), tokens=list('abcd'))


class FailsOnSecondPass(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(4, 2)
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        features = self.conv(x)
        if self.calls == 2:
            raise RuntimeError('boom in the middle of an explanation')
        return self.fc(self.drop(features).mean(dim=(2, 3)))


def test_left_as_it_was_after_an_exception_mid_explanation(untouched) -> None:
    model = seeded(FailsOnSecondPass).train()
    with untouched(model):
        with pytest.raises(ValueError, match='doc: the model failed') as info:
            explain_prediction_pytorch(model, IMAGE)
        assert isinstance(info.value.__cause__, RuntimeError)
        assert model.calls == 2


def test_left_as_it_was_after_a_bad_target(untouched) -> None:
    model = seeded(ResNetStyle).train()
    with untouched(model):
        with pytest.raises(ValueError, match='targets'):
            explain_prediction_pytorch(model, IMAGE, targets=[7])
    assert model.training


def test_train_mode_model_explained_in_eval_behaviour(untouched) -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(),
                          nn.Dropout2d(0.9), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(6, 3))
    with torch.no_grad():      # non-trivial running statistics
        model[1].running_mean.uniform_(-1, 1)
        model[1].running_var.uniform_(0.5, 2)
    reference = explain_prediction_pytorch(model.eval(), IMAGE, targets=[0, 1, 2], relu=False)
    model.train()
    with untouched(model):     # running statistics and num_batches_tracked included
        first = explain_prediction_pytorch(model, IMAGE, targets=[0, 1, 2], relu=False)
        second = explain_prediction_pytorch(model, IMAGE, targets=[0, 1, 2], relu=False)
    assert all(module.training for module in model.modules())
    for a, b, c in zip(reference.targets, first.targets, second.targets):
        np.testing.assert_array_equal(a.heatmap, b.heatmap)
        np.testing.assert_array_equal(b.heatmap, c.heatmap)
        assert a.score == b.score


@pytest.mark.parametrize('context', [torch.no_grad, torch.inference_mode])
def test_inside_no_grad_and_inference_mode(context) -> None:
    model = seeded(ResNetStyle)
    reference = explain_prediction_pytorch(model, IMAGE, targets=[0, 2])
    with context():
        doc = IMAGE.clone()         # an inference tensor under inference_mode
        expl = explain_prediction_pytorch(model, doc, targets=[0, 2])
        assert torch.is_grad_enabled() is False
    for a, b in zip(reference.targets, expl.targets):
        np.testing.assert_allclose(a.heatmap, b.heatmap, rtol=1e-6)


def test_frozen_model(untouched) -> None:
    model = seeded(ResNetStyle)
    reference = explain_prediction_pytorch(model, IMAGE, targets=[1], relu=False)
    model.requires_grad_(False)
    with untouched(model):
        expl = explain_prediction_pytorch(model, IMAGE, targets=[1], relu=False)
    np.testing.assert_allclose(expl.targets[0].heatmap, reference.targets[0].heatmap,
                               rtol=1e-6)


def test_user_hooks_are_kept_and_run(untouched) -> None:
    model = seeded(vgg_style)
    seen = []
    handle = model[0].register_forward_hook(lambda module, args, out: seen.append(out.shape))
    try:
        with untouched(model):
            explain_prediction_pytorch(model, IMAGE)
        assert len(seen) == 2       # the layer-choosing pass and the explained pass
    finally:
        handle.remove()


def test_numpy_float64_doc_follows_the_model_dtype() -> None:
    model = seeded(vgg_style).double()
    expl = explain_prediction_pytorch(model, IMAGE.numpy().astype(np.float32))
    assert expl.targets[0].heatmap.shape == (4, 4)
    half = seeded(vgg_style).to(torch.bfloat16)
    expl = explain_prediction_pytorch(half, IMAGE.double(), relu=False)
    assert np.isfinite(expl.targets[0].heatmap).all()
