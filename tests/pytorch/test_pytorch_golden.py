"""Correctness: hand-computed maps, captum's LayerGradCam, plain autograd."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip('torch')
captum_attr = pytest.importorskip('captum.attr')

from torch import nn  # noqa: E402

from eli5_gradcam.nn import ExplainOptions  # noqa: E402
from eli5_gradcam.nn.kinds import DocumentKind  # noqa: E402
from eli5_gradcam.pytorch import capture_layer, explain_prediction_pytorch  # noqa: E402
from torch_architectures import (ResNetStyle, SmallViT, TextCNN, TextLSTM,  # noqa: E402
                                 seeded)


def _normalised(values: np.ndarray) -> np.ndarray:
    values = np.maximum(values, 0.0)
    return values / values.max()


def test_golden_image_map_by_hand() -> None:
    # conv 1x1: A0 = x, A1 = 0.5 - x; average pool; linear W.
    conv = nn.Conv2d(1, 2, 1)
    linear = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([1.0, -1.0]).reshape(2, 1, 1, 1))
        conv.bias.copy_(torch.tensor([0.0, 0.5]))
        linear.weight.copy_(torch.tensor([[2.0, 1.0], [-1.0, 3.0]]))
    model = nn.Sequential(conv, nn.AdaptiveAvgPool2d(1), nn.Flatten(), linear)
    x = np.array([[0.0, 1.0, 2.0], [3.0, -1.0, 0.5], [1.5, 2.5, -2.0]], dtype=np.float32)
    expl = explain_prediction_pytorch(model, x[None, None], targets=[0, 1], layer='0')
    # alpha_k = W[c, k] / 9, map = relu(sum_k alpha_k A_k), divided by its max
    expected_0 = _normalised((2.0 * x + 1.0 * (0.5 - x)) / 9.0)
    expected_1 = _normalised((-1.0 * x + 3.0 * (0.5 - x)) / 9.0)
    np.testing.assert_allclose(expl.targets[0].heatmap, expected_0, rtol=1e-6)
    np.testing.assert_allclose(expl.targets[1].heatmap, expected_1, rtol=1e-6)
    scores = [2.0 * x.mean() + (0.5 - x).mean(), -x.mean() + 3.0 * (0.5 - x).mean()]
    assert [t.score for t in expl.targets] == pytest.approx(scores, rel=1e-6)
    assert not expl.is_regression


class MeanEmbeddingRegressor(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(4, 2)
        self.out = nn.Linear(2, 1, bias=False)
        with torch.no_grad():
            self.embed.weight.copy_(torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0],
                                                  [1.0, 1.0]]))
            self.out.weight.copy_(torch.tensor([[3.0, -1.0]]))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.out(self.embed(ids).mean(dim=1)).squeeze(1)


def test_golden_token_weights_by_hand() -> None:
    ids = np.array([[1, 2, 3, 1, 0]])
    expl = explain_prediction_pytorch(MeanEmbeddingRegressor(), ids,
                                      tokens=['a', 'b', 'c', 'a', 'pad'], relu=False)
    # alpha = W / 5; map_l = alpha . E[id_l] = (3 e0 - e1) / 5
    table = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    raw = (table[ids[0]] @ np.array([3.0, -1.0])) / 5.0
    np.testing.assert_allclose(expl.targets[0].feature_weights.pos[0].weight, 1.0)
    spans = expl.targets[0].weighted_spans.docs_weighted_spans[0].spans
    np.testing.assert_allclose([w for _, _, w in spans], raw / np.abs(raw).max(), atol=1e-7)
    assert expl.is_regression
    assert expl.layer == 'embed'


def _captum_map(model: nn.Module, layer: nn.Module, doc: torch.Tensor, target: int
                ) -> np.ndarray:
    attribution = captum_attr.LayerGradCam(model, layer).attribute(doc, target=target)
    return _normalised(attribution.detach().double().numpy()[0, 0])


@pytest.mark.parametrize('layer', ['layer2', 'layer1.1', 'layer1.0.conv2', 'layer2.0'])
def test_resnet_matches_captum(layer: str) -> None:
    model = seeded(ResNetStyle)
    torch.manual_seed(1)
    doc = torch.rand(1, 3, 16, 16)
    module = dict(model.named_modules())[layer]
    expl = explain_prediction_pytorch(model, doc, layer=layer, targets=[0, 3])
    for target in expl.targets:
        ours = target.heatmap
        theirs = _captum_map(model, module, doc, int(target.target))
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_vit_matches_captum_on_the_token_grid() -> None:
    model = seeded(SmallViT, tap=True)
    torch.manual_seed(2)
    doc = torch.rand(1, 3, 16, 16)
    expl = explain_prediction_pytorch(model, doc, layer='blocks.1.norm1', targets=[1, 2])
    for target in expl.targets:
        theirs = _captum_map(model, model.blocks[1].tap, doc, int(target.target))
        np.testing.assert_allclose(target.heatmap, theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('layer', ['conv', 'relu'])
def test_text_cnn_matches_captum(layer: str) -> None:
    model = seeded(TextCNN)
    ids = torch.tensor([[3, 7, 1, 19, 4, 4, 22, 8]])
    expl = explain_prediction_pytorch(model, ids, tokens=list('abcdefgh'), layer=layer,
                                      top_targets=3)
    for target in expl.targets:
        theirs = _captum_map(model, getattr(model, layer), ids, int(target.target))
        spans = target.weighted_spans.docs_weighted_spans[0].spans
        np.testing.assert_allclose([w for _, _, w in spans], theirs.ravel(),
                                   rtol=1e-5, atol=1e-6)


def _resnet_bn3_reference(model: ResNetStyle, doc: torch.Tensor, target: int):
    """Grad of the score w.r.t. layer2.0.bn3's output, computed without hooks."""
    block = model.layer2[0]
    with torch.no_grad():
        x = model.layer1(model.relu(model.bn1(model.conv1(doc))))
        out = block.relu(block.bn1(block.conv1(x)))
        out = block.relu(block.bn2(block.conv2(out)))
        bn3 = block.bn3(block.conv3(out))
    leaf = bn3.clone().requires_grad_(True)
    y = torch.relu(leaf + block.downsample(x))
    scores = model.fc(torch.flatten(model.avgpool(y), 1))
    (gradient,) = torch.autograd.grad(scores[0, target], leaf)
    return bn3, gradient


