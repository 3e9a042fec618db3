"""Metrics through the PyTorch adapter: the same numbers as a numpy ``predict`` callable,
the model left as it was, and pytorch-grad-cam's ROAD and confidence change as oracles.

pytorch-grad-cam's metrics are compared without their imputation noise
(``NoisyLinearImputer(noise=0)``; ours ``noise=0``), on a 10x10 image with a
tie-free map: there its percentile threshold and our rank count select the
same pixels (its ``percentile=q`` removes the top ``100 - q`` percent).
"""
from __future__ import annotations

import sys
import types
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip('torch')

import eli5  # noqa: E402
from numpy.lib.stride_tricks import sliding_window_view  # noqa: E402
from torch import nn  # noqa: E402

import eli5_gradcam  # noqa: E402,F401
from eli5_gradcam import metrics  # noqa: E402
from torch_architectures import TextCNN  # noqa: E402

SIDE, CLASSES = 10, 3


def _cnn(dropout: float = 0.0) -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Dropout(dropout),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, CLASSES),
                          nn.Softmax(dim=1))
    return model.eval()


def _numpy_cnn(model: nn.Module):
    """The same network written in numpy (float64): an independent predict callable."""
    weight, bias = (p.detach().numpy().astype(np.float64) for p in model[0].parameters())
    dense_w, dense_b = (p.detach().numpy().astype(np.float64) for p in model[5].parameters())

    def predict(batch: np.ndarray) -> np.ndarray:
        padded = np.pad(batch, ((0, 0), (0, 0), (1, 1), (1, 1)))
        windows = sliding_window_view(padded, (3, 3), axis=(2, 3))     # n, c, h, w, 3, 3
        conv = np.einsum('nchwij,kcij->nkhw', windows, weight) + bias[:, None, None]
        logits = np.maximum(conv, 0).mean(axis=(2, 3)) @ dense_w.T + dense_b
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)
    return predict


@pytest.fixture
def doc() -> Any:
    return torch.from_numpy(np.random.default_rng(1).random((1, 3, SIDE, SIDE)).astype('float32'))


def test_pytorch_and_callable_paths_agree(doc: Any) -> None:
    model = _cnn()
    predict = _numpy_cnn(model)
    heatmap = np.random.default_rng(2).random((5, 5))
    numpy_doc = doc.numpy()
    pairs = [
        (metrics.deletion(model, doc, heatmap, steps=20),
         metrics.deletion(predict, numpy_doc, heatmap, steps=20)),
        (metrics.insertion(model, doc, heatmap, steps=20),
         metrics.insertion(predict, numpy_doc, heatmap, steps=20)),
    ]
    for ours, reference in pairs:
        assert ours.target == reference.target
        np.testing.assert_allclose(ours.scores, reference.scores, rtol=1e-5)
    road_model = metrics.road(model, doc, heatmap, percentages=[20, 60])
    road_numpy = metrics.road(predict, numpy_doc, heatmap, percentages=[20, 60])
    np.testing.assert_allclose(road_model.morf, road_numpy.morf, rtol=1e-5)
    np.testing.assert_allclose(road_model.lerf, road_numpy.lerf, rtol=1e-5)
    change = metrics.confidence_change(model, doc, [heatmap])
    np.testing.assert_allclose(change.masked, metrics.confidence_change(
        predict, numpy_doc, [heatmap]).masked, rtol=1e-5)


def test_explanation_scored_on_its_own_target_and_the_model_left_as_it_was(
        doc: Any, untouched: Any) -> None:
    model = _cnn(dropout=0.5).train()                      # metrics run it in eval behaviour
    expl = eli5.explain_prediction(model.eval(), doc, targets=[2])
    model.train()
    with untouched(model):
        curve = metrics.deletion(model, doc, expl, steps=10)
    assert curve.target == 2
    reference = metrics.deletion(_numpy_cnn(model), doc.numpy(), expl.targets[0].heatmap,
                                 steps=10, target=2)
    np.testing.assert_allclose(curve.scores, reference.scores, rtol=1e-5)
    assert model.training


