"""The tiny scene detector and segmenter in Keras 3, on any backend.

The Keras twins of :mod:`eli5_gradcam.demo.scene_models`, built with the
functional API and trained with ``model.fit`` (seeded with
``keras.utils.set_random_seed``) on :mod:`eli5_gradcam.demo.scenes` in
seconds on one CPU thread:

* :func:`build_detector`: a convolutional backbone to a ``6 x 6`` grid, a
  ``1 x 1`` head and :class:`GridBoxes`, which decodes one anchor per cell
  into a dense ``(N, anchors, 4 + classes)`` output of ``(x1, y1, x2, y2)``
  pixel boxes and class logits (what ``BoxScore(..., layout='dense')`` reads);
* :func:`build_segmenter`: a fully convolutional network whose ``12 x 12``
  class logits are upsampled to ``(N, 48, 48, classes)`` (what
  :class:`~eli5_gradcam.targets.RegionScore` reads, channels last).

Their convolutions are half as wide as the PyTorch models' first ones (8 and
16 channels instead of 16 and 32), so that they train in seconds on every
backend's CPU.  Their layer named ``features`` (the backbone's last convolution and its
ReLU) is the layer to explain.  The meaning of their outputs (anchors,
detections, quality) is :mod:`~eli5_gradcam.demo.scene_outputs`', shared
with the PyTorch models.  Importing this module imports Keras.
"""
from __future__ import annotations

from typing import Any, List, Sequence, Tuple

import keras
import numpy as np

from . import scene_outputs
from .scene_outputs import (ANCHOR_SIZE, POSITIVE_WEIGHT, SIZE_LIMIT, STRIDE, Detection,
                            anchor_centres, detection_targets)
from .scenes import IMAGE_SIZE, SEGMENT_CLASSES, SHAPES, Scene, make_scenes

__all__ = ['GridBoxes', 'build_detector', 'build_segmenter', 'scene_batch', 'train_detector',
           'train_segmenter', 'detect', 'detection_quality', 'segmentation_accuracy']

class GridBoxes(keras.layers.Layer):
    """Decode a ``(N, rows, cols, 4 + C)`` head into ``(N, cells, 4 + C)`` boxes and logits.

    Each anchor's box comes from its cell as
    :func:`~eli5_gradcam.demo.scene_outputs.anchor_centres` says (the
    PyTorch ``TinyDetector``'s decoding); the class logits pass through.
    """

    def call(self, raw: Any) -> Any:
        """The decoded boxes and the logits, anchors row by row."""
        ops = keras.ops
        cells = ops.reshape(raw, (-1, int(raw.shape[1]) * int(raw.shape[2]), int(raw.shape[3])))
        centres = ops.convert_to_tensor(anchor_centres(), dtype=cells.dtype)
        middle = centres + STRIDE * ops.tanh(cells[..., :2])
        size = ANCHOR_SIZE * ops.exp(ops.clip(cells[..., 2:4], -SIZE_LIMIT, SIZE_LIMIT))
        return ops.concatenate([middle - size / 2, middle + size / 2, cells[..., 4:]], axis=-1)


def _backbone(images: Any, widths: Sequence[int], pools: int, dilation: int = 1) -> Any:
    """3x3 conv + ReLU blocks, the first ``pools`` followed by 2x2 max-pooling;
    the last block is named ``features``."""
    layers = keras.layers
    flow = images
    for number, width in enumerate(widths, 1):
        last = number == len(widths)
        flow = layers.Conv2D(width, 3, padding='same', activation='relu',
                             dilation_rate=dilation if last else 1,
                             name='features' if last else f'conv{number}')(flow)
        if number <= pools:
            flow = layers.MaxPooling2D(2, name=f'pool{number}')(flow)
    return flow


def build_detector(classes: int = len(SHAPES)) -> Any:
    """The single-stage detector: ``(N, 48, 48, 3)`` -> ``(N, 36, 4 + classes)``.

    Parameters
    ----------
    classes : int
        Number of object classes.

    Returns
    -------
    keras.Model
    """
    images = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3), name='images')
    grid = _backbone(images, (8, 16, 32, 64), pools=3)
    raw = keras.layers.Conv2D(4 + classes, 1, name='head')(grid)
    return keras.Model(images, GridBoxes(name='boxes')(raw), name='tiny_detector')


