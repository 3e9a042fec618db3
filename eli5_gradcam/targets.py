"""Ready-made score functions: what to explain beyond a class index.

Give any of these in ``targets=`` (mixed with class indices, any number of
them, all from one forward pass)::

    eli5.explain_prediction(segmenter, doc, targets=[RegionScore(3, mask)], method='hirescam')
    eli5.explain_prediction(detector, doc, targets=[BoxScore((40, 8, 72, 30), 1)])
    eli5.explain_prediction(encoder, doc, targets=[SimilarityScore(reference)])

A score function takes the model's raw output, in the model's framework
(torch tensors, or the Keras backend's tensors inside its compiled step),
and returns one differentiable score per document, shape ``(batch,)``.
These work on PyTorch and on every Keras backend: tensors are handled with
``torch`` when they are torch tensors, else with ``keras.ops``.  Each has a
``name`` shown where a class name is shown.

Channel-averaged ``method='gradcam'`` may light every object of the class;
``'hirescam'`` and ``'layercam'`` keep each position's own gradient, which
localises the one region or box the score is about.
"""
from __future__ import annotations

import numbers
from typing import Any, Optional, Sequence, Tuple

import numpy as np

from .nn.outputs import select_output

__all__ = ['ClassScore', 'RegionScore', 'BoxScore', 'SimilarityScore', 'box_iou',
           'BOX_FORMATS']

#: Box formats :class:`BoxScore` accepts: corners, or centre and size, or
#: top-left corner and size, in pixels.
BOX_FORMATS = ('xyxy', 'cxcywh', 'xywh')


def _is_torch(tensor: Any) -> bool:
    return type(tensor).__module__.split('.')[0] == 'torch'


def _is_tensor(value: Any) -> bool:
    return (hasattr(value, 'shape') and hasattr(value, 'dtype')
            and not isinstance(value, (list, tuple, dict, np.ndarray)))


def _ops(tensor: Any) -> Any:
    if _is_torch(tensor):
        import torch
        return torch
    import keras
    return keras.ops


def _constant(values: Any, like: Any) -> Any:
    """``values`` as a tensor of ``like``'s framework, dtype and device."""
    if _is_torch(like):
        import torch
        return torch.as_tensor(np.asarray(values), dtype=like.dtype, device=like.device)
    import keras
    return keras.ops.convert_to_tensor(np.asarray(values), dtype=like.dtype)


def _scores(output: Any, which: Any) -> Any:
    return select_output(output, which, is_tensor=_is_tensor)


def _check_index(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)) or (
            value < 0):
        raise TypeError(f'{name} must be a non-negative int; got {type(value).__name__} '
                        f'{value!r}')
    return int(value)


class ClassScore:
    """The score of one class: what an integer target means.

    Parameters
    ----------
    index : int
        The class (output column).
    output : int or str, optional
        Which of several model outputs holds the scores (as ``output=``).
    """

    def __init__(self, index: int, *, output: Any = None) -> None:
        self.index = _check_index('index', index)
        self.output = output
        self.name = f'class {self.index}'

    def __call__(self, output: Any) -> Any:
        scores = _scores(output, self.output)
        if len(scores.shape) != 2 or self.index >= int(scores.shape[1]):
            raise ValueError(f'ClassScore: index {self.index} is outside the model '
                             f'output of shape {tuple(scores.shape)} (batch, classes)')
        return scores[:, self.index]


class RegionScore:
    """A segmentation class's score summed (or averaged) over a pixel mask.

    Parameters
    ----------
    index : int
        The class (channel of the segmentation output).
    mask : array-like
        ``(height, width)`` boolean or weights: the region.
    reduce : {'sum', 'mean'}
        Sum the class logit over the mask, or average it.
    channels_first : bool, optional
        Output layout: ``(N, C, H, W)`` (PyTorch) or ``(N, H, W, C)`` (Keras).
        Default: the layout whose map size matches ``mask`` (channels first
        for torch tensors when both do).
    output : int or str, optional
        Which of several model outputs holds the map (as ``output=``).
    """

    def __init__(self, index: int, mask: Any, *, reduce: str = 'sum',
                 channels_first: Optional[bool] = None, output: Any = None) -> None:
        self.index = _check_index('index', index)
        self.mask = np.asarray(mask, dtype=np.float64)
        if self.mask.ndim != 2:
            raise ValueError(f'mask must be a (height, width) array; got shape '
                             f'{self.mask.shape}')
        if not self.mask.any():
            raise ValueError('mask is empty: the region has no pixel')
        if reduce not in ('sum', 'mean'):
            raise ValueError(f"reduce must be 'sum' or 'mean'; got {reduce!r}")
        self.reduce = reduce
        self.channels_first = channels_first
        self.output = output
        self.name = f'class {self.index} in region ({int(self.mask.astype(bool).sum())} px)'

    def __call__(self, output: Any) -> Any:
        maps = _scores(output, self.output)
        if len(maps.shape) != 4:
            raise ValueError(f'RegionScore: the model output has shape {tuple(maps.shape)}; '
                             'a segmentation output is (N, C, H, W) or (N, H, W, C)')
        first = self.channels_first
        if first is None:          # the layout whose maps match the mask; torch's if both
            shape = tuple(int(s) for s in maps.shape)
            first = shape[2:4] == self.mask.shape and (
                shape[1:3] != self.mask.shape or _is_torch(maps))
        plane = maps[:, self.index] if first else maps[..., self.index]
        if tuple(int(s) for s in plane.shape[1:]) != self.mask.shape:
            raise ValueError(f'RegionScore: mask of shape {self.mask.shape} does not match '
                             f'the output maps {tuple(plane.shape[1:])}')
        weights = self.mask / self.mask.sum() if self.reduce == 'mean' else self.mask
        ops = _ops(plane)
        return ops.sum(plane * _constant(weights, plane), (1, 2))


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


class SimilarityScore:
    """Cosine similarity of the model's output embedding to a reference vector.

    "Why is this image (sentence) close to that one?": explain
    ``cos(embedding(doc), reference)``.

    Parameters
    ----------
    reference : array-like
        ``(dimensions,)``, e.g. the embedding of another document.
    output : int or str, optional
        Which of several model outputs is the embedding (as ``output=``).
    """

    def __init__(self, reference: Any, *, output: Any = None) -> None:
        self.reference = np.asarray(reference, dtype=np.float64).reshape(-1)
        norm = float(np.linalg.norm(self.reference))
        if not np.isfinite(norm) or norm == 0.0:
            raise ValueError('reference must be a finite, non-zero vector')
        self.reference = self.reference / norm
        self.output = output
        self.name = 'cosine similarity to the reference'

    def __call__(self, output: Any) -> Any:
        embeddings = _scores(output, self.output)
        if len(embeddings.shape) != 2 or int(embeddings.shape[1]) != self.reference.shape[0]:
            raise ValueError(f'SimilarityScore: the embedding has shape '
                             f'{tuple(embeddings.shape)}, the reference '
                             f'{self.reference.shape}; they must match (batch, dimensions)')
        ops = _ops(embeddings)
        norms = ops.sqrt(ops.sum(embeddings * embeddings, 1))
        dots = ops.sum(embeddings * _constant(self.reference, embeddings), 1)
        return dots / ops.maximum(norms, _constant(1e-12, norms))
