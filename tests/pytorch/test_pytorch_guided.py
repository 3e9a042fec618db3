"""Guided backpropagation and Guided Grad-CAM on PyTorch models.

Hand-computed golden values on a fixed-weight model: a 2x2 one-channel image
``x = [[1, -2], [3, 0.5]]`` (positions p0..p3 = 1, -2, 3, 0.5), a 1x1
convolution with weights (1, -1) and no bias (``z = (x, -x)``), a ReLU
(the explained layer, ``a = (relu x, relu -x)``), global average pooling and
a linear layer without bias, ``V = [[1, -2], [-1, 3]]``::

    a_0 = (1, 0, 3, .5)   a_1 = (0, 2, 0, 0)      y_c = mean_i(V_c0 a_0i + V_c1 a_1i)

    target 0: dy/da = V_0 / 4 = (.25, -.5) at every position
      Grad-CAM      .25 a_0 - .5 a_1 = (.25, -1, .75, .125) -> relu (.25, 0, .75, .125)
      guided        relu(.25, -.5) = (.25, 0); mask x > 0 = (1, 0, 1, 1)
                    d/dx = .25 (1, 0, 1, 1) * 1 = (.25, 0, .25, .25)
                    (plain backprop: (.25, .5, .25, .25), the -.5 through -x > 0 at p1)
      Guided Grad-CAM (layer at the input's resolution: no upsampling)
                    (.0625, 0, .1875, .03125) / .1875 = (1/3, 0, 1, 1/6)
    target 1: dy/da = (-.25, .75)
      Grad-CAM      (-.25, 1.5, -.75, -.125)
      guided        relu -> (0, .75); mask -x > 0 = (0, 1, 0, 0); d/dx = (0, -.75, 0, 0)
      Guided Grad-CAM, signed: (0, -1.125, 0, 0) -> (0, -1, 0, 0); rectified: all zero
    target 1, counterfactual (the score -y_1: dy/da = (.25, -.75))
      Grad-CAM      (.25, -1.5, .75, .125) -> relu (.25, 0, .75, .125)
      guided        relu -> (.25, 0) -> d/dx = (.25, 0, .25, .25)
      Guided Grad-CAM (1/3, 0, 1, 1/6)

Oracles (test-only): captum's ``GuidedBackprop`` and ``GuidedGradCam`` (with
``interpolate_mode='bilinear'``, the Grad-CAM paper's upsampling, which is
also ours), and pytorch-grad-cam's ``GuidedBackpropReLUModel`` (on a copy of
the model: it replaces the ReLU modules and writes ``.grad``).  They return
one value per input channel; the maps here are their sum over channels, and
both sides are divided by their largest magnitude before comparing.
"""
from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip('torch')
captum_attr = pytest.importorskip('captum.attr')

import eli5  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image  # noqa: E402
from torch import nn  # noqa: E402

import eli5_gradcam  # noqa: E402,F401
from eli5_gradcam.nn import FlatHeatmapWarning  # noqa: E402
from eli5_gradcam.pytorch import capture_batch, explain_prediction_pytorch  # noqa: E402
from test_pytorch_methods_oracle import pytorch_grad_cam  # noqa: E402
from torch_architectures import (DenseLayer, DenseNetStyle, ResNetStyle,  # noqa: E402
                                 TextCNN, mobilenet_style, seeded, vgg_style)

TOLERANCE = 1e-4      # achieved: < 5e-7 against captum and pytorch-grad-cam (float32)
HAND_X = torch.tensor([[[[1.0, -2.0], [3.0, 0.5]]]])


def hand_model() -> nn.Module:
    model = nn.Sequential(nn.Conv2d(1, 2, 1, bias=False), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Linear(2, 2, bias=False))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([1.0, -1.0]).reshape(2, 1, 1, 1))
        model[4].weight.copy_(torch.tensor([[1.0, -2.0], [-1.0, 3.0]]))
    return model.eval()


def _maps(model: nn.Module, doc: Any, **kwargs: Any) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FlatHeatmapWarning)
        expl = explain_prediction_pytorch(model, doc, **kwargs)
    assert expl.error is None, expl.error
    return np.stack([np.asarray(t.heatmap, dtype=np.float64) for t in expl.targets])


