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

from typing import Any, Optional, Sequence

import numpy as np

from ._score_ops import _check_index, _constant, _is_torch, _ops, _scores
from .boxes import BOX_FORMATS, BoxScore, box_iou

__all__ = ['ClassScore', 'RegionScore', 'BoxScore', 'SimilarityScore', 'box_iou',
           'BOX_FORMATS']

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
