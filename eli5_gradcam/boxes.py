"""Detection targets: :class:`BoxScore` and the box overlap it matches by.

Re-exported by :mod:`eli5_gradcam.targets`, where they are documented with
the other ready-made score functions.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple

import numpy as np

from ._score_ops import _check_index, _constant, _is_torch, _ops, _scores

__all__ = ['BoxScore', 'box_iou', 'BOX_FORMATS']

#: Box formats :class:`BoxScore` accepts: corners, or centre and size, or
#: top-left corner and size, in pixels.
BOX_FORMATS = ('xyxy', 'cxcywh', 'xywh')


def _as_xyxy(boxes: Any, box_format: str) -> Tuple[Any, Any, Any, Any]:
    a, b, c, d = boxes[..., 0], boxes[..., 1], boxes[..., 2], boxes[..., 3]
    if box_format == 'xyxy':
        return a, b, c, d
    if box_format == 'xywh':
        return a, b, a + c, b + d
    return a - c / 2, b - d / 2, a + c / 2, b + d / 2


def box_iou(boxes: Any, box: Sequence[float], box_format: str = 'xyxy') -> Any:
    """Intersection over union of ``boxes`` (``(..., 4)``) with one ``box`` (xyxy).

    Works on numpy arrays and on torch / Keras tensors (``box_format`` is the
    format of ``boxes``).
    """
    x1, y1, x2, y2 = _as_xyxy(boxes, box_format)
    numpy = isinstance(boxes, np.ndarray)
    ops = np if numpy else _ops(boxes)

    def constant(value: float) -> Any:
        return value if numpy else _constant(value, x1)
    bx1, by1, bx2, by2 = (constant(float(v)) for v in box)
    zero = constant(0.0)
    width = ops.maximum(ops.minimum(x2, bx2) - ops.maximum(x1, bx1), zero)
    height = ops.maximum(ops.minimum(y2, by2) - ops.maximum(y1, by1), zero)
    inter = width * height
    area = (float(box[2]) - float(box[0])) * (float(box[3]) - float(box[1]))
    union = (x2 - x1) * (y2 - y1) + area - inter
    return inter / ops.maximum(union, constant(1e-12))


class BoxScore:
    """The score of the detection that best matches a box (by IoU) and a class.

    Two output layouts are understood:

    * ``'torchvision'``: a list with one dict per image, ``{'boxes': (K, 4),
      'labels': (K,), 'scores': (K,)}`` (torchvision's detectors in eval
      mode); the score of the detection of ``index``'s class whose box best
      overlaps ``box``;
    * ``'dense'``: a single-stage tensor ``(N, anchors, 4 + C)`` of a box and
      ``C`` class scores per anchor, or ``(N, anchors, 5 + C)`` with an
      objectness column after the box (``objectness=True``: the score is then
      objectness times the class score); the score of the detection the
      model reports for the object: the highest among the anchors whose
      predicted box overlaps ``box`` by ``min_iou`` or more (the one a
      confidence threshold and non-maximum suppression keep), or, when no
      anchor overlaps that much, that of the best-overlapping anchor.

    Parameters
    ----------
    box : sequence of 4 float
        ``(x1, y1, x2, y2)`` in pixels: the object to explain.
    index : int
        Its class.
    layout : {'torchvision', 'dense'}
    box_format : {'xyxy', 'cxcywh', 'xywh'}
        Format of the model's boxes (``box`` itself is always xyxy).
    objectness : bool
        ``'dense'`` outputs with an objectness column.
    image_size : (int, int), optional
        ``(height, width)``: checks that ``box`` lies inside the image.
    min_iou : float
        ``'torchvision'``: a best match below this overlap is an error (no
        detection of that object); ``'dense'``: the anchors that overlap at
        least this much compete by score.  Default 0.1.
    """

    def __init__(self, box: Sequence[float], index: int, *, layout: str = 'torchvision',
                 box_format: str = 'xyxy', objectness: bool = False,
                 image_size: Optional[Tuple[int, int]] = None, min_iou: float = 0.1) -> None:
        values = np.asarray(box, dtype=np.float64).reshape(-1)
        if values.shape != (4,) or not np.isfinite(values).all():
            raise ValueError(f'box must be 4 finite numbers (x1, y1, x2, y2); got {box!r}')
        if not (values[0] < values[2] and values[1] < values[3]):
            raise ValueError(f'box must have x1 < x2 and y1 < y2 (xyxy pixels); got {box!r}')
        if image_size is not None and (values.min() < 0 or values[2] > image_size[1]
                                       or values[3] > image_size[0]):
            raise ValueError(f'box {tuple(values.tolist())} lies outside the image of '
                             f'(height, width) {tuple(image_size)}')
        if layout not in ('torchvision', 'dense'):
            raise ValueError(f"layout must be 'torchvision' or 'dense'; got {layout!r}")
        if box_format not in BOX_FORMATS:
            raise ValueError(f'box_format must be one of {BOX_FORMATS}; got {box_format!r}')
        self.box = tuple(values.tolist())
        self.index = _check_index('index', index)
        self.layout, self.box_format, self.objectness = layout, box_format, bool(objectness)
        self.min_iou = float(min_iou)
        self.name = f'class {self.index} at box {tuple(round(v, 1) for v in self.box)}'

    def _best(self, overlaps: np.ndarray, where: str) -> int:
        best = int(np.argmax(overlaps)) if overlaps.size else -1
        if best < 0 or overlaps[best] < self.min_iou:
            raise ValueError(f'BoxScore: no detection of class {self.index} overlaps box '
                             f'{self.box} by IoU >= {self.min_iou} in {where}')
        return best

    def _torchvision(self, output: Any) -> Any:
        import torch
        scores = []
        for number, detections in enumerate(output):
            boxes = detections['boxes']
            overlaps = box_iou(boxes.detach().cpu().numpy(), self.box, self.box_format)
            overlaps = np.where(detections['labels'].detach().cpu().numpy() == self.index,
                                overlaps, -1.0)
            scores.append(detections['scores'][self._best(overlaps, f'image {number}')])
        return torch.stack(scores)

    def _dense(self, output: Any) -> Any:
        predictions = _scores(output, None)
        offset = 5 if self.objectness else 4
        if len(predictions.shape) != 3 or int(predictions.shape[-1]) <= offset + self.index:
            raise ValueError(f'BoxScore: a dense output is (N, anchors, {offset} + classes); '
                             f'got shape {tuple(predictions.shape)} for class {self.index}')
        ops = _ops(predictions)
        constant = ops.stop_gradient if hasattr(ops, 'stop_gradient') else (
            lambda tensor: tensor.detach())
        overlaps = constant(box_iou(predictions[..., :4], self.box, self.box_format))
        scores = predictions[..., offset + self.index]
        if self.objectness:
            scores = scores * predictions[..., 4]
        # The detection the model reports for this object: the highest score
        # among the anchors overlapping the box by min_iou (arctan keeps the
        # order of any score and puts them all above the IoUs, in [0, 1]); the
        # best-overlapping anchor when none does.
        rank = ops.where(overlaps >= self.min_iou, 3.0 + ops.arctan(constant(scores)), overlaps)
        return _gather_rows(scores[..., None], ops.argmax(rank, 1))[:, 0]

    def __call__(self, output: Any) -> Any:
        if self.layout == 'torchvision':
            if not isinstance(output, (list, tuple)) or not all(
                    isinstance(d, dict) and {'boxes', 'labels', 'scores'} <= set(d)
                    for d in output):
                raise ValueError("BoxScore(layout='torchvision') needs a list of dicts with "
                                 "'boxes', 'labels' and 'scores' (one per image); got "
                                 f'{type(output).__name__}')
            return self._torchvision(output)
        return self._dense(output)


def _gather_rows(predictions: Any, rows: Any) -> Any:
    """``predictions[n, rows[n]]`` for every ``n``: ``(N, A, F)`` -> ``(N, F)``."""
    if _is_torch(predictions):
        import torch
        return predictions[torch.arange(predictions.shape[0]), rows]
    import keras
    ops = keras.ops
    one_hot = ops.one_hot(rows, int(predictions.shape[1]), dtype=predictions.dtype)
    return ops.sum(predictions * one_hot[..., None], 1)
