"""Score-CAM and Ablation-CAM against pytorch-grad-cam and torchcam (test-only oracles),
and against an independent reference written here in plain torch.

How the maps are compared: as in ``test_pytorch_methods_oracle.py``, the
explained layers of ``SmallCNN`` keep the input's 10x12 resolution, so the
peers' upsampling (of the masks, and of the final map) is the identity, and
every map is put through the same min-max scaling.

Intended differences, each tested as such:

* Score-CAM at a layer smaller than the input: the masks are upsampled with
  half-pixel centres (``F.interpolate(align_corners=False)``, as torchcam)
  and then min-max normalised (the paper's order, as pytorch-grad-cam).
  pytorch-grad-cam upsamples with ``align_corners=True``; torchcam normalises
  before upsampling.  There the maps match the plain-torch reference below
  (<= 1e-5) and differ slightly from both peers (printed).
* Ablation-CAM: pytorch-grad-cam divides each drop by the target's score
  (the paper's eq. 3); for a negative score that flips the map.  For targets
  with a positive score the maps agree; for a negative one, pytorch-grad-cam's
  map is the rectified negation of our signed map.
"""
from __future__ import annotations

import sys
from typing import Any, List

import numpy as np
import pytest

torch = pytest.importorskip('torch')

import eli5  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional  # noqa: E402

from eli5_gradcam.nn.masks import upsample_maps  # noqa: E402
from eli5_gradcam.nn.perturbation import scorecam_channel_weights  # noqa: E402
from eli5_gradcam.pytorch import capture_batch  # noqa: E402

from test_pytorch_methods_oracle import (CLASSES, _image, _import_pytorch_grad_cam,  # noqa: E402
                                         _min_max, _model)

pytorch_grad_cam = _import_pytorch_grad_cam()
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget  # noqa: E402

TOLERANCE = 1e-4
#: The last layer's weights are scaled by this (and its bias zeroed) so that the
#: scores of masked inputs spread over a few units: a softmax over nearly equal
#: scores would weight every channel alike and hide any difference in the masks.
SHARPEN = 1000.0


def _sharp_model() -> nn.Module:
    model = _model()
    with torch.no_grad():
        model.head[-1].weight.mul_(SHARPEN)
        model.head[-1].bias.zero_()
    return model


def _assert_weights_spread(model: nn.Module, layer: str, image: torch.Tensor) -> None:
    """The comparison is sensitive: Score-CAM's weights are far from uniform."""
    capture = capture_batch(model, image, method='scorecam', layer=layer,
                            targets=list(range(CLASSES)), progress=False)
    weights = scorecam_channel_weights(capture.channel_scores)
    assert weights.max() > 1.5 / weights.shape[-1], weights


def _torchcam() -> Any:
    try:
        from torchcam.methods import ScoreCAM
    except Exception:   # noqa: BLE001 - optional oracle: missing or broken
        return None
    return ScoreCAM


def _ours(method: str, model: nn.Module, layer: str, image: torch.Tensor, relu: bool = True,
          **options: Any) -> List[np.ndarray]:
    expl = eli5.explain_prediction(model, image, method=method, layer=layer,
                                   targets=list(range(CLASSES)), relu=relu, progress=False,
                                   **options)
    assert expl.error is None, expl.error
    return [np.asarray(target.heatmap, dtype=np.float64) for target in expl.targets]


def _pytorch_grad_cam(peer: Any, model: nn.Module, layer: nn.Module, image: torch.Tensor,
                      target: int, **kwargs: Any) -> np.ndarray:
    with peer(model=model, target_layers=[layer], **kwargs) as cam:
        maps = cam(input_tensor=image, targets=[ClassifierOutputTarget(target)])
    return _min_max(maps[0])


def _torchcam_map(model: nn.Module, layer: str, image: torch.Tensor, target: int) -> np.ndarray:
    with _torchcam()(model, target_layer=layer, batch_size=5,
                     input_shape=tuple(image.shape[1:])) as extractor:
        with torch.no_grad():
            scores = model(image)
        cam = extractor(class_idx=target, scores=scores, normalized=False)[0]
    return _min_max(cam[0].numpy())


@pytest.mark.parametrize('layer_name', ['features.3', 'features.2'])
@pytest.mark.parametrize('seed', [0, 1])
def test_scorecam_matches_pytorch_grad_cam(layer_name: str, seed: int) -> None:
    model, image = _sharp_model(), _image(seed)
    layer = model.get_submodule(layer_name)
    _assert_weights_spread(model, layer_name, image)
    ours = _ours('scorecam', model, layer_name, image, batch_size=5)
    errors = [float(np.abs(_min_max(ours[t]) - _pytorch_grad_cam(
        pytorch_grad_cam.ScoreCAM, model, layer, image, t)).max()) for t in range(CLASSES)]
    print(f'Score-CAM vs pytorch-grad-cam, {layer_name}, seed {seed}: max error {max(errors):.2e}')
    assert max(errors) <= TOLERANCE, errors


@pytest.mark.parametrize('layer_name', ['features.3', 'features.2'])
def test_scorecam_matches_torchcam(layer_name: str) -> None:
    if _torchcam() is None:
        pytest.skip('torchcam is not importable')
    model, image = _sharp_model(), _image(2)
    ours = _ours('scorecam', model, layer_name, image)
    errors = [float(np.abs(_min_max(ours[t]) - _torchcam_map(model, layer_name, image, t)).max())
              for t in range(CLASSES)]
    print(f'Score-CAM vs torchcam, {layer_name}: max error {max(errors):.2e}')
    assert max(errors) <= TOLERANCE, errors


