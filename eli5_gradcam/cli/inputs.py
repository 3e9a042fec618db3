"""CLI inputs: image files, folders of images and ``.npy`` arrays."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

from ..nn.image import fit_image

__all__ = ['IMAGE_SUFFIXES', 'PREPROCESSING', 'Document', 'expand_inputs', 'load_document',
           'image_to_array']

#: File endings taken from a folder (any file named directly is tried with Pillow).
IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.gif', '.tif', '.tiff', '.webp', '.ppm')

PREPROCESSING = ('imagenet', 'unit', 'none')
_MEAN = np.array([0.485, 0.456, 0.406])
_STD = np.array([0.229, 0.224, 0.225])


@dataclass
class Document:
    """One input ready for a model: the array (batch axis of 1) and its picture."""

    path: Path
    array: np.ndarray
    image: Optional[Image.Image]


def expand_inputs(inputs: Sequence[str]) -> List[Path]:
    """Files named, with folders replaced by the images inside them (sorted)."""
    paths: List[Path] = []
    for name in inputs:
        path = Path(name)
        if path.is_dir():
            found = sorted(p for p in path.iterdir()
                           if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES + ('.npy',))
            if not found:
                raise ValueError(f'input folder {name!r} holds no images or .npy files')
            paths.extend(found)
        elif path.is_file():
            paths.append(path)
        else:
            raise ValueError(f'input {name!r}: no such file or folder')
    return paths


def _pixels(image: Image.Image, preprocess: str) -> np.ndarray:
    values = np.asarray(image, dtype=np.float64)
    if preprocess == 'none':
        return values
    values = values / 255.0
    if preprocess == 'imagenet':
        values = (values - _MEAN) / _STD
    return values


def load_document(path: Path, *, size: Optional[Tuple[int, int]], preprocess: str,
                  channels_first: bool, crop: bool = False) -> Document:
    """Read one input file.

    Parameters
    ----------
    path : pathlib.Path
        An image Pillow can open, or a ``.npy`` array used as the model input
        as it is (so saved with its batch axis of 1).
    size : (height, width), optional
        Resize images to this size.
    crop : bool
        Keep the aspect ratio and cut out the centre, rather than squash the
        image to ``size`` (see :func:`eli5_gradcam.nn.image.fit_image`).
    preprocess : {'imagenet', 'unit', 'none'}
        Pixel scaling: ImageNet mean/std on [0, 1], [0, 1], or raw [0, 255].
    channels_first : bool
        Lay images out NCHW (PyTorch) rather than NHWC (Keras).

    Returns
    -------
    Document
    """
    if path.suffix.lower() == '.npy':
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ValueError(f'input {str(path)!r} is not a readable .npy array: {exc}') from exc
        return Document(path, array, None)
    try:
        with Image.open(path) as opened:
            image = opened.convert('RGB')
    except OSError as exc:
        raise ValueError(f'input {str(path)!r} is not an image Pillow can read') from exc
    if size is not None:
        image = fit_image(image, size, crop=crop)
    array = image_to_array(image, preprocess=preprocess, channels_first=channels_first)
    return Document(path, array[np.newaxis], image)


def image_to_array(image: Image.Image, *, preprocess: str, channels_first: bool) -> np.ndarray:
    """An RGB picture as one model input, without the batch axis.

    Parameters
    ----------
    image : PIL.Image.Image
        An RGB image, already at the model's size.
    preprocess : {'imagenet', 'unit', 'none'}
        See :func:`load_document`.
    channels_first : bool
        ``(3, H, W)`` (PyTorch) rather than ``(H, W, 3)`` (Keras).

    Returns
    -------
    numpy.ndarray
        float32.
    """
    pixels = _pixels(image, preprocess).astype(np.float32)
    return pixels.transpose(2, 0, 1) if channels_first else pixels
