"""Several layers at once, ``smooth='eigen'`` and ``smooth='aug'`` on PyTorch models.

* Several layers: one pass gives each layer exactly the arrays a pass on that
  layer alone gives (also when one layer feeds the other, and through the
  in-place additions of a ResNet block); the map is the LayerCAM fusion of
  the single-layer maps (``eli5_gradcam.nn.fusion``, checked by hand in
  ``tests/nn``).
* ``smooth='eigen'`` against pytorch-grad-cam's ``eigen_smooth=True`` (test-only
  oracle), at a layer with the input's resolution so that neither side
  interpolates; pytorch-grad-cam does not fix the principal component's sign,
  so the closer of the two signs is compared (as in
  ``test_pytorch_methods_oracle.py``).
* ``smooth='aug'``: a one-convolution network with horizontally symmetric
  kernels, ``'same'`` zero padding and stride 1, pooled globally, is
  flip- and translation-equivariant; on an image with a black border of two
  pixels (what a one-pixel shift pushes out of the layer's grid is the
  response to zeros, like what it lets in; Grad-CAM++ sums the activations
  over the grid) the re-aligned views agree and the smoothed map is the plain
  map.
  Asymmetric kernels, or content up to the border, make them differ.
  pytorch-grad-cam's ``aug_smooth`` uses other views (ttach's flips and
  brightness factors), so it is no oracle for the average itself.
"""
from __future__ import annotations

import warnings
from typing import Any, List

import numpy as np
import pytest

torch = pytest.importorskip('torch')

from test_pytorch_methods_oracle import pytorch_grad_cam  # noqa: E402  (first: see there)
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget  # noqa: E402
from torch import nn  # noqa: E402

from eli5_gradcam.nn import FlatHeatmapWarning  # noqa: E402
from eli5_gradcam.nn.fusion import fuse_layer_heatmaps  # noqa: E402
from eli5_gradcam.nn.gradcam import compute_heatmaps  # noqa: E402
from eli5_gradcam.pytorch import (capture_batch, explain_batch_pytorch,  # noqa: E402
                                  explain_prediction_pytorch)
from test_pytorch_guided import SmallCNN, _image, _small  # noqa: E402
from torch_architectures import ResNetStyle, seeded  # noqa: E402

IMAGE = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(11))


def _quiet(function: Any, *args: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FlatHeatmapWarning)
        return function(*args, **kwargs)


def _heatmaps(expl: Any) -> np.ndarray:
    return np.stack([np.asarray(t.heatmap, dtype=np.float64) for t in expl.targets])


# --------------------------------------------------------------------- several layers

@pytest.mark.parametrize('factory, layers', [
    (SmallCNN, ['features.3', 'features.6']),          # the first feeds the second
    (SmallCNN, ['features.6', 'features.1']),          # listed deepest first
    (ResNetStyle, ['layer1', 'layer2.0.conv2', 'layer2']),   # in-place `out +=`, shared ReLU
])
def test_each_layer_gets_the_arrays_of_a_pass_on_it_alone(factory: Any, layers: List[str]
                                                          ) -> None:
    model = _small() if factory is SmallCNN else seeded(factory)
    several = capture_batch(model, IMAGE, layer=layers, targets=[0, 2])
    assert several.layer_names == tuple(layers)
    for arrays, name in zip(several.layers, layers):
        alone = capture_batch(model, IMAGE, layer=name, targets=[0, 2])
        np.testing.assert_allclose(arrays.activations, alone.activations, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(arrays.gradients, alone.gradients, rtol=1e-5, atol=1e-8)
        np.testing.assert_array_equal(several.scores, alone.scores)


def test_several_layers_are_fused_and_named() -> None:
    model = seeded(ResNetStyle)
    expl = _quiet(explain_prediction_pytorch, model, IMAGE, layer=['layer1', 'layer2'],
                  top_targets=2, method='layercam')
    assert expl.layer == 'layer1+layer2' and expl.layers == ('layer1', 'layer2')
    single = [capture_batch(model, IMAGE, layer=name, top_targets=2) for name in expl.layers]
    raw = [compute_heatmaps(c.activations, c.gradients, method='layercam') for c in single]
    fused = fuse_layer_heatmaps(raw)[0]
    expected = fused / fused.max(axis=(1, 2), keepdims=True)
    assert expl.targets[0].heatmap.shape == (16, 16)     # layer1's grid, the finer
    np.testing.assert_allclose(_heatmaps(expl), expected, atol=1e-6)
    again = _quiet(explain_prediction_pytorch, model, IMAGE, layer=expl.layer, top_targets=2,
                   method='layercam')
    np.testing.assert_array_equal(_heatmaps(again), _heatmaps(expl))


def test_one_layer_listed_twice_is_a_named_error() -> None:
    model = seeded(ResNetStyle)
    with pytest.raises(ValueError, match=r"layer: \['layer2'\] listed more than once"):
        explain_prediction_pytorch(model, IMAGE, layer=['layer2', model.layer2])


# --------------------------------------------------------------------- smooth='eigen'

# Not Grad-CAM++: pytorch-grad-cam adds 1e-7 to the denominator of its alphas,
# 2 g^2 + sum(A) g^3, which for this model's gradients (g ~ 1e-3) is of the order of the
# denominator itself: its plain (unsmoothed) Grad-CAM++ maps differ from ours by up to
# 0.12 after min-max scaling already.  The smoothing step is the same for every method.
PEERS = {'gradcam': 'GradCAM', 'layercam': 'LayerCAM', 'hirescam': 'HiResCAM',
         'xgradcam': 'XGradCAM'}


def _min_max(values: np.ndarray) -> np.ndarray:
    spread = values.max() - values.min()
    return (values - values.min()) / (spread if spread > 0 else 1.0)


@pytest.mark.parametrize('method', sorted(PEERS))
@pytest.mark.parametrize('seed', [0, 1])
def test_eigen_smoothing_matches_pytorch_grad_cam_up_to_sign(method: str, seed: int) -> None:
    model, image = _small(), _image(seed)
    layer = model.get_submodule('features.3')          # 10x12, the input's resolution
    rectified = _heatmaps(_quiet(explain_prediction_pytorch, model, image, method=method,
                                 layer='features.3', targets=[0, 1, 2, 3], smooth='eigen'))
    signed = _heatmaps(_quiet(explain_prediction_pytorch, model, image, method=method,
                              layer='features.3', targets=[0, 1, 2, 3], smooth='eigen',
                              relu=False))
    errors = []
    peer = getattr(pytorch_grad_cam, PEERS[method])
    for target in range(4):
        with peer(model=model, target_layers=[layer]) as cam:
            theirs = _min_max(cam(input_tensor=image, targets=[ClassifierOutputTarget(target)],
                                  eigen_smooth=True)[0].astype(np.float64))
        errors.append(min(np.abs(_min_max(rectified[target]) - theirs).max(),
                          np.abs(_min_max(np.maximum(-signed[target], 0.0)) - theirs).max()))
    assert max(errors) <= 1e-4, errors          # achieved: < 4e-7
    plain = _heatmaps(_quiet(explain_prediction_pytorch, model, image, method=method,
                             layer='features.3', targets=[0, 1, 2, 3]))
    assert not np.allclose(plain, rectified, atol=1e-2)     # smoothing changed the maps


# --------------------------------------------------------------------- smooth='aug'

def _symmetric_cnn(symmetric: bool = True) -> nn.Module:
    torch.manual_seed(5)
    model = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Linear(6, 3)).eval()
    if symmetric:
        with torch.no_grad():
            weight = model[0].weight
            weight.copy_((weight + weight.flip(-1)) / 2)
    return model


