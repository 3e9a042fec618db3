"""What the scene models' outputs mean, in numpy: one meaning for every framework.

The tiny detectors and segmenters trained on :mod:`eli5_gradcam.demo.scenes`
(PyTorch in :mod:`~eli5_gradcam.demo.scene_models`, Keras 3 in
:mod:`~eli5_gradcam.demo.keras_scene_models`) share their grid, their
training targets, the reading of their outputs and the measures of their
quality; this module holds those, and imports no framework.

The detector's output is dense: ``(N, anchors, 4 + classes)``, one anchor per
cell of a ``6 x 6`` grid (row by row), each an ``(x1, y1, x2, y2)`` pixel box
and a logit per shape.  The segmenter's is a class map per pixel.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from ..targets import box_iou
from .scenes import IMAGE_SIZE, Scene

__all__ = ['STRIDE', 'ANCHOR_SIZE', 'POSITIVE_WEIGHT', 'anchor_centres', 'detection_targets',
           'Detection', 'detections', 'matching', 'detection_quality',
           'segmentation_accuracy']

#: Pixels per cell of the detector's grid.
STRIDE = 8
#: Box size an anchor predicts before its size offsets, in pixels.
ANCHOR_SIZE = 13.0
#: Weight of an object cell in the class loss (one cell in 36 holds an object).
POSITIVE_WEIGHT = 10.0
#: A size offset is clipped to ``[-SIZE_LIMIT, SIZE_LIMIT]`` before ``exp``.
SIZE_LIMIT = 3.0


def anchor_centres() -> np.ndarray:
    """``(cells, 2)`` float32: each grid cell's centre ``(x, y)`` in pixels, row by row.

    An anchor's box is decoded from its cell: centre = cell centre plus
    ``STRIDE * tanh`` of an offset (up to one cell), size =
    :data:`ANCHOR_SIZE` times ``exp`` of a size offset clipped to
    :data:`SIZE_LIMIT`.
    """
    cells = IMAGE_SIZE // STRIDE
    rows, cols = np.meshgrid(np.arange(cells), np.arange(cells), indexing='ij')
    return ((np.stack([cols, rows], -1).reshape(-1, 2) + 0.5) * STRIDE).astype(np.float32)


def _cell(box: np.ndarray) -> int:
    """The grid cell (anchor index) holding a box's centre."""
    middle_x, middle_y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return int(middle_y // STRIDE) * (IMAGE_SIZE // STRIDE) + int(middle_x // STRIDE)


def detection_targets(scenes: Sequence[Scene], classes: int) -> Tuple[np.ndarray, np.ndarray]:
    """What a detector learns: per anchor the class one-hot and the box.

    Returns
    -------
    labels : numpy.ndarray
        ``(N, cells, classes)`` float32: one-hot at the cell holding an
        object's centre, all zero elsewhere.
    boxes : numpy.ndarray
        ``(N, cells, 4)`` float32: that object's box (zero elsewhere).
    """
    cells = (IMAGE_SIZE // STRIDE) ** 2
    labels = np.zeros((len(scenes), cells, classes), dtype=np.float32)
    boxes = np.zeros((len(scenes), cells, 4), dtype=np.float32)
    for number, scene in enumerate(scenes):
        for box, label in zip(scene.boxes, scene.labels):
            labels[number, _cell(box), label] = 1.0
            boxes[number, _cell(box)] = box
    return labels, boxes


@dataclass(frozen=True)
class Detection:
    """One detection of :func:`detections`.

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


def detections(predictions: np.ndarray, *, min_logit: float = 0.0,
               max_overlap: float = 0.3) -> List[Detection]:
    """The detections in one image's dense output ``(anchors, 4 + classes)``, best first.

    Anchors whose best class logit exceeds ``min_logit``, with non-maximum
    suppression: a box overlapping a better one by IoU above ``max_overlap``
    is dropped.  Boxes are clipped to the image.
    """
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


def matching(detected: Sequence[Detection], box: np.ndarray, label: int,
             min_iou: float = 0.5) -> Optional[Detection]:
    """The detection of class ``label`` that best overlaps ``box`` by IoU >= ``min_iou``."""
    best, best_iou = None, min_iou
    for detection in detected:
        overlap = float(box_iou(np.asarray([detection.box]), tuple(box))[0])
        if detection.label == label and overlap >= best_iou:
            best, best_iou = detection, overlap
    return best


def detection_quality(predictions: np.ndarray, scenes: Sequence[Scene],
                      min_iou: float = 0.5) -> Tuple[float, float]:
    """Recall (objects found) and precision (detections that are objects).

    A detection (of :func:`detections`) finds an object when it has its
    class and overlaps its box by IoU >= ``min_iou``.

    Parameters
    ----------
    predictions : numpy.ndarray
        ``(N, anchors, 4 + classes)``: the detector's output on the scenes.
    scenes : sequence of Scene
        The ``N`` scenes.
    min_iou : float
    """
    objects = found = detected_count = true = 0
    for scene, output in zip(scenes, predictions):
        detected = detections(output)
        truth = list(zip(scene.boxes, (int(label) for label in scene.labels)))
        objects += len(truth)
        found += sum(matching(detected, box, label, min_iou) is not None
                     for box, label in truth)
        detected_count += len(detected)
        true += sum(any(matching([one], box, label, min_iou) for box, label in truth)
                    for one in detected)
    return found / objects, (true / detected_count if detected_count else 0.0)


def segmentation_accuracy(predicted: np.ndarray, scenes: Sequence[Scene]) -> float:
    """Share of object pixels given their object's class (background excluded).

    Parameters
    ----------
    predicted : numpy.ndarray
        ``(N, height, width)`` int: the predicted class of each pixel.
    scenes : sequence of Scene
        The ``N`` scenes it was predicted on.
    """
    truth = np.stack([scene.segmentation for scene in scenes])
    objects = truth > 0
    return float((predicted[objects] == truth[objects]).mean())