def _reference_scorecam(model: nn.Module, layer: nn.Module, image: torch.Tensor,
                        target: int) -> np.ndarray:
    """The paper's Score-CAM in plain torch: upsample (half-pixel), min-max, mask,
    softmax over the masked scores, weighted sum, ReLU."""
    store = {}
    handle = layer.register_forward_hook(lambda m, i, o: store.setdefault('a', o.detach()))
    with torch.no_grad():
        model(image)
        handle.remove()
        activations = store['a'][0].double()                            # (K, h, w)
        upsampled = functional.interpolate(activations[:, None], size=image.shape[2:],
                                           mode='bilinear', align_corners=False)[:, 0]
        low = upsampled.amin(dim=(1, 2), keepdim=True)
        spread = upsampled.amax(dim=(1, 2), keepdim=True) - low
        masks = torch.where(spread > 0, (upsampled - low) / spread.clamp_min(1e-300), 0.0)
        scores = model((image.double() * masks[:, None]).float())[:, target].double()
        weights = torch.softmax(scores, dim=0)
        cam = torch.relu((weights[:, None, None] * activations).sum(0))
    return _min_max(cam.numpy())


@pytest.mark.parametrize('seed', [0, 3])
def test_scorecam_at_a_smaller_layer_matches_a_plain_torch_reference(seed: int) -> None:
    # head.2: the ReLU after the 2x2 max pooling, 5x6 positions for a 10x12 input
    model, image = _sharp_model(), _image(seed)
    layer = model.get_submodule('head.2')
    _assert_weights_spread(model, 'head.2', image)
    ours = _ours('scorecam', model, 'head.2', image)
    for target in range(CLASSES):
        assert ours[target].shape == (5, 6) and ours[target].max() == 1.0
        reference = _reference_scorecam(model, layer, image, target)
        np.testing.assert_allclose(_min_max(ours[target]), reference, atol=1e-5)
    # the peers' interpolation conventions differ (module docstring): measured, not equal
    peer = [float(np.abs(_min_max(ours[t]) - _min_max(_peer_at_layer(
        model, layer, image, t))).max()) for t in range(CLASSES)]
    print(f'Score-CAM at head.2 (5x6 -> 10x12), seed {seed}: max difference to '
          f'pytorch-grad-cam (align_corners=True) {max(peer):.2e}')


def _peer_at_layer(model: nn.Module, layer: nn.Module, image: torch.Tensor,
                   target: int) -> np.ndarray:
    """pytorch-grad-cam's Score-CAM map at the layer's own resolution (its weights,
    our sum: its final map is resized to the input, ours is not)."""
    cam = pytorch_grad_cam.ScoreCAM(model=model, target_layers=[layer])
    try:
        store = {}
        handle = layer.register_forward_hook(lambda m, i, o: store.setdefault('a', o.detach()))
        with torch.no_grad():
            model(image)
        handle.remove()
        activations = store['a'].numpy()
        weights = cam.get_cam_weights(image, layer, [ClassifierOutputTarget(target)],
                                      activations, None)
    finally:
        cam.activations_and_grads.release()
    return np.maximum((weights[0][:, None, None] * activations[0]).sum(0), 0.0)


def _post_relu_zeros(model: nn.Module, layer_name: str, image: torch.Tensor) -> tuple:
    store = {}
    layer = model.get_submodule(layer_name)
    handle = layer.register_forward_hook(lambda m, i, o: store.setdefault('a', o.detach()))
    with torch.no_grad():
        scores = model(image)[0]
    handle.remove()
    return bool(store['a'].min() == 0.0), scores.numpy()


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_ablationcam_matches_pytorch_grad_cam(seed: int) -> None:
    model, image = _model(), _image(seed)
    layer_name = 'features.3'                  # after a ReLU: zero is the activations' minimum,
    has_zeros, scores = _post_relu_zeros(model, layer_name, image)
    assert has_zeros                           # so pytorch-grad-cam ablates with 0 as we do
    layer = model.get_submodule(layer_name)
    rectified = _ours('ablationcam', model, layer_name, image, batch_size=3)
    signed = _ours('ablationcam', model, layer_name, image, relu=False)
    errors = []
    for target in range(CLASSES):
        theirs = _pytorch_grad_cam(pytorch_grad_cam.AblationCAM, model, layer, image, target,
                                   batch_size=3)
        # they divide by the score: a negative score flips the map (module docstring)
        ours = rectified[target] if scores[target] > 0 else np.maximum(-signed[target], 0.0)
        errors.append(float(np.abs(_min_max(ours) - theirs).max()))
    print(f'Ablation-CAM vs pytorch-grad-cam, seed {seed}, scores {np.round(scores, 3)}: '
          f'max error {max(errors):.2e}')
    assert (scores > 0).any() and (scores < 0).any(), scores    # both cases are compared
    assert max(errors) <= TOLERANCE, errors


@pytest.mark.parametrize('source, size, mode', [
    ((7,), (20,), 'linear'), ((5, 6), (10, 12), 'bilinear'), ((3, 4), (17, 9), 'bilinear'),
    ((2, 3, 4), (5, 7, 9), 'trilinear'), ((8,), (3,), 'linear'), ((1, 4), (6, 6), 'bilinear')])
def test_upsampling_matches_torch_interpolate(source: tuple, size: tuple, mode: str) -> None:
    maps = np.random.default_rng(len(source)).normal(size=(2, 3) + source)
    theirs = functional.interpolate(torch.from_numpy(maps), size=size, mode=mode,
                                    align_corners=False).numpy()
    np.testing.assert_allclose(upsample_maps(maps, size), theirs, atol=1e-12)


if __name__ == '__main__':     # pragma: no cover - manual run
    sys.exit(pytest.main([__file__, '-q', '-s']))