# --------------------------------------------------------------------- by hand

def test_guided_backprop_by_hand() -> None:
    maps = _maps(hand_model(), HAND_X, method='guided-backprop', targets=[0, 1], relu=False)
    np.testing.assert_allclose(maps[0].ravel(), [1.0, 0.0, 1.0, 1.0], atol=1e-7)
    np.testing.assert_allclose(maps[1].ravel(), [0.0, -1.0, 0.0, 0.0], atol=1e-7)
    capture = capture_batch(hand_model(), HAND_X, method='guided-backprop', targets=[0, 1])
    assert capture.input_gradients.shape == (1, 2, 2, 2, 1)
    np.testing.assert_allclose(capture.input_gradients[0, :, :, :, 0].reshape(2, 4),
                               [[0.25, 0, 0.25, 0.25], [0, -0.75, 0, 0]], atol=1e-7)


def test_guided_gradcam_by_hand() -> None:
    model = hand_model()
    maps = _maps(model, HAND_X, method='guided-gradcam', layer='1', targets=[0, 1])
    np.testing.assert_allclose(maps[0].ravel(), [1 / 3, 0.0, 1.0, 1 / 6], atol=1e-7)
    np.testing.assert_array_equal(maps[1], np.zeros((2, 2)))           # flat: no evidence
    signed = _maps(model, HAND_X, method='guided-gradcam', layer='1', targets=[1], relu=False)
    np.testing.assert_allclose(signed[0].ravel(), [0.0, -1.0, 0.0, 0.0], atol=1e-7)
    counter = _maps(model, HAND_X, method='guided-gradcam', layer='1', targets=[1],
                    counterfactual=True)
    np.testing.assert_allclose(counter[0].ravel(), [1 / 3, 0.0, 1.0, 1 / 6], atol=1e-7)


def test_guided_layer_gradients_stay_plain() -> None:
    """The same pass gives the layer's plain gradients (Grad-CAM) and the input's guided ones."""
    guided = capture_batch(hand_model(), HAND_X, method='guided-gradcam', layer='1',
                           targets=[0, 1])
    plain = capture_batch(hand_model(), HAND_X, layer='1', targets=[0, 1])
    np.testing.assert_array_equal(guided.gradients, plain.gradients)
    np.testing.assert_array_equal(guided.activations, plain.activations)
    np.testing.assert_allclose(plain.gradients[0, 0, 0, 0], [0.25, -0.5])


# --------------------------------------------------------------------- oracles

class SmallCNN(nn.Module):
    """ReLU modules only (captum overrides no functional ReLU)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 8, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class FunctionalCNN(SmallCNN):
    """SmallCNN's weights, its ReLUs written three other ways (``torch.relu`` is what
    ``F.relu`` calls)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.features
        x = F.relu(f[0](x))
        x = f[2](x).relu()
        return self.head(F.relu(f[5](f[4](x)), inplace=True))


def _small(factory: Any = SmallCNN) -> nn.Module:
    model = seeded(factory)
    with torch.no_grad():
        model.features[2].bias.add_(0.1)
    return model


def _image(seed: int) -> torch.Tensor:
    return torch.rand(1, 3, 10, 12, generator=torch.Generator().manual_seed(seed))


def _by_magnitude(values: Any) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    return values / max(np.abs(values).max(), 1e-30)


def _rectified(values: Any) -> np.ndarray:
    return _by_magnitude(np.maximum(np.asarray(values, dtype=np.float64), 0.0))


@pytest.mark.parametrize('seed', [0, 1])
def test_guided_backprop_matches_captum(seed: int) -> None:
    model, image = _small(), _image(seed)
    ours = _maps(model, image, method='guided-backprop', targets=[0, 1, 2, 3], relu=False)
    errors = []
    for target in range(4):
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', UserWarning)
            theirs = captum_attr.GuidedBackprop(model).attribute(image.clone(), target=target)
        errors.append(np.abs(ours[target] - _by_magnitude(theirs[0].sum(0).detach())).max())
    assert max(errors) <= TOLERANCE, errors


