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
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from ..targets import box_iou
from .scenes import IMAGE_SIZE, SEGMENT_CLASSES, SHAPES, Scene, make_scenes

__all__ = ['STRIDE', 'TinyDetector', 'TinySegmenter', 'scene_batch', 'train_detector',
           'train_segmenter', 'Detection', 'detect', 'matching', 'detection_quality',
           'segmentation_accuracy']

#: Pixels per cell of the detector's grid.
STRIDE = 8
#: Box size an anchor predicts before its size offsets, in pixels.
ANCHOR_SIZE = 13.0
#: Weight of an object cell in the class loss (one cell in 36 holds an object).
POSITIVE_WEIGHT = 10.0


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
    ``exp`` of a size offset.

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
        rows, cols = int(raw.shape[2]), int(raw.shape[3])
        raw = raw.flatten(2).transpose(1, 2)                    # (N, cells, 4 + C)
        grid_y, grid_x = torch.meshgrid(torch.arange(rows), torch.arange(cols), indexing='ij')
        centres = (torch.stack([grid_x, grid_y], -1).reshape(-1, 2).to(raw) + 0.5) * STRIDE
        middle = centres + STRIDE * torch.tanh(raw[..., :2])
        size = ANCHOR_SIZE * torch.exp(raw[..., 2:4].clamp(-3.0, 3.0))
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


def _cell(box: np.ndarray) -> int:
    """The grid cell (anchor index) holding a box's centre."""
    middle_x, middle_y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return int(middle_y // STRIDE) * (IMAGE_SIZE // STRIDE) + int(middle_x // STRIDE)


def _detection_targets(scenes: Sequence[Scene], classes: int) -> Any:
    """Per anchor: the class one-hot (all zero where no object is centred) and the box."""
    cells = (IMAGE_SIZE // STRIDE) ** 2
    labels = np.zeros((len(scenes), cells, classes), dtype=np.float32)
    boxes = np.zeros((len(scenes), cells, 4), dtype=np.float32)
    for number, scene in enumerate(scenes):
        for box, label in zip(scene.boxes, scene.labels):
            labels[number, _cell(box), label] = 1.0
            boxes[number, _cell(box)] = box
    return torch.from_numpy(labels), torch.from_numpy(boxes)


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
    labels, boxes = _detection_targets(scenes, len(SHAPES))
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


@dataclass(frozen=True)
class Detection:
    """One detection of :func:`detect`.

    Attributes
    ----------
    box : tuple of float
        ``(x1, y1, x2, y2)`` pixels, as the detector predicted it.
    label : int
        Index in :data:`~eli5_gradcam.demo.scenes.SHAPES`.
    logit : float
        The class logit (above 0: probability above one half).
    anchor : int
        The anchor (grid cell) that made it.
    """

    box: Tuple[float, float, float, float]
    label: int
    logit: float
    anchor: int


def _suppressed(found: List[Detection], box: np.ndarray, max_overlap: float) -> bool:
    return any(float(box_iou(np.asarray([d.box]), tuple(box))[0]) > max_overlap for d in found)


def detect(model: Any, scene: Scene, *, min_logit: float = 0.0,
           max_overlap: float = 0.3) -> List[Detection]:
    """The detector's detections in one scene, best first.

    Anchors whose best class logit exceeds ``min_logit``, with non-maximum
    suppression: a box overlapping a better one by IoU above ``max_overlap``
    is dropped.  Boxes are clipped to the image.
    """
    with torch.no_grad():
        predictions = model(scene_batch([scene]))[0].numpy()
    logits = predictions[:, 4:]
    found: List[Detection] = []
    for anchor in np.argsort(-logits.max(1)):
        label = int(np.argmax(logits[anchor]))
        box = predictions[anchor, :4].clip(0.0, IMAGE_SIZE)
        if logits[anchor, label] <= min_logit:
            break
        if not _suppressed(found, box, max_overlap):
            x1, y1, x2, y2 = (float(v) for v in box)
            found.append(Detection((x1, y1, x2, y2), label, float(logits[anchor, label]),
                                   int(anchor)))
    return found


def matching(detections: Sequence[Detection], box: np.ndarray, label: int,
             min_iou: float = 0.5) -> Optional[Detection]:
    """The detection of class ``label`` that best overlaps ``box`` by IoU >= ``min_iou``."""
    best, best_iou = None, min_iou
    for detection in detections:
        overlap = float(box_iou(np.asarray([detection.box]), tuple(box))[0])
        if detection.label == label and overlap >= best_iou:
            best, best_iou = detection, overlap
    return best


def detection_quality(model: Any, scenes: Sequence[Scene],
                      min_iou: float = 0.5) -> Tuple[float, float]:
    """Recall (objects found) and precision (detections that are objects).

    A detection finds an object when it has its class and overlaps its box
    by IoU >= ``min_iou``.
    """
    objects = found = detections = true = 0
    for scene in scenes:
        detected = detect(model, scene)
        truth = list(zip(scene.boxes, (int(label) for label in scene.labels)))
        objects += len(truth)
        found += sum(matching(detected, box, label, min_iou) is not None
                     for box, label in truth)
        detections += len(detected)
        true += sum(any(matching([one], box, label, min_iou) for box, label in truth)
                    for one in detected)
    return found / objects, (true / detections if detections else 0.0)


def segmentation_accuracy(model: Any, scenes: Sequence[Scene]) -> float:
    """Share of object pixels given their object's class (background excluded)."""
    with torch.no_grad():
        predicted = model(scene_batch(scenes)).argmax(1).numpy()
    truth = np.stack([scene.segmentation for scene in scenes])
    objects = truth > 0
    return float((predicted[objects] == truth[objects]).mean())