def build_segmenter(classes: int = len(SEGMENT_CLASSES)) -> Any:
    """The fully convolutional segmenter: ``(N, 48, 48, 3)`` -> ``(N, 48, 48, classes)`` logits.

    Parameters
    ----------
    classes : int
        Output channels (background included).

    Returns
    -------
    keras.Model
    """
    images = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3), name='images')
    features = _backbone(images, (8, 16, 32), pools=2, dilation=2)
    logits = keras.layers.Conv2D(classes, 1, name='classifier')(features)
    upsampled = keras.layers.UpSampling2D(IMAGE_SIZE // int(logits.shape[1]),
                                          interpolation='bilinear', name='upsample')(logits)
    return keras.Model(images, upsampled, name='tiny_segmenter')


def scene_batch(scenes: Sequence[Scene]) -> np.ndarray:
    """``(N, 48, 48, 3)`` float32: the scenes' pictures, channels last."""
    return np.stack([scene.image for scene in scenes])


def _detection_loss(truth: Any, output: Any) -> Any:
    """Per scene: the anchors' weighted binary cross-entropy plus the object cells'
    L1 box error in cells (``truth`` is boxes then one-hot classes per anchor)."""
    ops = keras.ops
    boxes, labels, logits = truth[..., :4], truth[..., 4:], output[..., 4:]
    classes = ops.mean(POSITIVE_WEIGHT * labels * ops.softplus(-logits)
                       + (1.0 - labels) * ops.softplus(logits), axis=(1, 2))
    positive = ops.max(labels, axis=-1, keepdims=True)
    error = ops.sum(ops.abs(output[..., :4] - boxes) * positive, axis=(1, 2))
    return classes + error / (4.0 * STRIDE * ops.maximum(ops.sum(positive, axis=(1, 2)), 1.0))


def _fit(model: Any, loss: Any, images: np.ndarray, wanted: np.ndarray, *, epochs: int,
         batch: int, learning_rate: float) -> Any:
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss)
    model.fit(images, wanted, batch_size=batch, epochs=epochs, shuffle=True, verbose=0)
    return model


def train_detector(seed: int = 0, epochs: int = 20, count: int = 512, *, batch: int = 32,
                   learning_rate: float = 0.005) -> Any:
    """Build and train the detector on ``count`` generated scenes with Adam.

    The loss is the PyTorch ``train_detector``'s: binary cross-entropy of
    every anchor's class logits (one-hot at the cell holding an object's
    centre, weighted :data:`~eli5_gradcam.demo.scene_outputs.POSITIVE_WEIGHT`
    times) plus the L1 error of those cells' boxes, in cells.

    Parameters
    ----------
    seed : int
        Seeds the scenes and ``keras.utils.set_random_seed`` (weights, shuffling).
    epochs, count, batch, learning_rate
        The defaults train in seconds on one CPU thread (on every backend).

    Returns
    -------
    keras.Model
    """
    keras.utils.set_random_seed(seed)
    scenes = make_scenes(count, seed)
    labels, boxes = detection_targets(scenes, len(SHAPES))
    return _fit(build_detector(), _detection_loss, scene_batch(scenes),
                np.concatenate([boxes, labels], -1), epochs=epochs, batch=batch,
                learning_rate=learning_rate)


def train_segmenter(seed: int = 0, epochs: int = 20, count: int = 512, *, batch: int = 32,
                    learning_rate: float = 0.005) -> Any:
    """Build and train the segmenter (per-pixel cross-entropy) on ``count`` scenes with Adam.

    The parameters are :func:`train_detector`'s; returns the ``keras.Model``.
    """
    keras.utils.set_random_seed(seed)
    scenes = make_scenes(count, seed)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    return _fit(build_segmenter(), loss, scene_batch(scenes),
                np.stack([scene.segmentation for scene in scenes]), epochs=epochs, batch=batch,
                learning_rate=learning_rate)


def _predict(model: Any, scenes: Sequence[Scene]) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(model(scene_batch(scenes), training=False)))


def detect(model: Any, scene: Scene, *, min_logit: float = 0.0,
           max_overlap: float = 0.3) -> List[Detection]:
    """The detector's detections in one scene, best first
    (:func:`~eli5_gradcam.demo.scene_outputs.detections`)."""
    return scene_outputs.detections(_predict(model, [scene])[0], min_logit=min_logit,
                                    max_overlap=max_overlap)


def detection_quality(model: Any, scenes: Sequence[Scene],
                      min_iou: float = 0.5) -> Tuple[float, float]:
    """Recall and precision of the detector on ``scenes``
    (:func:`~eli5_gradcam.demo.scene_outputs.detection_quality`)."""
    return scene_outputs.detection_quality(_predict(model, scenes), scenes, min_iou)


def segmentation_accuracy(model: Any, scenes: Sequence[Scene]) -> float:
    """Share of object pixels given their object's class (background excluded)."""
    return scene_outputs.segmentation_accuracy(_predict(model, scenes).argmax(-1), scenes)