@pytest.mark.parametrize('layer', ['features.6', 'features.3'])
@pytest.mark.parametrize('seed', [0, 1])
def test_guided_gradcam_matches_captum(layer: str, seed: int) -> None:
    # features.6: 5x6, upsampled to the 10x12 input; features.3: at the input's resolution
    model, image = _small(), _image(seed)
    ours = _maps(model, image, method='guided-gradcam', layer=layer, targets=[0, 1, 2, 3])
    module = model.get_submodule(layer)
    errors = []
    for target in range(4):
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', UserWarning)
            theirs = captum_attr.GuidedGradCam(model, module).attribute(
                image.clone(), target=target, interpolate_mode='bilinear')
        errors.append(np.abs(ours[target] - _rectified(theirs[0].sum(0).detach())).max())
    assert max(errors) <= TOLERANCE, errors


@pytest.mark.parametrize('factory', [SmallCNN, ResNetStyle])
def test_guided_backprop_matches_pytorch_grad_cam(factory: Any) -> None:
    # ResNetStyle: one in-place ReLU module called three times per block, after `out +=`
    model = _small() if factory is SmallCNN else seeded(ResNetStyle)
    image = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    ours = _maps(model, image, method='guided-backprop', targets=[0, 1, 2], relu=False)
    oracle = pytorch_grad_cam.GuidedBackpropReLUModel(copy.deepcopy(model), device='cpu')
    for target in range(3):
        theirs = oracle(image.clone(), target_category=target).sum(axis=-1)
        assert np.abs(ours[target] - _by_magnitude(theirs)).max() <= TOLERANCE


def test_functional_relus_are_guided_too() -> None:
    modules, functional = _small(), _small(FunctionalCNN)
    image = _image(3)
    expected = _maps(modules, image, method='guided-backprop', targets=[0, 1, 2, 3], relu=False)
    ours = _maps(functional, image, method='guided-backprop', targets=[0, 1, 2, 3], relu=False)
    np.testing.assert_allclose(ours, expected, atol=1e-6)
    plain = capture_batch(functional, image, method='gradcam', layer='features.5')
    assert plain.input_gradients is None
    # and the guided gradients are not the plain ones
    image_grad = image.clone().requires_grad_(True)
    (gradient,) = torch.autograd.grad(functional(image_grad)[0, 0], image_grad)
    assert not np.allclose(_by_magnitude(gradient[0].sum(0)), ours[0], atol=1e-2)


class _HandGuided(torch.autograd.Function):
    """ReLU with guided backpropagation's backward, written out."""

    @staticmethod
    def forward(ctx: Any, z: torch.Tensor) -> torch.Tensor:   # type: ignore[override]
        ctx.save_for_backward(z)
        return z.clamp(min=0)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:   # type: ignore[override]
        (z,) = ctx.saved_tensors
        return grad.clamp(min=0) * (z > 0).to(grad.dtype)


class _GuidedDenseLayer(DenseLayer):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.conv(_HandGuided.apply(self.norm(x)))], 1)


class _GuidedDenseNet(DenseNetStyle):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _HandGuided.apply(self.features(x))
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def test_densenet_functional_relus_match_plain_autograd_of_a_hand_guided_copy() -> None:
    """DenseNet's ReLUs are all ``F.relu`` calls, which captum and pytorch-grad-cam do not
    override; the reference is a copy whose ReLUs are written as guided ones by hand."""
    model = seeded(DenseNetStyle)
    image = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(4))
    ours = _maps(model, image, method='guided-backprop', targets=[0, 1], relu=False)
    reference = copy.deepcopy(model)
    reference.__class__ = _GuidedDenseNet
    for module in reference.modules():
        if type(module) is DenseLayer:
            module.__class__ = _GuidedDenseLayer
    for target in (0, 1):
        x = image.clone().requires_grad_(True)
        (gradient,) = torch.autograd.grad(reference(x)[0, target], x)
        np.testing.assert_allclose(ours[target], _by_magnitude(gradient[0].sum(0)),
                                   atol=TOLERANCE)


