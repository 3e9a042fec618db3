"""PyTorch rows of the gradient-free methods: Eigen-CAM, Score-CAM, Ablation-CAM.

Run by ``torch_bench.py`` (``--sections methods``).  Each table times
eli5-gradcam and the peers on the same model, layer, target and batch size,
interleaved; ``agreement`` says how close the maps are (after min-max
scaling, at the layer's resolution): the largest difference and the
correlation.

* Eigen-CAM: ResNet-50 ``layer4`` against one plain forward pass.
* Ablation-CAM: ResNet-50 ``layer4`` (2,048 channels), batch size 32 for
  both, and eli5-gradcam's default batch; pytorch-grad-cam's ``AblationCAM``.
* Score-CAM: ResNet-50 ``layer1`` (256 channels: 256 masked forward passes
  of the whole network per map; ``layer4`` would take 2,048), batch size 32;
  pytorch-grad-cam's ``ScoreCAM``, torchcam's ``ScoreCAM``, and Faster
  Score-CAM (``scorecam_maps``: an eighth of the channels, 32 of 256).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Sequence

import numpy as np
import torch

import eli5

import eli5_gradcam  # noqa: F401
import torch_models
from methods_common import BATCH, agreement, heatmap_of, ours, scorecam_rows
from report_methods import METHOD_TABLES
from timing import interleaved

__all__ = ['methods_section']

def _activations(model: torch.nn.Module, layer: torch.nn.Module, doc: torch.Tensor) -> Any:
    store = {}
    handle = layer.register_forward_hook(lambda m, a, o: store.setdefault('a', o.detach()))
    with torch.no_grad():
        model(doc)
    handle.remove()
    return store['a']


def _grad_cam_map(cam_class: Any, model: torch.nn.Module, layer: torch.nn.Module,
                  doc: torch.Tensor, target: int, **kwargs: Any) -> np.ndarray:
    """pytorch-grad-cam's map at the layer's resolution (its weights, its sum)."""
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    activations = _activations(model, layer, doc).numpy()
    cam = cam_class(model=model, target_layers=[layer], **kwargs)
    try:
        cam.batch_size = BATCH
        weights = cam.get_cam_weights(doc, layer, [ClassifierOutputTarget(target)],
                                      activations, None)
    finally:
        cam.activations_and_grads.release()
    return np.maximum((weights[0][:, None, None] * activations[0]).sum(0), 0.0)


def _grad_cam_run(cam_class: Any, model: torch.nn.Module, layer: torch.nn.Module,
                  doc: torch.Tensor, target: int, **kwargs: Any) -> Callable[[], Any]:
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    def run() -> Any:
        with cam_class(model=model, target_layers=[layer], **kwargs) as cam:
            cam.batch_size = BATCH
            return cam(input_tensor=doc, targets=[ClassifierOutputTarget(target)])
    return run


def _torchcam_run(model: torch.nn.Module, layer: torch.nn.Module, doc: torch.Tensor,
                  target: int) -> Callable[[], Any]:
    from torchcam.methods import ScoreCAM

    def run() -> Any:
        with ScoreCAM(model, target_layer=layer, batch_size=BATCH,
                      input_shape=tuple(doc.shape[1:])) as extractor:
            with torch.no_grad():
                scores = model(doc)
            return extractor(class_idx=target, scores=scores, normalized=False)[0]
    return run


def _eigencam(model: torch.nn.Module, doc: torch.Tensor, layer: str,
              rounds: int) -> Dict[str, Any]:
    with torch.no_grad():
        target = int(model(doc).argmax())

    def forward() -> Any:
        with torch.no_grad():
            return model(doc)
    return {'times': interleaved({'forward': forward,
                                  'eli5-gradcam': ours(model, doc, layer, target,
                                                        method='eigencam')}, rounds)}


def _ablation(model: torch.nn.Module, doc: torch.Tensor, layer_name: str, peers: Dict[str, Any],
              rounds: int, warmup: int) -> Dict[str, Any]:
    layer = model.get_submodule(layer_name)
    with torch.no_grad():
        target = int(model(doc).argmax())
    batched = ours(model, doc, layer_name, target, method='ablationcam', batch_size=BATCH)
    contenders: Dict[str, Callable[[], object]] = {
        f'eli5-gradcam (batch {BATCH})': batched,
        'eli5-gradcam (default batch)': ours(model, doc, layer_name, target,
                                              method='ablationcam')}
    result: Dict[str, Any] = {'target': target, 'agreement': {}}
    if peers.get('pytorch-grad-cam') is None:
        from pytorch_grad_cam import AblationCAM
        contenders[f'pytorch-grad-cam (batch {BATCH})'] = _grad_cam_run(
            AblationCAM, model, layer, doc, target, batch_size=BATCH)
        result['agreement']['pytorch-grad-cam'] = agreement(
            heatmap_of(batched), _grad_cam_map(AblationCAM, model, layer, doc, target,
                                              batch_size=BATCH))
    result['times'] = interleaved(contenders, rounds, warmup=warmup)
    return result


def _scorecam(model: torch.nn.Module, doc: torch.Tensor, layer_name: str, peers: Dict[str, Any],
              rounds: int, warmup: int) -> Dict[str, Any]:
    layer = model.get_submodule(layer_name)
    with torch.no_grad():
        target = int(model(doc).argmax())
    channels = int(_activations(model, layer, doc).shape[1])
    contenders, result, full = scorecam_rows(model, doc, layer_name, target, channels)
    if peers.get('pytorch-grad-cam') is None:
        from pytorch_grad_cam import ScoreCAM
        contenders['pytorch-grad-cam'] = _grad_cam_run(ScoreCAM, model, layer, doc, target)
        result['agreement']['pytorch-grad-cam'] = agreement(
            full, _grad_cam_map(ScoreCAM, model, layer, doc, target))
    if peers.get('torchcam') is None:
        contenders['torchcam'] = _torchcam_run(model, layer, doc, target)
        result['agreement']['torchcam'] = agreement(
            full, np.asarray(contenders['torchcam']()[0]))
    result['times'] = interleaved(contenders, rounds, warmup=warmup)
    return result


def methods_section(peers: Dict[str, Any], quick: bool, rounds: int,
                    tables: Sequence[str] = METHOD_TABLES) -> Dict[str, Any]:
    """Eigen-CAM, Ablation-CAM and Score-CAM tables (see the module docstring).

    ``quick``: a small CNN on 64x64 images instead of ResNet-50, two rounds.
    ``tables``: which of them to measure.
    """
    generator = torch.Generator().manual_seed(0)
    if quick:
        model, size = torch_models.small_cnn(), 64
        layers = {'eigencam': '7', 'ablationcam': '7', 'scorecam': '4'}
        name, heavy_rounds, warmup = 'small CNN (quick)', 2, 1
    else:
        model, size = torch_models.resnet50(), 224
        layers = {'eigencam': 'layer4', 'ablationcam': 'layer4', 'scorecam': 'layer1'}
        name, heavy_rounds, warmup = 'ResNet-50', 3, 0     # minutes per call: no warm-up
    doc = torch.rand(1, 3, size, size, generator=generator)
    runs = {
        'eigencam': lambda: _eigencam(model, doc, layers['eigencam'], rounds),
        'ablationcam': lambda: _ablation(model, doc, layers['ablationcam'], peers,
                                         heavy_rounds, warmup),
        'scorecam': lambda: _scorecam(model, doc, layers['scorecam'], peers, heavy_rounds,
                                      warmup),
    }
    return {'model': name, 'layers': layers, 'batch_size': BATCH,
            **{table: runs[table]() for table in tables}}
