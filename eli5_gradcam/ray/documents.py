"""One cell of the document column -> one model input (numpy, PIL; no Ray).

A cell is an array (the model input as it is, without the batch axis), the
encoded bytes of an image, or the path of an image file.  Images are decoded
to RGB, resized and scaled as the command line does
(:func:`eli5_gradcam.cli.inputs.image_to_array`), or by the user's callable.
A cell that cannot become an input raises a ``ValueError`` or ``TypeError``
naming ``doc``: the runner records it as that document's error.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Callable, Optional, Tuple, Union

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..cli.inputs import PREPROCESSING, image_to_array

__all__ = ['Decoding', 'decode_document', 'check_preprocess', 'check_image_size']

#: ``preprocess``: a name from :data:`PREPROCESSING` or ``callable(PIL.Image) -> array``.
Preprocess = Union[str, Callable[[Image.Image], Any]]


@dataclass(frozen=True)
class Decoding:
    """How image cells (bytes, paths) become model inputs.

    Attributes
    ----------
    image_size : (int, int), optional
        ``(height, width)`` to resize images to; None keeps their size.
    preprocess : str or callable
        ``'imagenet'`` (ImageNet mean/std on [0, 1]), ``'unit'`` ([0, 1]),
        ``'none'`` ([0, 255]), or a callable from the RGB ``PIL.Image`` to
        the model input (any layout, no batch axis).
    channels_first : bool
        Lay named preprocessing out as ``(3, H, W)`` (PyTorch) rather than
        ``(H, W, 3)`` (Keras).
    """

    image_size: Optional[Tuple[int, int]] = None
    preprocess: Preprocess = 'imagenet'
    channels_first: bool = True


def check_preprocess(preprocess: Any) -> Preprocess:
    """``preprocess`` if valid, else a named TypeError / ValueError."""
    if callable(preprocess):
        return preprocess
    if not isinstance(preprocess, str):
        raise TypeError(f'preprocess must be one of {PREPROCESSING} or a callable '
                        f'(PIL.Image -> array); got {type(preprocess).__name__}')
    if preprocess not in PREPROCESSING:
        raise ValueError(f'preprocess must be one of {PREPROCESSING} or a callable; '
                         f'got {preprocess!r}')
    return preprocess


def check_image_size(image_size: Any) -> Optional[Tuple[int, int]]:
    """``image_size`` as ``(height, width)`` ints, None, or a named error."""
    if image_size is None:
        return None
    if (not isinstance(image_size, (tuple, list)) or len(image_size) != 2 or
            not all(isinstance(side, (int, np.integer)) and not isinstance(side, bool)
                    for side in image_size)):
        raise TypeError(f'image_size must be (height, width) ints or None; got {image_size!r}')
    if min(image_size) < 1:
        raise ValueError(f'image_size must be positive; got {tuple(image_size)}')
    return int(image_size[0]), int(image_size[1])


def _open_image(cell: Union[bytes, str]) -> Image.Image:
    try:
        if isinstance(cell, bytes):
            with Image.open(io.BytesIO(cell)) as opened:
                return opened.convert('RGB')
        with Image.open(cell) as opened:
            return opened.convert('RGB')
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        what = (f'{len(cell)} bytes' if isinstance(cell, bytes) else f'file {cell!r}')
        raise ValueError(f'doc: cannot decode an image from {what}: '
                         f'{type(exc).__name__}: {exc}') from exc


def _image_input(image: Image.Image, decoding: Decoding) -> np.ndarray:
    if decoding.image_size is not None:
        height, width = decoding.image_size
        image = image.resize((width, height), resample=Image.Resampling.BILINEAR)
    if callable(decoding.preprocess):
        return _as_numbers(decoding.preprocess(image), 'preprocess(image)')
    return image_to_array(image, preprocess=decoding.preprocess,
                          channels_first=decoding.channels_first)


def _as_numbers(value: Any, what: str) -> np.ndarray:
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as exc:   # ragged nested lists
        raise ValueError(f'doc: {what} is not an array of numbers: {exc}') from exc
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise TypeError(f'doc: {what} must hold numbers; got dtype {array.dtype}')
    if array.ndim == 0:
        raise ValueError(f'doc: {what} is a scalar; a document is an array without the '
                         'batch axis')
    return array


def decode_document(cell: Any, decoding: Decoding) -> np.ndarray:
    """The model input for one cell of the document column, without the batch axis.

    Parameters
    ----------
    cell : numpy.ndarray, list, bytes or str
        An array (used as it is), the encoded bytes of an image, or an image
        file's path.
    decoding : Decoding

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError, TypeError
        Naming ``doc``: a missing cell, bytes or a file Pillow cannot
        decode, an array that is not numbers.
    """
    if cell is None:
        raise ValueError('doc is missing (None)')
    if isinstance(cell, (bytes, str)):
        return _image_input(_open_image(cell), decoding)
    return _as_numbers(cell, f'the {type(cell).__name__} cell')
