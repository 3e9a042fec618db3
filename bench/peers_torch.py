"""The PyTorch peers, each called as its documentation shows.

pytorch-grad-cam imports torchvision at package import (for image
preprocessing helpers and detection targets its GradCAM path never calls).
torchvision cannot be installed beside the CPU torch 2.13 wheel used here, so
when it is missing a stand-in module with those names is registered before
importing pytorch-grad-cam; nothing in the timed path touches it.
"""
from __future__ import annotations

import sys
import types
from typing import Any, Callable, Dict, List, Optional

import torch

__all__ = ['available_peers', 'one_target', 'several_targets']


def _torchvision_stand_in() -> None:
    try:
        import torchvision  # noqa: F401
        return
    except Exception:   # noqa: BLE001 - missing or broken beside this torch
        pass
    stand_in = types.ModuleType('torchvision')
    transforms = types.ModuleType('torchvision.transforms')

    class _Unavailable:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise RuntimeError('torchvision stand-in: not available in the benchmark')
    for name in ('Compose', 'Normalize', 'ToTensor', 'Resize'):
        setattr(transforms, name, _Unavailable)
    functional = types.ModuleType('torchvision.transforms.functional')
    setattr(functional, 'resize', _Unavailable)
    setattr(transforms, 'functional', functional)
    setattr(stand_in, 'transforms', transforms)
    sys.modules.update({'torchvision': stand_in, 'torchvision.transforms': transforms,
                        'torchvision.transforms.functional': functional})


def available_peers() -> Dict[str, Optional[str]]:
    """Peer name -> None if importable, else the import error."""
    status: Dict[str, Optional[str]] = {}
    for name, module in (('captum', 'captum.attr'), ('torchcam', 'torchcam.methods')):
        try:
            __import__(module)
            status[name] = None
        except Exception as exc:  # noqa: BLE001
            status[name] = f'{type(exc).__name__}: {exc}'
    try:
        _torchvision_stand_in()
        __import__('pytorch_grad_cam')
        status['pytorch-grad-cam'] = None
    except Exception as exc:  # noqa: BLE001
        status['pytorch-grad-cam'] = f'{type(exc).__name__}: {exc}'
    return status


def one_target(peer: str, model: torch.nn.Module, layer: torch.nn.Module,
               doc: torch.Tensor, target: int) -> Callable[[], Any]:
    """A callable computing the peer's Grad-CAM of ``target`` on ``doc``."""
    if peer == 'captum':
        from captum.attr import LayerAttribution, LayerGradCam
        method = LayerGradCam(model, layer)

        def run() -> Any:
            attribution = method.attribute(doc, target=target)
            # to the input's spatial size: (H, W) of an image, L of a signal or token ids
            size = tuple(doc.shape[2:]) if doc.is_floating_point() else (doc.shape[1],)
            return LayerAttribution.interpolate(attribution, size)
        return run
    if peer == 'torchcam':
        from torchcam.methods import GradCAM

        def run() -> Any:
            with GradCAM(model, target_layer=layer) as extractor:
                scores = model(doc)
                return extractor(class_idx=target, scores=scores)
        return run
    if peer == 'pytorch-grad-cam':
        from pytorch_grad_cam import GradCAM
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

        def run() -> Any:
            with GradCAM(model=model, target_layers=[layer]) as cam:
                return cam(input_tensor=doc, targets=[ClassifierOutputTarget(target)])
        return run
    raise ValueError(peer)


def several_targets(peer: str, model: torch.nn.Module, layer: torch.nn.Module,
                    doc: torch.Tensor, targets: List[int]) -> Callable[[], Any]:
    """A callable computing the peer's maps for several classes of one document,
    the fastest way each peer's API allows."""
    if peer == 'torchcam':
        from torchcam.methods import GradCAM

        def run() -> Any:
            with GradCAM(model, target_layer=layer) as extractor:
                scores = model(doc)
                return [extractor(class_idx=t, scores=scores, retain_graph=True)
                        for t in targets]
        return run
    singles = [one_target(peer, model, layer, doc, t) for t in targets]
    return lambda: [single() for single in singles]