@pytest.mark.parametrize('method', ['gradcam', 'hirescam', 'layercam', 'gradcam++', 'eigencam',
                                    'scorecam', 'ablationcam'])
def test_augmentation_is_exact_on_an_equivariant_network(method: str) -> None:
    model = _symmetric_cnn()
    image = torch.zeros(1, 3, 12, 12)
    image[:, :, 2:-2, 2:-2] = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(6))
    plain = _heatmaps(_quiet(explain_prediction_pytorch, model, image, method=method,
                             layer='1', targets=[0, 1, 2]))
    smoothed = _quiet(explain_prediction_pytorch, model, image, method=method, layer='1',
                      targets=[0, 1, 2], smooth='aug')
    assert 'Augmentation-smoothed' in smoothed.description
    np.testing.assert_allclose(_heatmaps(smoothed), plain, atol=1e-6)
    full = torch.rand(1, 3, 12, 12, generator=torch.Generator().manual_seed(6))
    for other_model, other_image in ((_symmetric_cnn(symmetric=False), image), (model, full)):
        assert not np.allclose(
            _heatmaps(_quiet(explain_prediction_pytorch, other_model, other_image,
                             method=method, layer='1', targets=[0, 1, 2], smooth='aug')),
            _heatmaps(_quiet(explain_prediction_pytorch, other_model, other_image,
                             method=method, layer='1', targets=[0, 1, 2])), atol=1e-4)


def test_augmentation_keeps_each_documents_top_targets() -> None:
    model = seeded(ResNetStyle)
    docs = torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(12))
    batch = _quiet(explain_batch_pytorch, model, docs, top_targets=2, smooth='aug')
    for index, expl in enumerate(batch):
        alone = _quiet(explain_prediction_pytorch, model, docs[index:index + 1],
                       top_targets=2, smooth='aug')
        assert [t.target for t in expl.targets] == [t.target for t in alone.targets]
        np.testing.assert_allclose(_heatmaps(expl), _heatmaps(alone), atol=1e-5)


def test_augmentation_needs_images() -> None:
    signal = torch.rand(1, 2, 40)
    model = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool1d(1),
                          nn.Flatten(), nn.Linear(4, 2))
    with pytest.raises(ValueError, match="smooth='aug' flips and shifts images"):
        explain_prediction_pytorch(model, signal, smooth='aug')
    expl = _quiet(explain_prediction_pytorch, model, signal, smooth='eigen')
    assert expl.targets[0].heatmap.shape == (40,)


def test_model_left_as_it_was_with_several_layers_and_smoothing(untouched: Any) -> None:
    model = seeded(ResNetStyle).train()
    with untouched(model):
        _quiet(explain_prediction_pytorch, model, IMAGE, layer='layer1+layer2',
               smooth='aug+eigen', top_targets=2)
