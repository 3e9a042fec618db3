"""A tiny single-stage detector and a tiny segmenter, trained on generated scenes.

Both are PyTorch and learn :mod:`eli5_gradcam.demo.scenes` in a few seconds
on one CPU thread (seeded):

* :class:`TinyDetector`: a convolutional backbone to a ``6 x 6`` grid, then
  a ``1 x 1`` head; one anchor per cell predicts a box and a logit per shape,
  as a dense ``(N, anchors, 4 + classes)`` tensor of ``(x1, y1, x2, y2)``
  pixel boxes and class logits (what ``BoxScore(..., layout='dense')`` reads);
* :class:`TinySegmenter`: a fully convolutional network whose ``12 x 12``
  class logits are upsampled to ``(N, classes, 48, 48)`` (what
  :class:`~eli5_gradcam.targets.RegionScore` reads).

Their ``features`` module (a ``torch.nn.Sequential``) is the layer to explain.
:mod:`~eli5_gradcam.demo.keras_scene_models` builds the same two in Keras 3;
:mod:`~eli5_gradcam.demo.scene_outputs` reads the outputs of both.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, List, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from . import scene_outputs
from .scene_outputs import (ANCHOR_SIZE, POSITIVE_WEIGHT, SIZE_LIMIT, STRIDE, Detection,
                            anchor_centres, detection_targets, matching)
from .scenes import SEGMENT_CLASSES, SHAPES, Scene, make_scenes

__all__ = ['STRIDE', 'TinyDetector', 'TinySegmenter', 'scene_batch', 'train_detector',
           'train_segmenter', 'Detection', 'detect', 'matching', 'detection_quality',
           'segmentation_accuracy']


def _backbone(widths: Sequence[int], pools: int, dilation: int = 1) -> Any:
    """3x3 conv + ReLU blocks, the first ``pools`` followed by 2x2 max-pooling."""
    layers: List[Any] = []
    for number, (width_in, width_out) in enumerate(zip((3,) + tuple(widths), widths), 1):
        last = number == len(widths)
        spread = dilation if last else 1
        layers += [(f'conv{number}', nn.Conv2d(width_in, width_out, 3, padding=spread,
                                               dilation=spread)),
                   (f'relu{number}', nn.ReLU())]
        if number <= pools:
            layers.append((f'pool{number}', nn.MaxPool2d(2)))
    return nn.Sequential(OrderedDict(layers))


class TinyDetector(nn.Module):
    """Single-stage detector: one anchor per cell of a ``6 x 6`` grid.

    Each anchor's box is decoded from its cell: centre = cell centre plus up
    to one cell of offset (``tanh``), size = :data:`ANCHOR_SIZE` times
    ``exp`` of a size offset (:func:`~eli5_gradcam.demo.scene_outputs.anchor_centres`).

    Parameters
    ----------
    classes : int
        Number of object classes.
    """

    def __init__(self, classes: int = len(SHAPES)) -> None:
        super().__init__()
        self.features = _backbone((16, 32, 32, 64), pools=3)
        self.head = nn.Conv2d(64, 4 + classes, 1)

    def forward(self, images: Any) -> Any:
        """``(N, 3, H, W)`` -> ``(N, cells, 4 + classes)``: xyxy pixel boxes, class logits."""
        raw = self.head(self.features(images))                 # (N, 4 + C, rows, cols)
        raw = raw.flatten(2).transpose(1, 2)                    # (N, cells, 4 + C)
        middle = torch.from_numpy(anchor_centres()).to(raw) + STRIDE * torch.tanh(raw[..., :2])
        size = ANCHOR_SIZE * torch.exp(raw[..., 2:4].clamp(-SIZE_LIMIT, SIZE_LIMIT))
        return torch.cat([middle - size / 2, middle + size / 2, raw[..., 4:]], -1)


class TinySegmenter(nn.Module):
    """Fully convolutional segmenter: ``12 x 12`` logits upsampled to the image.

    Parameters
    ----------
    classes : int
        Output channels (background included).
    """

    def __init__(self, classes: int = len(SEGMENT_CLASSES)) -> None:
        super().__init__()
        self.features = _backbone((16, 32, 32), pools=2, dilation=2)
        self.classifier = nn.Conv2d(32, classes, 1)

    def forward(self, images: Any) -> Any:
        """``(N, 3, H, W)`` -> ``(N, classes, H, W)`` logits."""
        logits = self.classifier(self.features(images))
        return nn.functional.interpolate(logits, size=tuple(images.shape[-2:]),
                                         mode='bilinear', align_corners=False)


def scene_batch(scenes: Sequence[Scene]) -> Any:
    """``(N, 3, 48, 48)`` float32 tensor of the scenes' pictures."""
    return torch.from_numpy(np.concatenate([scene.tensor() for scene in scenes]))


