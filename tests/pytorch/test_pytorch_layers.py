"""Which layer is explained: automatic choice on each family, and layer=."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip('torch')

from torch import nn  # noqa: E402

from eli5_gradcam.pytorch import explain_prediction_pytorch  # noqa: E402
from torch_architectures import (ConvNeXtStyle, DenseNetStyle,  # noqa: E402
                                 EfficientNetStyle, ResNetStyle, SmallViT, TextCNN,
                                 TextLSTM, mobilenet_style, seeded, signal_cnn, vgg_style)

IMAGE = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
IDS = torch.tensor([[4, 8, 15, 16, 23, 2, 9]])
TOKENS = ['t%d' % i for i in range(7)]


def _layer(expl) -> str:
    return expl.layer


@pytest.mark.parametrize('factory, expected, shape', [
    # The most specific module producing the chosen output (issue 18), not its container:
    (ResNetStyle, 'layer2.0', (8, 8)),        # the block (its in-place ReLU is shared)
    (vgg_style, '0.7', (4, 4)),               # the feature extractor's last max pool
    (DenseNetStyle, 'features.5', (8, 8)),    # the norm after the last concat
    (mobilenet_style, '0.3.5', (4, 4)),       # the last block's ReLU6
    (EfficientNetStyle, 'head.2', (4, 4)),    # conv head; never the SE's 1x1 outputs
    (ConvNeXtStyle, 'stages.2', (4, 4)),      # channels-first again after the permutes
    (SmallViT, 'blocks.1.norm1', (4, 4)),     # the input of the last attention
])
def test_automatic_choice_on_image_families(factory, expected, shape) -> None:
    expl = explain_prediction_pytorch(seeded(factory), IMAGE)
    assert _layer(expl) == expected
    assert expl.targets[0].heatmap.shape == shape
    assert expl.image is not None


@pytest.mark.parametrize('factory, expected', [(TextCNN, 'relu'), (TextLSTM, 'lstm')])
def test_automatic_choice_on_text_models(factory, expected) -> None:
    expl = explain_prediction_pytorch(seeded(factory), IDS, tokens=TOKENS)
    assert _layer(expl) == expected
    spans = expl.targets[0].weighted_spans.docs_weighted_spans[0].spans
    assert [token for token, _, _ in spans] == TOKENS


def test_automatic_choice_on_signals() -> None:
    expl = explain_prediction_pytorch(seeded(signal_cnn), torch.rand(1, 2, 40))
    assert _layer(expl) == '3'
    assert expl.targets[0].heatmap.shape == (40,)


def test_execution_order_not_registration_order() -> None:
    class Reordered(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.late = nn.Conv2d(4, 5, 3, padding=1)     # registered first, runs last
            self.early = nn.Conv2d(3, 4, 3, padding=1)
            self.fc = nn.Linear(5, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(self.late(torch.relu(self.early(x))).mean(dim=(2, 3)))
    assert _layer(explain_prediction_pytorch(seeded(Reordered), IMAGE)) == 'late'


def test_a_shared_module_is_never_chosen() -> None:
    class Shared(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
            self.conv2 = nn.Conv2d(4, 5, 3, padding=1)
            self.act = nn.ReLU()
            self.fc = nn.Linear(5, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(self.act(self.conv2(self.act(self.conv1(x)))).mean(dim=(2, 3)))
    model = seeded(Shared)
    assert _layer(explain_prediction_pytorch(model, IMAGE)) == 'conv2'
    with pytest.raises(ValueError, match=r"layer 'act' runs 2 times"):
        explain_prediction_pytorch(model, IMAGE, layer='act')


def test_layer_by_name_index_and_module_agree() -> None:
    model = seeded(ResNetStyle)
    names = [name for name, _ in model.named_modules()]
    by_name = explain_prediction_pytorch(model, IMAGE, layer='layer1.1.conv3')
    by_index = explain_prediction_pytorch(model, IMAGE, layer=names.index('layer1.1.conv3'))
    by_module = explain_prediction_pytorch(model, IMAGE, layer=model.layer1[1].conv3)
    for other in (by_index, by_module):
        assert _layer(other) == 'layer1.1.conv3'
        np.testing.assert_array_equal(other.targets[0].heatmap, by_name.targets[0].heatmap)


def test_reshape_for_an_unrecognised_layout() -> None:
    model = seeded(SmallViT)
    auto = explain_prediction_pytorch(model, IMAGE, layer='blocks.1.norm1')

    def to_grid(tokens: torch.Tensor) -> torch.Tensor:
        return tokens[:, 1:].reshape(tokens.shape[0], 4, 4, tokens.shape[2])
    custom = explain_prediction_pytorch(model, IMAGE, layer='blocks.1.norm1', reshape=to_grid)
    np.testing.assert_allclose(custom.targets[0].heatmap, auto.targets[0].heatmap)


def test_non_batch_first_lstm() -> None:
    class TimeFirst(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(30, 6)
            self.lstm = nn.LSTM(6, 5)
            self.fc = nn.Linear(5, 2)

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            out, _ = self.lstm(self.embed(ids).transpose(0, 1))
            return self.fc(out.mean(dim=0))
    expl = explain_prediction_pytorch(seeded(TimeFirst), IDS, tokens=TOKENS, relu=False)
    assert _layer(expl) == 'lstm'
    assert len(expl.targets[0].weighted_spans.docs_weighted_spans[0].spans) == 7
