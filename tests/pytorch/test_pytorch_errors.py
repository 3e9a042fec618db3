"""Bad input: a TypeError or ValueError naming the argument, before the framework's."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip('torch')

from PIL import Image  # noqa: E402

from eli5_gradcam.pytorch import explain_prediction_pytorch  # noqa: E402
from torch_architectures import ResNetStyle, TextCNN, seeded  # noqa: E402

IMAGE = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(6))
IDS = torch.tensor([[1, 2, 3, 4]])


@pytest.fixture(scope='module')
def resnet():
    return seeded(ResNetStyle)


@pytest.mark.parametrize('kwargs, error, pattern', [
    ({'doc': [[1.0, 2.0]]}, TypeError, 'doc must be a torch.Tensor'),
    ({'doc': np.array([['a', 'b']])}, TypeError, 'doc must hold numbers'),
    ({'doc': torch.rand(16)}, ValueError, 'doc must have a batch axis'),
    ({'doc': torch.rand(2, 3, 16, 16)}, ValueError, r'doc must hold one document.*batch of 2'),
    ({'doc': torch.rand(1, 5, 16, 16)}, ValueError, 'doc: the model failed'),
    ({'doc': torch.rand(1, 3, 16), 'image': Image.new('RGB', (16, 16))}, ValueError,
     'doc must be an NCHW image'),
    ({'targets': [5]}, ValueError, r'targets: index 5 is out of range'),
    ({'targets': [0], 'top_targets': 2}, ValueError, 'targets or top_targets'),
    ({'layer': 'layer9'}, ValueError, r"layer 'layer9' not found in model; .*layer2"),
    ({'layer': 'fc'}, ValueError, r"layer 'fc' has output shape \(1, 5\)"),
    ({'layer': 'avgpool'}, ValueError, r"layer 'avgpool'.*no 2-D spatial extent"),
    ({'layer': 'layer1.0.relu'}, ValueError, r"layer 'layer1.0.relu' runs 3 times"),
    ({'layer': 1000}, ValueError, 'layer index 1000 is out of range'),
    ({'layer': 2.5}, TypeError, 'layer must be None'),
    ({'layer': torch.nn.ReLU()}, ValueError, 'not part of the model'),
    ({'reshape': 'grid'}, TypeError, 'reshape must be a callable'),
    ({'output': 1}, ValueError, 'output=1 selects part of a model output'),
    ({'method': 'nope'}, ValueError, 'method must be one of'),
    ({'score': 'logits'}, ValueError, 'score must be'),
    ({'relu': 1}, TypeError, 'relu must be True or False'),
])
def test_bad_image_input(resnet, kwargs, error, pattern) -> None:
    kwargs = dict(kwargs)
    doc = kwargs.pop('doc', IMAGE)
    with pytest.raises(error, match=pattern):
        explain_prediction_pytorch(resnet, doc, **kwargs)


@pytest.mark.parametrize('kwargs, error, pattern', [
    ({'tokens': ['a', 'b']}, ValueError, r'tokens has 2 tokens but doc has 4 positions'),
    ({'tokens': 'a b c d'}, TypeError, 'tokens must be a list'),
    ({'tokens': list('abcd'), 'layer': 'fc'}, ValueError, "layer 'fc'"),
    ({'tokens': list('abcd'), 'padding': 'middle'}, ValueError, 'padding must be'),
])
def test_bad_text_input(kwargs, error, pattern) -> None:
    with pytest.raises(error, match=pattern):
        explain_prediction_pytorch(seeded(TextCNN), IDS, **kwargs)


def test_model_must_be_a_module() -> None:
    with pytest.raises(TypeError, match='model must be a torch.nn.Module'):
        explain_prediction_pytorch(lambda x: x, IMAGE)  # type: ignore[arg-type]


def test_model_with_non_score_output() -> None:
    mlp = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(768, 2))
    expl = explain_prediction_pytorch(mlp, IMAGE)          # eli5's convention
    assert expl.targets is None and 'is not supported' in expl.error
    assert 'layer=None: no module' in expl.error
    seq = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU())
    with pytest.raises(ValueError, match=r'output: the explained model output has shape'):
        explain_prediction_pytorch(seq, IMAGE, layer='0')
