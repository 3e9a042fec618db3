"""Errors a new user meets first (issue 18): each says what is wrong and what to do."""
from __future__ import annotations

import re

import numpy as np
import pytest

torch = pytest.importorskip('torch')

from PIL import Image  # noqa: E402
from torch import nn  # noqa: E402

import eli5  # noqa: E402
import eli5_gradcam  # noqa: E402,F401
from eli5_gradcam.pytorch import explain_prediction_pytorch  # noqa: E402
from torch_architectures import TextCNN, seeded, vgg_style  # noqa: E402

torch.set_num_threads(1)
CHW = torch.rand(3, 16, 16, generator=torch.Generator().manual_seed(1))


@pytest.fixture(scope='module')
def vgg() -> nn.Module:
    return seeded(vgg_style)


def test_a_forgotten_batch_axis_says_doc_none(vgg) -> None:
    with pytest.raises(ValueError) as info:
        explain_prediction_pytorch(vgg, CHW)
    message = str(info.value)
    assert 'one CHW image without its batch axis' in message and 'doc[None]' in message
    assert 'batch of 3' not in message and 'explain_predictions' not in message
    assert explain_prediction_pytorch(vgg, CHW[None]).targets      # the advice works


def test_an_hwc_numpy_image_says_permute(vgg) -> None:
    hwc = CHW.permute(1, 2, 0).numpy()
    with pytest.raises(ValueError) as info:
        eli5.explain_prediction(vgg, hwc)
    message = str(info.value)
    assert 'HWC image' in message and 'PyTorch models take NCHW' in message
    assert 'np.moveaxis(doc, -1, 0)[None]' in message and 'batch of 16' not in message
    assert explain_prediction_pytorch(vgg, np.moveaxis(hwc, -1, 0)[None]).targets


def test_a_real_batch_still_points_to_explain_predictions(vgg) -> None:
    with pytest.raises(ValueError, match=r'batch of 2 .*explain_predictions'):
        explain_prediction_pytorch(vgg, torch.rand(2, 3, 16, 16))


def test_a_pil_image_as_doc_says_how_to_convert(vgg) -> None:
    picture = Image.new('RGB', (16, 16), 'red')
    with pytest.raises(TypeError) as info:
        eli5.explain_prediction(vgg, picture)
    message = str(info.value)
    assert message.startswith('doc is a PIL image')
    assert '.unsqueeze(0)' in message and 'permute(2, 0, 1)[None]' in message
    assert 'image=img' in message


def test_uint8_pixels_say_convert_to_float_and_normalise(vgg) -> None:
    pixels = (CHW[None] * 255).to(torch.uint8)
    with pytest.raises(ValueError) as info:
        explain_prediction_pytorch(vgg, pixels)
    message = str(info.value)
    assert 'integer pixels (uint8)' in message
    assert 'doc.float() / 255' in message and '(doc - mean) / std' in message


def test_image_of_another_shape_than_the_doc_is_an_error(vgg) -> None:
    with pytest.raises(ValueError) as info:
        explain_prediction_pytorch(vgg, CHW[None], image=Image.new('RGB', (32, 24)))
    message = str(info.value)
    assert 'image is 32x24 pixels but doc is 16x16, another shape' in message
    assert 'image_from_path(path, image_shape=(16, 16), crop=...)' in message
    for size in ((16, 16), (48, 48), (33, 33)):        # the doc's shape, at any scale
        drawn = explain_prediction_pytorch(vgg, CHW[None], image=Image.new('RGB', size))
        assert drawn.image.size == size


def test_images_of_another_shape_name_the_document() -> None:
    with pytest.raises(ValueError, match=r'images\[1\] is 8x16 pixels but doc is 16x16'):
        list(eli5_gradcam.explain_predictions(
            seeded(vgg_style), torch.rand(2, 3, 16, 16),
            images=[Image.new('RGB', (16, 16)), Image.new('RGB', (8, 16))]))


@pytest.mark.parametrize('ids, bad', [([[1, 2, 30]], 30), ([[1, -1, 2]], -1)])
def test_token_ids_outside_the_vocabulary_are_a_named_error(ids, bad) -> None:
    model = seeded(TextCNN)                    # nn.Embedding(30, ...)
    good = torch.tensor([[1, 2, 3]])
    explain_prediction_pytorch(model, good, tokens=['a', 'b', 'c'])
    pattern = (f"doc: token id {bad} is outside the vocabulary of the embedding 'embed', "
               'which has 30 ids (0 to 29)')
    for _ in range(2):      # the first call traces the model, the second uses its plan
        with pytest.raises(ValueError, match=re.escape(pattern)):
            explain_prediction_pytorch(model, torch.tensor(ids), tokens=['a', 'b', 'c'])
    with pytest.raises(ValueError, match=re.escape(pattern)):
        explain_prediction_pytorch(seeded(TextCNN), torch.tensor(ids), tokens=['a', 'b', 'c'])


def test_only_the_embedding_that_reads_the_doc_is_checked() -> None:
    class WithPositions(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.words = nn.Embedding(50, 4)
            self.positions = nn.Embedding(3, 4)      # indexed by position, not by the ids
            self.conv = nn.Conv1d(4, 5, 3, padding=1)
            self.fc = nn.Linear(5, 2)

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            where = torch.arange(ids.shape[1])
            x = (self.words(ids) + self.positions(where)).transpose(1, 2)
            return self.fc(torch.relu(self.conv(x)).amax(dim=2))
    model = seeded(WithPositions)
    expl = explain_prediction_pytorch(model, torch.tensor([[40, 41, 42]]), tokens=list('abc'))
    assert expl.targets
    with pytest.raises(ValueError, match="outside the vocabulary of the embedding 'words'"):
        explain_prediction_pytorch(model, torch.tensor([[40, 50, 42]]), tokens=list('abc'))


class Features(nn.Module):
    """torchvision's layout: ``features`` (a Sequential), then pooling and a classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(6, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True),
            nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def test_the_automatic_layer_is_the_module_not_its_container() -> None:
    model = seeded(Features)
    doc = CHW[None]
    expl = explain_prediction_pytorch(model, doc, relu=False)
    assert expl.layer == 'features.7'
    assert f"layer '{expl.layer}'" in expl.description
    container = explain_prediction_pytorch(model, doc, relu=False, layer='features')
    np.testing.assert_allclose(expl.targets[0].heatmap, container.targets[0].heatmap)
    again = explain_prediction_pytorch(model, doc, relu=False, layer=expl.layer)
    np.testing.assert_array_equal(again.targets[0].heatmap, expl.targets[0].heatmap)
