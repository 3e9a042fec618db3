"""``smooth='aug'``: test-time augmentation, maps re-aligned and averaged.

The image is explained as given and in :data:`VIEWS` more ways: flipped left
to right, and shifted by one cell of the explained layer's grid up, down,
left and right.  Each view's map is brought back onto the original image
(flipped back; shifted back by the same number of cells) and the maps are
averaged, position by position, over the views that cover that position (a
shifted view has no value for the row or column that left the image).

* **Shift.**  One cell of the layer is ``s = input_size // layer_size``
  input pixels along each axis (the layer's stride, for a network of
  ``'same'``-padded layers); the image moves by ``s`` pixels, the pixels that
  enter are zeros.  A map at the layer's resolution moves back by one cell,
  a map at the input's pixels (guided methods) by ``s`` pixels.  With
  several layers, ``s`` is the finest layer's cell.
* **Flip.**  The map of the flipped image is flipped back.

The re-alignment is exact, and the averaged map is the map of the image
itself, for a network that is flip-equivariant (symmetric kernels and
padding) and translation-equivariant with stride ``s``, on an image whose
content keeps clear of the border (what a shift moves out of the layer's
grid, like what it moves in, is the response to zeros), e.g. one
``'same'``-padded convolution.
Otherwise the cells near the border see the network's boundary effects, and
the map is the average of the views, which is the point: details that depend
on where exactly the object lies on the grid average out.

Every view explains the targets of the image as given, also for
``top_targets``: the maps of one target are averaged.  Each view's map is
the method's unnormalised map (rectified with ``relu=True``), so a view
where the target scores higher weighs more; the average is normalised as
any map.  Cost: ``len(VIEWS)`` passes instead of one.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np

from .capture import LayerCapture

__all__ = ['VIEWS', 'View', 'augment_images', 'realign', 'cell_stride',
           'augmented_heatmaps']

#: ``(flip, (rows, columns))``: a left-right flip and a shift in layer cells.
View = Tuple[bool, Tuple[int, int]]

#: The views averaged by ``smooth='aug'``; the first is the image as given.
VIEWS: Tuple[View, ...] = ((False, (0, 0)), (True, (0, 0)), (False, (1, 0)),
                           (False, (-1, 0)), (False, (0, 1)), (False, (0, -1)))


def _image_axes(ndim: int, channels_first: bool) -> Tuple[int, int]:
    """The (height, width) axes of a batch of images."""
    if ndim != 4:
        raise ValueError(f"smooth='aug' needs a batch of images (4 axes); got {ndim} axes")
    return (2, 3) if channels_first else (1, 2)


def _shift(values: np.ndarray, offset: int, axis: int) -> Tuple[np.ndarray, np.ndarray]:
    """``values`` moved by ``offset`` along ``axis`` (zeros enter), and the mask of
    the positions that received a value."""
    if offset == 0:
        return values, np.ones(values.shape[axis], dtype=bool)
    size = values.shape[axis]
    moved = np.zeros_like(values)
    valid = np.zeros(size, dtype=bool)
    target = [slice(None)] * values.ndim
    source = [slice(None)] * values.ndim
    if abs(offset) < size:
        keep = slice(max(offset, 0), size + min(offset, 0))
        target[axis] = keep
        source[axis] = slice(max(-offset, 0), size + min(-offset, 0))
        moved[tuple(target)] = values[tuple(source)]
        valid[keep] = True
    return moved, valid


def augment_images(docs: np.ndarray, view: View, pixels: Tuple[int, int], *,
                   channels_first: bool) -> np.ndarray:
    """The images of one view: flipped left-right, then shifted by ``pixels``
    per cell of the view's shift (zeros enter).

    Parameters
    ----------
    docs : numpy.ndarray
        ``(batch, C, H, W)`` or ``(batch, H, W, C)``.
    view : View
    pixels : (int, int)
        Input pixels per layer cell, along height and width.
    channels_first : bool

    Returns
    -------
    numpy.ndarray
    """
    flip, (rows, columns) = view
    height, width = _image_axes(docs.ndim, channels_first)
    images = np.flip(docs, axis=width) if flip else docs
    images, _ = _shift(images, rows * pixels[0], height)
    images, _ = _shift(images, columns * pixels[1], width)
    return np.ascontiguousarray(images)


def realign(maps: np.ndarray, view: View, cells: Tuple[int, int]
            ) -> Tuple[np.ndarray, np.ndarray]:
    """Maps of a view brought back onto the original image.

    Parameters
    ----------
    maps : numpy.ndarray
        ``(batch, targets, height, width)``.
    view : View
    cells : (int, int)
        Map positions per layer cell, along height and width.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        The re-aligned maps and the ``(height, width)`` bool mask of the
        positions the view covers.
    """
    flip, (rows, columns) = view
    aligned, valid_rows = _shift(maps, -rows * cells[0], 2)
    aligned, valid_columns = _shift(aligned, -columns * cells[1], 3)
    if flip:
        aligned = np.flip(aligned, axis=3)
    return aligned, valid_rows[:, np.newaxis] & valid_columns[np.newaxis, :]


def cell_stride(input_hw: Sequence[int], layer_hw: Sequence[int],
                map_hw: Sequence[int]) -> Tuple[Tuple[int, int], Tuple[int, int]]:
    """Input pixels per layer cell, and map positions per layer cell.

    Returns
    -------
    ((int, int), (int, int))
        See the module docstring: ``s = max(1, input // layer)`` pixels, and
        ``max(1, round(s * map / input))`` map positions.
    """
    pixels = tuple(max(1, int(size_in) // int(size_layer))
                   for size_in, size_layer in zip(input_hw, layer_hw))
    cells = tuple(max(1, int(round(step * int(size_map) / int(size_in))))
                  for step, size_map, size_in in zip(pixels, map_hw, input_hw))
    return (pixels[0], pixels[1]), (cells[0], cells[1])


def _target_groups(targets: np.ndarray) -> Dict[Tuple[int, ...], List[int]]:
    """Documents grouped by their row of target indices."""
    groups: Dict[Tuple[int, ...], List[int]] = {}
    for item, row in enumerate(np.asarray(targets)):
        groups.setdefault(tuple(int(t) for t in row), []).append(item)
    return groups


def augmented_heatmaps(capture: LayerCapture, docs: np.ndarray, *, channels_first: bool,
                       heatmaps: Callable[[LayerCapture], np.ndarray],
                       capture_view: Callable[[np.ndarray, Tuple[int, ...], List[int]],
                                              LayerCapture]
                       ) -> np.ndarray:
    """The maps of :data:`VIEWS`, re-aligned and averaged.

    Parameters
    ----------
    capture : LayerCapture
        The pass on the images as given (the first view).
    docs : numpy.ndarray
        Those images, ``(batch, C, H, W)`` or ``(batch, H, W, C)``.
    channels_first : bool
    heatmaps : callable
        A capture's unnormalised ``(batch, targets, h, w)`` maps
        (:func:`~eli5_gradcam.nn.maps.capture_heatmaps`).
    capture_view : callable
        ``capture_view(images, targets, items)``: the pass on the augmented
        images of documents ``items`` (their other inputs as given),
        differentiating the given output indices.

    Returns
    -------
    numpy.ndarray
        ``(batch, targets, h, w)``: the average.
    """
    first = heatmaps(capture)
    height, width = _image_axes(docs.ndim, channels_first)
    input_hw = (docs.shape[height], docs.shape[width])
    layer_hw = tuple(max(sizes) for sizes in zip(*(a.spatial_shape for a in capture.layers)))
    pixels, cells = cell_stride(input_hw, layer_hw, first.shape[2:])
    total, count = first.copy(), np.ones(first.shape[2:])
    groups = _target_groups(capture.targets)
    for view in VIEWS[1:]:
        images = augment_images(docs, view, pixels, channels_first=channels_first)
        view_maps = np.empty_like(first)
        for targets, items in groups.items():
            view_maps[items] = heatmaps(capture_view(images[items], targets, items))
        aligned, valid = realign(view_maps, view, cells)
        total += np.where(valid, aligned, 0.0)
        count += valid
    return total / count
