"""Generated scenes: small pictures with two or three planted shapes.

Each scene is a dark, noisy ``48 x 48`` RGB picture with two or three
non-overlapping shapes (squares and discs of random size and colour) whose
boxes and masks are known exactly, so an explanation can be checked against
the truth: does a box or region target on one object point at that object?
:mod:`eli5_gradcam.demo.scene_models` trains a tiny detector and a tiny
segmenter on them.  Everything is seeded; nothing is downloaded.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

__all__ = ['IMAGE_SIZE', 'SHAPES', 'SEGMENT_CLASSES', 'Scene', 'make_scene', 'make_scenes',
           'two_of_a_kind']

#: Side of every scene, in pixels.
IMAGE_SIZE = 48
#: The object classes: a detector's class index is the position here.
SHAPES = ('square', 'disc')
#: A segmenter's channels: background, then the shapes (shape ``k`` is channel ``k + 1``).
SEGMENT_CLASSES = ('background',) + SHAPES
#: Smallest and largest object side, in pixels.
OBJECT_SIZES = (10, 16)
#: Background noise: pixel values drawn from ``[0, BACKGROUND]``.
BACKGROUND = 0.3
#: Free pixels kept between two objects.
GAP = 2


@dataclass(frozen=True)
class Scene:
    """One generated picture and the truth about its objects.

    Attributes
    ----------
    image : numpy.ndarray
        ``(height, width, 3)`` float32 in ``[0, 1]``.
    boxes : numpy.ndarray
        ``(objects, 4)`` float ``(x1, y1, x2, y2)`` pixel corners (the
        box around pixels ``x1 .. x2 - 1``).
    labels : numpy.ndarray
        ``(objects,)`` int: the index of each object's shape in :data:`SHAPES`.
    masks : numpy.ndarray
        ``(objects, height, width)`` bool: each object's pixels.
    """

    image: np.ndarray
    boxes: np.ndarray
    labels: np.ndarray
    masks: np.ndarray

    @property
    def segmentation(self) -> np.ndarray:
        """``(height, width)`` int64: 0 for background, ``label + 1`` on an object."""
        classes = np.zeros(self.image.shape[:2], dtype=np.int64)
        for label, mask in zip(self.labels, self.masks):
            classes[mask] = int(label) + 1
        return classes

    def picture(self, scale: int = 1) -> Image.Image:
        """The scene as an RGB picture, each pixel ``scale`` x ``scale`` (to look at it)."""
        picture = Image.fromarray((self.image * 255).round().astype(np.uint8))
        size = IMAGE_SIZE * scale
        return picture.resize((size, size), Image.Resampling.NEAREST) if scale != 1 else picture

    def tensor(self) -> np.ndarray:
        """``(1, 3, height, width)`` float32: the model's input (channels first)."""
        return np.ascontiguousarray(self.image.transpose(2, 0, 1)[np.newaxis])


def _shape_mask(shape: str, top: int, left: int, side: int) -> np.ndarray:
    rows, cols = np.mgrid[:IMAGE_SIZE, :IMAGE_SIZE]
    inside = (rows >= top) & (rows < top + side) & (cols >= left) & (cols < left + side)
    if shape == 'square':
        return inside
    radius = side / 2
    return ((rows + 0.5 - top - radius) ** 2 + (cols + 0.5 - left - radius) ** 2
            <= radius ** 2) & inside


def _place(rng: np.random.Generator, taken: np.ndarray, side: int
           ) -> Optional[Tuple[int, int]]:
    """A free top-left corner for a ``side``-pixel object, GAP pixels from the others."""
    for _ in range(200):
        top, left = (int(v) for v in rng.integers(0, IMAGE_SIZE - side + 1, 2))
        near = taken[max(top - GAP, 0):top + side + GAP, max(left - GAP, 0):left + side + GAP]
        if not near.any():
            return top, left
    return None


def make_scene(rng: np.random.Generator, shapes: Sequence[str], *,
               sides: Optional[Sequence[int]] = None,
               colours: Optional[Sequence[Sequence[float]]] = None) -> Scene:
    """A scene with the given shapes at random free places.

    Parameters
    ----------
    rng : numpy.random.Generator
    shapes : sequence of str
        One entry of :data:`SHAPES` per object.
    sides : sequence of int, optional
        Each object's size in pixels; default random in :data:`OBJECT_SIZES`.
    colours : sequence of (float, float, float), optional
        Each object's RGB colour in ``[0, 1]``; default random and bright.

    Returns
    -------
    Scene
    """
    unknown = sorted(set(shapes) - set(SHAPES))
    if unknown:
        raise ValueError(f'shapes must be among {SHAPES}; got {unknown}')
    image = rng.uniform(0.0, BACKGROUND, (IMAGE_SIZE, IMAGE_SIZE, 3)).astype(np.float32)
    taken = np.zeros((IMAGE_SIZE, IMAGE_SIZE), dtype=bool)
    boxes, masks = [], []
    for number, shape in enumerate(shapes):
        side = int(sides[number]) if sides is not None else int(
            rng.integers(OBJECT_SIZES[0], OBJECT_SIZES[1] + 1))
        colour = (np.asarray(colours[number], dtype=np.float32) if colours is not None
                  else rng.uniform(0.6, 1.0, 3).astype(np.float32))
        corner = _place(rng, taken, side)
        if corner is None:
            raise ValueError(f'no room left for object {number} ({shape}, {side} px)')
        top, left = corner
        mask = _shape_mask(shape, top, left, side)
        image[mask] = colour
        taken[top:top + side, left:left + side] = True
        boxes.append((left, top, left + side, top + side))
        masks.append(mask)
    return Scene(image=image, boxes=np.asarray(boxes, dtype=np.float32),
                 labels=np.asarray([SHAPES.index(s) for s in shapes], dtype=np.int64),
                 masks=np.asarray(masks))


def make_scenes(count: int, seed: int) -> List[Scene]:
    """``count`` scenes of two or three random shapes each.

    Parameters
    ----------
    count : int
    seed : int

    Returns
    -------
    list of Scene
    """
    rng = np.random.default_rng(seed)
    return [make_scene(rng, [str(s) for s in rng.choice(SHAPES, rng.integers(2, 4))])
            for _ in range(count)]


def two_of_a_kind(seed: int, shape: str = 'square', other: str = 'disc') -> Scene:
    """Two identical ``shape`` objects (same size and colour) and one ``other``.

    The case where channel-averaged Grad-CAM lights both twins for a target
    that is about one of them.
    """
    rng = np.random.default_rng(seed)
    side = int(rng.integers(12, OBJECT_SIZES[1] + 1))
    colour, other_colour = (rng.uniform(0.6, 1.0, 3).tolist() for _ in range(2))
    return make_scene(rng, [shape, shape, other], sides=[side, side, OBJECT_SIZES[0] + 2],
                      colours=[colour, colour, other_colour])