#: A training loss: ``loss(output, rows)`` compares the model's output on the
#: training scenes ``rows`` with their targets.
Loss = Callable[[Any, Any], Any]


def _train(build: Callable[[], Any], loss_for: Callable[[List[Scene]], Loss], *, seed: int,
           steps: int, count: int, batch: int = 32) -> Any:
    """Build a model and train it with Adam on random batches of ``count`` scenes."""
    torch.manual_seed(seed)
    scenes = make_scenes(count, seed)
    inputs = scene_batch(scenes)
    model, loss = build(), loss_for(scenes)
    generator = torch.Generator().manual_seed(0)
    optimiser = torch.optim.Adam(model.parameters(), lr=0.005)
    model.train()
    for _ in range(steps):
        rows = torch.randint(0, len(inputs), (batch,), generator=generator)
        optimiser.zero_grad()
        loss(model(inputs[rows]), rows).backward()
        optimiser.step()
    for parameter in model.parameters():
        parameter.grad = None
    return model.eval()


def _detection_loss(scenes: List[Scene]) -> Loss:
    """The detector's loss on ``scenes`` (see :func:`train_detector`)."""
    labels, boxes = (torch.from_numpy(array)
                     for array in detection_targets(scenes, len(SHAPES)))
    weights = torch.full((len(SHAPES),), POSITIVE_WEIGHT)

    def loss(output: Any, rows: Any) -> Any:
        wanted, positive = labels[rows], labels[rows].sum(-1) > 0
        classes = nn.functional.binary_cross_entropy_with_logits(output[..., 4:], wanted,
                                                                 pos_weight=weights)
        error = (output[..., :4][positive] - boxes[rows][positive]).abs().mean() / STRIDE
        return classes + error
    return loss


def _segmentation_loss(scenes: List[Scene]) -> Loss:
    """Per-pixel cross-entropy with the scenes' class maps."""
    classes = torch.from_numpy(np.stack([scene.segmentation for scene in scenes]))
    return lambda output, rows: nn.functional.cross_entropy(output, classes[rows])


def train_detector(seed: int = 0, steps: int = 300, count: int = 512) -> TinyDetector:
    """Train a :class:`TinyDetector` on ``count`` generated scenes (in eval mode after).

    The loss: binary cross-entropy of every anchor's class logits (one-hot at
    the cell holding an object's centre, weighted :data:`POSITIVE_WEIGHT`
    times; zero elsewhere) plus the L1 error of those cells' boxes, in cells.
    """
    return _train(TinyDetector, _detection_loss, seed=seed, steps=steps, count=count)


def train_segmenter(seed: int = 0, steps: int = 300, count: int = 512) -> TinySegmenter:
    """Train a :class:`TinySegmenter` (per-pixel cross-entropy) on ``count`` scenes
    (in eval mode after)."""
    return _train(TinySegmenter, _segmentation_loss, seed=seed, steps=steps, count=count)


def detect(model: Any, scene: Scene, *, min_logit: float = 0.0,
           max_overlap: float = 0.3) -> List[Detection]:
    """The detector's detections in one scene, best first
    (:func:`~eli5_gradcam.demo.scene_outputs.detections`)."""
    with torch.no_grad():
        predictions = model(scene_batch([scene]))[0].numpy()
    return scene_outputs.detections(predictions, min_logit=min_logit, max_overlap=max_overlap)


def detection_quality(model: Any, scenes: Sequence[Scene],
                      min_iou: float = 0.5) -> Tuple[float, float]:
    """Recall and precision of the detector on ``scenes``
    (:func:`~eli5_gradcam.demo.scene_outputs.detection_quality`)."""
    with torch.no_grad():
        predictions = model(scene_batch(scenes)).numpy()
    return scene_outputs.detection_quality(predictions, scenes, min_iou)


def segmentation_accuracy(model: Any, scenes: Sequence[Scene]) -> float:
    """Share of object pixels given their object's class (background excluded)."""
    with torch.no_grad():
        predicted = model(scene_batch(scenes)).argmax(1).numpy()
    return scene_outputs.segmentation_accuracy(predicted, scenes)
