"""Images: documents to PIL images and back, and heatmap resizing."""
from __future__ import annotations

import os
from typing import Optional, Tuple, Union

import numpy as np
from PIL import Image

__all__ = ['doc_to_image', 'image_from_path', 'image_array_from_path', 'fit_image',
           'resize_heatmap_to', 'looks_like_image']

_MODES = {1: 'L', 3: 'RGB', 4: 'RGBA'}


def looks_like_image(shape: Tuple[int, ...]) -> bool:
    """Whether an array of ``shape`` (with batch axis) is plausibly an image.

    ``(1, H, W, C)`` or ``(1, C, H, W)`` with ``C`` in 1, 3, 4 and both
    spatial sides larger than 1.  Rank-3 arrays are not guessed to be images:
    ``(1, C, L)`` and ``(1, L, C)`` signals look the same as grey images;
    pass ``image=`` for those.
    """
    if len(shape) == 4:
        return (shape[-1] in _MODES and min(shape[1:3]) > 1) or (
            shape[1] in _MODES and min(shape[2:4]) > 1)
    return False


def _to_uint8(array: np.ndarray) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    values = array.astype(np.float32)
    low, high = float(values.min()), float(values.max())
    if not (np.isfinite(low) and np.isfinite(high)):       # the rare slow path
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            return np.zeros(array.shape, dtype=np.uint8)
        low, high = float(finite.min()), float(finite.max())
        values = np.nan_to_num(values, nan=low, posinf=high, neginf=low)
    if low >= 0.0 and high <= 1.0 and not np.issubdtype(array.dtype, np.integer):
        values *= 255.0
    elif not (low >= 0.0 and high <= 255.0):
        # normalised input (e.g. mean/std): stretch to the full range for display
        values = (values - low) * (255.0 / (high - low if high > low else 1.0))
    np.clip(values, 0, 255, out=values)
    return np.rint(values, out=values).astype(np.uint8)


def doc_to_image(doc: np.ndarray, *, channels_first: Optional[bool] = None) -> Image.Image:
    """Turn an image document into a PIL image for display (mode RGBA).

    Parameters
    ----------
    doc : numpy.ndarray
        ``(1, H, W, C)``, ``(1, C, H, W)``, ``(H, W, C)``, ``(1, H, W)`` or
        ``(H, W)``, with ``C`` in 1, 3 or 4.  Values in [0, 1] or [0, 255] are
        used as they are; anything else (normalised inputs) is stretched to
        [0, 255].
    channels_first : bool, optional
        Layout of ``doc``; guessed from the shape when None.

    Returns
    -------
    PIL.Image.Image
    """
    array = np.asarray(doc)
    if array.ndim == 4:
        if array.shape[0] != 1:
            raise ValueError(f'doc must hold one image (batch axis of 1); got shape {array.shape}')
        array = array[0]
    if array.ndim == 3:
        if channels_first is None:
            channels_first = array.shape[0] in _MODES and array.shape[-1] not in _MODES
        if channels_first:
            array = np.moveaxis(array, 0, -1)
        if array.shape[-1] not in _MODES:
            if array.shape[0] == 1:     # (1, H, W): a batch of one grey image
                array = array[0][..., np.newaxis]
            else:
                raise ValueError('doc does not look like an image: expected 1, 3 or 4 '
                                 f'channels, got shape {np.shape(doc)}')
    elif array.ndim == 2:
        array = array[..., np.newaxis]
    else:
        raise ValueError(f'doc does not look like an image; got shape {np.shape(doc)}')
    pixels = _to_uint8(array)
    # RGBA merged from planes, as PIL's convert('RGBA') would give (grey
    # replicated, opaque alpha).  The conversion above keeps the doc's memory
    # order, so each plane of a channels-first doc is contiguous: merging
    # planes is 5x cheaper than interleaving them in numpy.
    planes = [Image.fromarray(np.ascontiguousarray(pixels[..., channel]), mode='L')
              for channel in range(pixels.shape[-1])]
    if len(planes) == 1:
        planes = planes * 3
    if len(planes) == 3:
        planes.append(Image.new('L', planes[0].size, 255))
    return Image.merge('RGBA', planes)