def test_text_model_through_the_adapter() -> None:
    torch.manual_seed(0)
    model = TextCNN(vocab=20, dim=8, channels=6, classes=2, kernel=3).eval()
    ids = torch.tensor([[4, 9, 1, 7, 3, 3, 0, 0]])
    expl = eli5.explain_prediction(model, ids, tokens=[f'w{i}' for i in ids[0].tolist()])

    def predict(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(batch)).numpy()
    ours = metrics.deletion(model, ids, expl, baseline=0)
    reference = metrics.deletion(predict, ids.numpy(), expl.targets[0].heatmap,
                                 target=expl.targets[0].target, baseline=0)
    assert len(ours.scores) == 9                            # one step per token
    np.testing.assert_allclose(ours.scores, reference.scores, rtol=1e-6)


def test_output_and_model_errors_are_named(doc: Any) -> None:
    class TwoOutputs(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.cnn = _cnn()

        def forward(self, inputs: Any) -> Any:
            return {'probs': self.cnn(inputs), 'extra': inputs.mean()}
    heatmap = np.ones((SIDE, SIDE))
    curve = metrics.deletion(TwoOutputs(), doc, heatmap, output='probs', steps=2)
    np.testing.assert_allclose(curve.scores, metrics.deletion(
        _cnn(), doc, heatmap, steps=2).scores)
    with pytest.raises(ValueError, match='pass output='):
        metrics.deletion(TwoOutputs(), doc, heatmap)
    with pytest.raises(ValueError, match='doc: the model failed on a doc of shape'):
        metrics.deletion(_cnn(), torch.rand(1, 5, SIDE, SIDE), heatmap)


def _pytorch_grad_cam() -> Any:
    """pytorch-grad-cam imports torchvision (absent here) for helpers these tests never
    call: a stand-in is registered only while it is imported."""
    try:
        import torchvision  # noqa: F401
        return pytest.importorskip('pytorch_grad_cam')
    except Exception:   # noqa: BLE001 - missing, or broken beside this torch
        pass
    stand_in = types.ModuleType('torchvision')
    transforms = types.ModuleType('torchvision.transforms')
    functional = types.ModuleType('torchvision.transforms.functional')
    for name in ('Compose', 'Normalize', 'ToTensor', 'Resize'):
        setattr(transforms, name, None)
    setattr(functional, 'resize', None)
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


def test_road_and_confidence_change_agree_with_pytorch_grad_cam(doc: Any) -> None:
    _pytorch_grad_cam()
    from pytorch_grad_cam.metrics.cam_mult_image import CamMultImageConfidenceChange
    from pytorch_grad_cam.metrics.perturbation_confidence import (
        PerturbationConfidenceMetric, RemoveLeastRelevantFirst, RemoveMostRelevantFirst)
    from pytorch_grad_cam.metrics.road import NoisyLinearImputer
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveMaxPool2d(1),
                          nn.Flatten(), nn.Linear(8, CLASSES)).eval()
    with torch.no_grad():
        model[0].weight.mul_(4.0)          # scores that move by ~0.1, not ~1e-4
    cam = np.random.default_rng(3).random((SIDE, SIDE)).astype(np.float32)
    target = 1
    peers = {'morf': RemoveMostRelevantFirst, 'lerf': RemoveLeastRelevantFirst}
    ours = metrics.road(model, doc, cam, noise=0.0, target=target,
                        percentages=[10, 30, 50, 80])
    for order, perturbation in peers.items():
        for column, removed in enumerate([10, 30, 50, 80]):
            metric = PerturbationConfidenceMetric(
                perturbation(100 - removed, NoisyLinearImputer(noise=0.0)))
            change = metric(doc, cam[None], [ClassifierOutputTarget(target)], model)
            expected = float(np.ravel(change)[0])
            got = getattr(ours, order)[column] - ours.original_score
            assert abs(expected) > 1e-3                     # the removal changes the score
            assert got == pytest.approx(expected, rel=1e-4, abs=1e-6), (order, removed)
    unit_cam = cam / cam.max()
    change = CamMultImageConfidenceChange()(doc, unit_cam[None],
                                            [ClassifierOutputTarget(target)], model)
    result = metrics.confidence_change(model, doc, [unit_cam], target=target)
    expected = float(np.ravel(change)[0])
    assert abs(expected) > 1e-3
    assert result.masked[0] - result.original[0] == pytest.approx(expected, rel=1e-4, abs=1e-6)
