"""Targets, scores and outputs: one pass for k targets, softmax/sigmoid, output=."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip('torch')

from torch import nn  # noqa: E402

from eli5_gradcam.pytorch import explain_prediction_pytorch  # noqa: E402
from eli5_gradcam.nn import ExplainOptions  # noqa: E402
from eli5_gradcam.nn.kinds import DocumentKind  # noqa: E402
from eli5_gradcam.pytorch.capture import capture_layer  # noqa: E402

IMAGE_16 = DocumentKind('image', 2, (16, 16))
from torch_architectures import ResNetStyle, TextCNN, seeded, vgg_style  # noqa: E402

IMAGE = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(4))


@pytest.mark.parametrize('factory, doc, kwargs', [
    (ResNetStyle, IMAGE, {}),
    (TextCNN, torch.tensor([[1, 5, 9, 2, 2, 7]]), {'tokens': list('abcdef')}),
])
def test_k_targets_equal_k_single_calls(factory, doc, kwargs) -> None:
    model = seeded(factory)
    targets = [2, 0, 1]
    together = explain_prediction_pytorch(model, doc, targets=targets, relu=False, **kwargs)
    assert [t.target for t in together.targets] == targets
    for target, explained in zip(targets, together.targets):
        alone = explain_prediction_pytorch(model, doc, targets=[target], relu=False, **kwargs)
        assert explained.heatmap is not None and alone.targets[0].heatmap is not None
        assert explained.heatmap.shape == alone.targets[0].heatmap.shape
        np.testing.assert_allclose(explained.heatmap, alone.targets[0].heatmap,
                                   rtol=1e-6, atol=1e-7)
        assert explained.score == pytest.approx(alone.targets[0].score)
        if kwargs:
            ours, theirs = explained.feature_weights.pos, alone.targets[0].feature_weights.pos
            assert [w.feature for w in ours] == [w.feature for w in theirs]
            np.testing.assert_allclose([w.weight for w in ours], [w.weight for w in theirs])


@pytest.mark.parametrize('layer', [None, 'layer1'])
def test_strategies_agree_and_a_batch_is_supported(layer: object) -> None:
    model = seeded(ResNetStyle)
    docs = torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(5))
    results = [capture_layer(model, docs, IMAGE_16, ExplainOptions(top_targets=3, layer=layer),
                             strategy=strategy)
               for strategy in ('batched', 'loop', 'auto')]
    for other in results[1:]:
        np.testing.assert_allclose(results[0].gradients, other.gradients, rtol=1e-5,
                                   atol=1e-9)
    if layer is not None:
        return
    assert results[0].gradients.shape == (3, 3, 8, 8, 24)
    np.testing.assert_array_equal(results[0].targets, np.argsort(-results[0].scores, 1)[:, :3])


def test_auto_strategy_vectorises_only_short_heads() -> None:
    from eli5_gradcam.pytorch.gradients import head_is_short
    deep = nn.Sequential(*[nn.Sequential(nn.Linear(4, 4), nn.Tanh()) for _ in range(70)])
    scores = deep(torch.rand(1, 4, requires_grad=True))
    assert not head_is_short(scores)                 # 70 x (addmm, tanh) and parameters
    assert head_is_short(scores, limit=10_000)
    assert head_is_short(deep[-1](torch.rand(1, 4, requires_grad=True)))
    model = seeded(ResNetStyle)
    with pytest.raises(ValueError, match='strategy must be one of'):
        capture_layer(model, IMAGE, IMAGE_16, ExplainOptions(top_targets=2), strategy='fast')


def test_top_targets_and_target_names() -> None:
    model = seeded(ResNetStyle)
    names = ['cat', 'dog', 'owl', 'eel', 'fox']
    expl = explain_prediction_pytorch(model, IMAGE, top_targets=2, target_names=names)
    scores = [t.score for t in expl.targets]
    assert scores == sorted(scores, reverse=True) and len(scores) == 2
    assert all(t.target in names for t in expl.targets)
    by_name = explain_prediction_pytorch(model, IMAGE, targets=['owl'], target_names=names)
    assert by_name.targets[0].target == 'owl'


@pytest.mark.parametrize('final, proba', [(nn.Softmax(dim=1), lambda p: p),
                                          (nn.LogSoftmax(dim=1), torch.exp)])
def test_auto_score_is_the_pre_softmax_logit(final, proba) -> None:
    logits_model = seeded(vgg_style)
    model = nn.Sequential(logits_model, final).eval()
    expl = explain_prediction_pytorch(model, IMAGE, top_targets=4, relu=False)
    logits = logits_model(IMAGE)[0].detach().numpy()
    probabilities = proba(model(IMAGE))[0].detach().numpy()
    assert 'pre-softmax logit' in expl.description
    for target in expl.targets:
        assert target.score == pytest.approx(float(logits[target.target]), rel=1e-5)
        assert target.proba == pytest.approx(float(probabilities[target.target]), rel=1e-5)
        plain = explain_prediction_pytorch(logits_model, IMAGE, targets=[target.target],
                                           relu=False)
        np.testing.assert_allclose(target.heatmap, plain.targets[0].heatmap, rtol=1e-5,
                                   atol=1e-7)
    raw = explain_prediction_pytorch(model, IMAGE, score='output')
    assert 'model output' in raw.description and raw.targets[0].proba is None


def _regressor(final: nn.Module) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(4, 1), final).eval()


def test_single_output_regression_and_counterfactual() -> None:
    model = _regressor(nn.Identity())
    expl = explain_prediction_pytorch(model, IMAGE, relu=False)
    assert expl.is_regression and len(expl.targets) == 1
    assert expl.targets[0].score == pytest.approx(float(model(IMAGE)))
    opposite = explain_prediction_pytorch(model, IMAGE, relu=False, counterfactual=True)
    np.testing.assert_allclose(opposite.targets[0].heatmap, -expl.targets[0].heatmap)


def test_single_output_sigmoid_is_a_binary_classifier() -> None:
    model = _regressor(nn.Sigmoid())
    expl = explain_prediction_pytorch(model, IMAGE, relu=False)
    assert not expl.is_regression
    assert 'pre-sigmoid logit' in expl.description
    assert expl.targets[0].proba == pytest.approx(float(model(IMAGE)), rel=1e-6)
    assert expl.targets[0].score == pytest.approx(float(model[:-1](IMAGE)), rel=1e-6)


class MultiOutput(nn.Module):
    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.body = vgg_style(classes=3)
        self.aux = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor):
        logits = self.body(x)
        aux = self.aux(logits)
        if self.kind == 'tuple':
            return aux, logits
        if self.kind == 'dict':
            return {'aux': aux, 'logits': logits}
        return SimpleNamespace(aux=aux, logits=logits)


@pytest.mark.parametrize('kind, output, n_outputs', [
    ('tuple', 0, 2), ('tuple', 1, 3), ('dict', None, 3), ('dict', 'aux', 2),
    ('object', None, 3), ('object', 'aux', 2)])
def test_output_selects_the_scores(kind, output, n_outputs) -> None:
    model = seeded(MultiOutput, kind)
    expl = explain_prediction_pytorch(model, IMAGE, output=output, top_targets=5)
    assert len(expl.targets) == n_outputs


def test_several_outputs_without_logits_need_output() -> None:
    """One rule for PyTorch and Keras: output=None never picks one of several outputs."""
    with pytest.raises(ValueError, match=r'the model returns 2 outputs; pass output='):
        explain_prediction_pytorch(seeded(MultiOutput, 'tuple'), IMAGE)


@pytest.mark.parametrize('layout_kwargs, raw_shape', [
    ({'order': 'channels_first'}, (2, 6, 4, 5)),          # conv: (batch, C, H, W)
    ({'order': 'channels_first'}, (2, 6, 7)),             # conv1d: (batch, C, L)
    ({'order': 'channels_last'}, (2, 7, 6)),              # (batch, L, C)
    ({'order': 'time_first'}, (7, 2, 6)),                 # LSTM without batch_first
    ({'order': 'channels_last', 'grid': (2, 3), 'drop_class_token': True}, (2, 7, 6)),
    ({'reshape': lambda t: t.reshape(t.shape[0], 7, 6)}, (2, 42)),
])
def test_gradients_to_channels_last_match_each_target_converted(layout_kwargs,
                                                                raw_shape) -> None:
    # The no-copy conversion of all targets at once equals converting and
    # stacking each target's gradient, for every layout the adapter knows.
    from eli5_gradcam.pytorch.layout import Layout
    layout = Layout(**layout_kwargs)
    gradients = torch.randn((3,) + raw_shape, generator=torch.Generator().manual_seed(8))
    expected = torch.stack([layout.to_channels_last(g) for g in gradients], dim=1)
    converted = layout.targets_to_channels_last(gradients)
    assert converted.shape == expected.shape
    np.testing.assert_array_equal(converted.numpy(), expected.numpy())