def test_counterfactual_guided_backprop_is_that_of_the_negated_score() -> None:
    model, image = _small(), _image(5)
    ours = _maps(model, image, method='guided-backprop', targets=[1], counterfactual=True,
                 relu=False)
    negated = nn.Sequential(model, _Negate())
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)
        theirs = captum_attr.GuidedBackprop(negated).attribute(image.clone(), target=1)
    np.testing.assert_allclose(ours[0], _by_magnitude(theirs[0].sum(0).detach()),
                               atol=TOLERANCE)


class _Negate(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -x


# --------------------------------------------------------------------- what the user sees

def test_pixel_maps_draw_with_the_image_formatter_and_show_prediction() -> None:
    model = seeded(ResNetStyle)
    image = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(7))
    picture = Image.fromarray((image[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8))
    expl = eli5.explain_prediction(model, image, image=picture, method='guided-gradcam')
    assert expl.targets[0].heatmap.shape == (16, 16)
    assert expl.layer == eli5.explain_prediction(model, image).layer    # Grad-CAM's choice
    assert expl.method == 'Guided Grad-CAM'
    drawn = eli5.format_as_image(expl)
    assert isinstance(drawn, Image.Image) and drawn.size == (16, 16)
    assert np.asarray(drawn).std() > 0
    shown = eli5.show_prediction(model, image, method='guided-backprop', relu=False)
    assert isinstance(shown, Image.Image) and shown.size == (16, 16)
    assert 'Guided Grad-CAM' in eli5.format_as_text(expl)


@pytest.mark.parametrize('factory', [mobilenet_style, lambda: nn.Sequential(
    nn.Conv2d(3, 4, 3), nn.GELU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))],
    ids=['relu6-only', 'gelu'])
def test_no_relu_to_guide_is_a_named_error(factory: Any, untouched: Any) -> None:
    model = seeded(factory)
    image = torch.rand(1, 3, 16, 16)
    with untouched(model):
        for method in ('guided-backprop', 'guided-gradcam'):
            with pytest.raises(ValueError, match=f"method='{method}': the model ran no ReLU"):
                explain_prediction_pytorch(model, image, method=method)


def test_guided_methods_need_float_image_documents() -> None:
    with pytest.raises(ValueError, match="method='guided-gradcam' gives a map at the pixels"):
        explain_prediction_pytorch(seeded(TextCNN), torch.tensor([[1, 2, 3, 4]]),
                                   tokens=list('abcd'), method='guided-gradcam')


@pytest.mark.parametrize('factory', [ResNetStyle, vgg_style, DenseNetStyle])
def test_model_left_as_it_was(factory: Any, untouched: Any) -> None:
    model = seeded(factory).train()
    next(model.parameters()).requires_grad_(False)
    image = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(8))
    modes = torch.overrides._get_current_function_mode_stack()
    with untouched(model):
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', FlatHeatmapWarning)
            for method in ('guided-gradcam', 'guided-backprop'):
                explain_prediction_pytorch(model, image, method=method, top_targets=2)
            explain_prediction_pytorch(model, image, method='guided-gradcam', smooth='aug+eigen',
                                       counterfactual=True)
    assert torch.overrides._get_current_function_mode_stack() == modes
    assert torch.is_grad_enabled()


class FailsInTheGuidedPass(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4, 2)
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        features = F.relu(self.conv(x))
        if self.calls == 2:
            raise RuntimeError('boom in the guided pass')
        return self.fc(features.mean(dim=(2, 3)))


def test_left_as_it_was_after_an_exception_in_the_guided_pass(untouched: Any) -> None:
    model = seeded(FailsInTheGuidedPass).train()
    modes = torch.overrides._get_current_function_mode_stack()
    with untouched(model):
        with pytest.raises(ValueError, match='doc: the model failed'):
            explain_prediction_pytorch(model, torch.rand(1, 3, 8, 8), method='guided-gradcam')
    assert torch.overrides._get_current_function_mode_stack() == modes
    # and the next call works, with the ReLU guided
    expl = explain_prediction_pytorch(model, torch.rand(1, 3, 8, 8), method='guided-backprop')
    assert expl.targets[0].heatmap.shape == (8, 8)