def fit_image(image: Image.Image, image_shape: Tuple[int, int], *,
              crop: bool = False) -> Image.Image:
    """Resize ``image`` to ``image_shape``, squashing it or cropping its centre.

    Parameters
    ----------
    image : PIL.Image.Image
    image_shape : (height, width)
    crop : bool
        False (default): resize to exactly ``image_shape``, changing the
        aspect ratio if it differs (as eli5 0.16 and Keras' ``load_img`` do).
        True: scale so that the image covers ``image_shape`` and cut out the
        centre, keeping the aspect ratio (the usual ImageNet preprocessing).

    Returns
    -------
    PIL.Image.Image
    """
    height, width = int(image_shape[0]), int(image_shape[1])
    if height < 1 or width < 1:
        raise ValueError(f'image_shape must be (height, width) of at least 1 pixel; got '
                         f'{tuple(image_shape)}')
    if not crop:
        return image.resize((width, height), resample=Image.Resampling.BILINEAR)
    scale = max(width / image.width, height / image.height)
    scaled = (max(width, round(image.width * scale)), max(height, round(image.height * scale)))
    resized = image.resize(scaled, resample=Image.Resampling.BICUBIC)
    left, top = (scaled[0] - width) // 2, (scaled[1] - height) // 2
    return resized.crop((left, top, left + width, top + height))


def image_from_path(path: Union[str, os.PathLike],
                    image_shape: Optional[Tuple[int, int]] = None, *,
                    crop: bool = False) -> Image.Image:
    """Open an image file as an RGB PIL image, optionally resized: the picture to draw on.

    Use it for ``image=`` (the picture the heatmap is drawn over) and for
    your own preprocessing.  For eli5 0.16's Keras tutorial, which expects a
    ``(1, H, W, 3)`` array ready for ``preprocess_input``, use
    :func:`image_array_from_path`.

    Parameters
    ----------
    path : str or os.PathLike
    image_shape : (height, width), optional
        Resize to this size (see :func:`fit_image`).
    crop : bool
        Keep the aspect ratio and cut out the centre (default False: squash
        to ``image_shape``, as eli5 0.16 does).

    Returns
    -------
    PIL.Image.Image
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f'path must be a str or os.PathLike; got {type(path).__name__}')
    try:
        opened = Image.open(path)
        opened.load()
    except FileNotFoundError as exc:
        raise ValueError(f'path: no such file: {os.fspath(path)!r}') from exc
    except OSError as exc:
        raise ValueError(f'path: {os.fspath(path)!r} is not an image Pillow can read'
                         ) from exc
    image = opened.convert('RGB')
    if image_shape is not None:
        image = fit_image(image, image_shape, crop=crop)
    return image


def image_array_from_path(path: Union[str, os.PathLike],
                          image_shape: Optional[Tuple[int, int]] = None, *,
                          crop: bool = False) -> np.ndarray:
    """Load an image file as a ``(1, H, W, 3)`` float32 batch, as eli5 0.16's ``image_from_path``.

    The values are the pixels in [0, 255], channels last, with a batch axis:
    ready for ``keras.applications.<model>.preprocess_input`` and a Keras
    model, as in eli5's Keras image tutorial::

        doc = image_array_from_path(path, image_shape=model.input_shape[1:3])
        doc = keras.applications.resnet50.preprocess_input(doc)
        eli5.show_prediction(model, doc)

    Parameters
    ----------
    path : str or os.PathLike
    image_shape : (height, width), optional
        Resize to this size (see :func:`fit_image`).
    crop : bool
        Keep the aspect ratio and cut out the centre (default False: squash
        to ``image_shape``, as eli5 0.16 does).

    Returns
    -------
    numpy.ndarray
        ``(1, height, width, 3)`` float32 in [0, 255].  For a PyTorch model,
        take ``np.moveaxis(doc, -1, 1)`` after scaling and normalising.
    """
    image = image_from_path(path, image_shape, crop=crop)
    return np.asarray(image, dtype=np.float32)[np.newaxis]


def resize_heatmap_to(heatmap: np.ndarray, size: Tuple[int, int],
                      resample: int = Image.Resampling.BILINEAR) -> np.ndarray:
    """Resize a 2-D heatmap to ``size`` = (width, height), keeping float values.

    Parameters
    ----------
    heatmap : numpy.ndarray
        ``(h, w)`` float map.
    size : (width, height)
    resample : int
        A Pillow filter.

    Returns
    -------
    numpy.ndarray
        ``(height, width)`` float32.
    """
    heatmap = np.asarray(heatmap, dtype=np.float32)
    if heatmap.ndim != 2:
        raise ValueError(f'heatmap must be 2-D to resize onto an image; got shape {heatmap.shape}')
    width, height = int(size[0]), int(size[1])
    if heatmap.shape == (height, width):
        return heatmap
    resized = Image.fromarray(heatmap, mode='F').resize((width, height), resample=resample)
    low, high = float(heatmap.min()), float(heatmap.max())
    return np.clip(np.asarray(resized, dtype=np.float32), low, high)
