"""XGrad-CAM, Eigen-CAM and EigenGrad-CAM against pytorch-grad-cam (test-only oracle).

How the maps are compared.  The CNN below keeps the input's 10x12 resolution
up to the explained layers, so pytorch-grad-cam's upsampling to the input
size (``cv2.resize`` to the same size) is the identity and both libraries are
compared at the layer's own resolution, with no interpolation on either side.
pytorch-grad-cam rectifies each map and min-max scales it, ``(m - min) /
(max + 1e-7)``; ours is rectified and divided by its maximum.  Both are put
through the same exact min-max scaling before comparing.

Eigen-CAM and EigenGrad-CAM: pytorch-grad-cam does not fix the sign of the
singular vector, so its map is the rectified ``+M`` or ``-M``, whichever numpy's
SVD returns, where ``M`` is our oriented (signed) map.  The comparison takes
the closer of the two and says which it was; ours follows the documented rule
(``eli5_gradcam.nn.methods_eigen.first_principal_projection``).

pytorch-grad-cam imports torchvision at package import, for helpers these
tests never call; torchvision cannot be installed beside the CPU torch here
(bench/peers_torch.py does the same).  A stand-in is registered only while
pytorch-grad-cam is imported, then removed from ``sys.modules``.
"""
from __future__ import annotations

import sys
import types
from typing import Any, Dict, List

import numpy as np
import pytest

torch = pytest.importorskip('torch')


def _import_pytorch_grad_cam() -> Any:
    try:
        import torchvision  # noqa: F401
        return pytest.importorskip('pytorch_grad_cam')
    except Exception:   # noqa: BLE001 - missing, or broken beside this torch
        pass

    class _Unavailable:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise RuntimeError('torchvision stand-in of the oracle tests')

    stand_in = types.ModuleType('torchvision')
    transforms = types.ModuleType('torchvision.transforms')
    functional = types.ModuleType('torchvision.transforms.functional')
    for name in ('Compose', 'Normalize', 'ToTensor', 'Resize'):
        setattr(transforms, name, _Unavailable)
    setattr(functional, 'resize', _Unavailable)
    setattr(transforms, 'functional', functional)
    setattr(stand_in, 'transforms', transforms)
    added = {name: module for name, module in (
        ('torchvision', stand_in), ('torchvision.transforms', transforms),
        ('torchvision.transforms.functional', functional)) if name not in sys.modules}
    sys.modules.update(added)
    try:
        return pytest.importorskip('pytorch_grad_cam')
    finally:
        for name in added:
            sys.modules.pop(name, None)


pytorch_grad_cam = _import_pytorch_grad_cam()

import eli5  # noqa: E402
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget  # noqa: E402
from pytorch_grad_cam.utils.svd_on_activations import get_2d_projection  # noqa: E402
from torch import nn  # noqa: E402

import eli5_gradcam  # noqa: E402,F401
from eli5_gradcam.nn.gradcam import xgradcam_channel_weights  # noqa: E402
from eli5_gradcam.nn.methods_eigen import eigencam_map, eigengradcam_map  # noqa: E402

TOLERANCE = 1e-5       # achieved: < 4e-7 (pytorch-grad-cam computes in float32)
CLASSES = 4
PEERS = {'xgradcam': pytorch_grad_cam.XGradCAM, 'eigencam': pytorch_grad_cam.EigenCAM,
         'eigengradcam': pytorch_grad_cam.EigenGradCAM}
SIGNLESS = {'eigencam', 'eigengradcam'}