@pytest.mark.parametrize('strategy', ['loop', 'batched'])
def test_gradients_equal_plain_autograd_before_an_inplace_add(strategy: str) -> None:
    model = seeded(ResNetStyle)
    doc = torch.rand(1, 3, 16, 16)
    capture = capture_layer(model, doc, DocumentKind('image', 2, (16, 16)),
                            ExplainOptions(layer='layer2.0.bn3', targets=[4, 1]),
                            strategy=strategy)
    for column, target in enumerate([4, 1]):
        activations, gradient = _resnet_bn3_reference(model, doc, target)
        np.testing.assert_allclose(capture.activations[0],
                                   activations[0].permute(1, 2, 0).numpy(), rtol=1e-6)
        np.testing.assert_allclose(capture.gradients[0, column],
                                   gradient[0].permute(1, 2, 0).numpy(), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize('strategy', ['loop', 'batched'])
def test_lstm_gradients_equal_plain_autograd(strategy: str) -> None:
    model = seeded(TextLSTM)
    ids = torch.tensor([[5, 2, 9, 9, 1, 0]])
    capture = capture_layer(model, ids, DocumentKind('other', 1),
                            ExplainOptions(layer='lstm', targets=[0, 1, 2]), strategy=strategy)
    with torch.no_grad():
        out, _ = model.lstm(model.embed(ids))
    leaf = out.clone().requires_grad_(True)
    scores = model.fc(leaf.mean(dim=1))
    for target in range(3):
        (gradient,) = torch.autograd.grad(scores[0, target], leaf, retain_graph=True)
        np.testing.assert_allclose(capture.gradients[0, target], gradient[0].numpy(),
                                   rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(capture.activations[0], out[0].numpy(), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(capture.scores[0], scores[0].detach().numpy(),
                               rtol=1e-6)