class SmallCNN(nn.Module):
    """Two same-size convolutions (the explained layers keep the input's
    resolution), then pooling down to the class scores."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(),
            nn.Conv2d(6, 8, 3, padding=1), nn.ReLU())
        self.head = nn.Sequential(
            nn.MaxPool2d(2), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, CLASSES))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _model() -> nn.Module:
    torch.manual_seed(0)
    model = SmallCNN()
    # positive bias on the explained convolution: most channels are alive
    with torch.no_grad():
        model.features[2].bias.add_(0.1)
    return model.eval()


def _image(seed: int) -> torch.Tensor:
    return torch.rand(1, 3, 10, 12, generator=torch.Generator().manual_seed(seed))


def _min_max(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    spread = values.max() - values.min()
    return (values - values.min()) / (spread if spread > 0 else 1.0)


def _peer_map(method: str, model: nn.Module, layer: nn.Module, image: torch.Tensor,
              target: int) -> np.ndarray:
    with PEERS[method](model=model, target_layers=[layer]) as cam:
        maps = cam(input_tensor=image, targets=[ClassifierOutputTarget(target)])
    assert maps.shape == (1,) + tuple(image.shape[2:])
    return np.asarray(maps[0], dtype=np.float64)


def _ours(method: str, model: nn.Module, layer_name: str, image: torch.Tensor,
          relu: bool) -> List[np.ndarray]:
    expl = eli5.explain_prediction(model, image, method=method, layer=layer_name,
                                   targets=list(range(CLASSES)), relu=relu)
    assert expl.error is None, expl.error
    return [np.asarray(target.heatmap, dtype=np.float64) for target in expl.targets]


def _compare(method: str, layer_name: str, seed: int) -> Dict[str, Any]:
    model = _model()
    layer = dict(model.named_modules())[layer_name]
    image = _image(seed)
    rectified = _ours(method, model, layer_name, image, relu=True)
    signed = _ours(method, model, layer_name, image, relu=False)
    errors, flipped = [], []
    for target in range(CLASSES):
        theirs = _min_max(_peer_map(method, model, layer, image, target))
        assert rectified[target].shape == theirs.shape
        error = np.abs(_min_max(rectified[target]) - theirs).max()
        if method in SIGNLESS:
            error_flipped = np.abs(_min_max(np.maximum(-signed[target], 0.0)) - theirs).max()
            flipped.append(bool(error_flipped < error))
            error = min(error, error_flipped)
        errors.append(float(error))
    return {'errors': errors, 'flipped': flipped, 'rectified': rectified}


@pytest.mark.parametrize('layer_name', ['features.3', 'features.2'])
@pytest.mark.parametrize('seed', [0, 1])
def test_xgradcam_matches_pytorch_grad_cam(layer_name: str, seed: int) -> None:
    # features.3: after the ReLU (non-negative); features.2: the convolution itself
    result = _compare('xgradcam', layer_name, seed)
    assert max(result['errors']) <= TOLERANCE, result['errors']


@pytest.mark.parametrize('layer_name', ['features.3', 'features.2'])
@pytest.mark.parametrize('seed', [0, 1])
def test_eigencam_matches_pytorch_grad_cam_up_to_sign(layer_name: str, seed: int) -> None:
    result = _compare('eigencam', layer_name, seed)
    assert max(result['errors']) <= TOLERANCE, result
    # class-agnostic: pytorch-grad-cam's map does not depend on the target either
    assert len(set(result['flipped'])) == 1
    for heatmap in result['rectified'][1:]:
        np.testing.assert_array_equal(heatmap, result['rectified'][0])


@pytest.mark.parametrize('layer_name', ['features.3', 'features.2'])
@pytest.mark.parametrize('seed', [0, 1])
def test_eigengradcam_matches_pytorch_grad_cam_up_to_sign(layer_name: str, seed: int) -> None:
    result = _compare('eigengradcam', layer_name, seed)
    assert max(result['errors']) <= TOLERANCE, result


# ------------------------------------------------ the numpy functions, any spatial rank

def _channels_first(values: np.ndarray, leading: int) -> np.ndarray:
    """(..., *spatial, channels) -> (..., channels, *spatial) after ``leading`` axes."""
    return np.moveaxis(values, -1, leading)


@pytest.mark.parametrize('spatial', [(7,), (5, 6), (2, 3, 4)])
def test_numpy_functions_match_pytorch_grad_cam(spatial: tuple) -> None:
    rng = np.random.default_rng(len(spatial))
    batch, targets, channels = 2, 3, 5
    activations = np.maximum(rng.normal(size=(batch,) + spatial + (channels,)), 0.0) + 0.01
    gradients = rng.normal(size=(batch, targets) + spatial + (channels,))
    eigen = eigencam_map(activations, gradients)
    eigengrad = eigengradcam_map(activations, gradients)
    xweights = xgradcam_channel_weights(activations, gradients)
    theirs_eigen = get_2d_projection(_channels_first(activations, 1))
    for target in range(targets):
        assert np.array_equal(eigen[:, target], eigen[:, 0])
        grads = gradients[:, target]
        theirs_eigengrad = get_2d_projection(_channels_first(grads * activations, 1))
        theirs_weights = pytorch_grad_cam.XGradCAM.get_cam_weights(
            None, None, None, None, _channels_first(activations, 1),
            _channels_first(grads, 1))
        np.testing.assert_allclose(xweights[:, target], theirs_weights, rtol=1e-12)
        for item in range(batch):
            for ours, theirs in ((eigen[item, target], theirs_eigen[item]),
                                 (eigengrad[item, target], theirs_eigengrad[item])):
                scale = np.abs(ours).max()
                error = min(np.abs(ours - theirs).max(), np.abs(ours + theirs).max())
                assert error <= TOLERANCE * scale      # theirs is float32, sign free
