"""Documents that are almost right, and what to tell the user about them.

Every framework adapter meets the same near misses: an image without its
batch axis, an image in the other framework's channel order, a PIL image
where an array was expected, raw ``uint8`` pixels, token ids outside the
embedding's vocabulary, a picture (``image=``) of another size than the
document.  The advice is written here once, so it reads the same whatever
the framework; the adapters decide when it applies.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

from PIL import Image

__all__ = ['IMAGE_CHANNELS', 'unbatched_image_layout', 'missing_batch_advice',
           'pil_doc_error', 'integer_pixels_advice', 'check_token_ids', 'check_image_sizes']

#: Channel counts of images: grey, RGB, RGBA.
IMAGE_CHANNELS = (1, 3, 4)

#: Smallest side of an array read as one image (smaller: a signal or a table).
_MIN_SIDE = 8


def unbatched_image_layout(shape: Sequence[int]) -> Optional[str]:
    """``'CHW'`` or ``'HWC'`` when a rank-3 ``shape`` looks like one image, else None.

    An image has 1, 3 or 4 channels and both spatial sides of at least 8
    pixels; when both readings fit (a tiny ``(3, 8, 3)``), none is chosen.
    """
    if len(shape) != 3:
        return None
    chw = shape[0] in IMAGE_CHANNELS and min(shape[1:]) >= _MIN_SIDE
    hwc = shape[-1] in IMAGE_CHANNELS and min(shape[:2]) >= _MIN_SIDE
    if chw == hwc:
        return None
    return 'CHW' if chw else 'HWC'


def missing_batch_advice(shape: Sequence[int], *, channels_first: bool) -> Optional[str]:
    """How to turn one unbatched image of ``shape`` into the batch a model takes.

    Parameters
    ----------
    shape : sequence of int
        The document's shape, as given.
    channels_first : bool
        The framework takes NCHW (PyTorch) rather than NHWC (Keras).

    Returns
    -------
    str or None
        A sentence for an error message, or None when ``shape`` does not look
        like one image.
    """
    layout = unbatched_image_layout(shape)
    if layout is None:
        return None
    shape = tuple(int(size) for size in shape)
    if channels_first and layout == 'CHW':
        return (f'doc {shape} looks like one CHW image without its batch axis: pass '
                'doc[None] (torch: doc.unsqueeze(0)) for a batch of one')
    if channels_first:
        return (f'doc {shape} looks like one HWC image (height, width, channels) without '
                'its batch axis, but PyTorch models take NCHW: pass '
                'doc.permute(2, 0, 1)[None] (numpy: np.moveaxis(doc, -1, 0)[None])')
    if layout == 'HWC':
        return (f'doc {shape} looks like one HWC image without its batch axis: pass '
                'doc[None] (or np.expand_dims(doc, 0)) for a batch of one')
    return (f'doc {shape} looks like one CHW image without its batch axis, but Keras '
            'models take NHWC: pass np.moveaxis(doc, 0, -1)[None]')


def pil_doc_error(*, channels_first: bool) -> TypeError:
    """The error for a PIL image given as ``doc``: how to make the array the model takes.

    A PIL image is not accepted as ``doc``: only the user knows the resizing,
    cropping and normalisation their model was trained with, and an
    explanation of an input the model would never see explains nothing.
    """
    if channels_first:
        convert = ('doc = preprocess(img).unsqueeze(0) with the transform the model was '
                   'trained with (e.g. torchvision weights.transforms()), or '
                   'torch.from_numpy(np.asarray(img, dtype=np.float32) / 255)'
                   '.permute(2, 0, 1)[None] followed by its normalisation')
    else:
        convert = ('doc = preprocess_input(np.asarray(img, dtype="float32")[None]) with the '
                   "model's own preprocessing, or "
                   'eli5_gradcam.image_array_from_path(path, image_shape=...) to load a file')
    return TypeError('doc is a PIL image, but the model takes an array with a batch axis: '
                     f'{convert}; pass the picture as image=img to draw the heatmap on it')


def integer_pixels_advice(dtype: str) -> str:
    """Advice for integer pixels (``uint8``) that an image model failed on."""
    return (f'doc holds integer pixels ({dtype}) but image models take floats: convert '
            'to float and normalise as the model was trained, e.g. doc.float() / 255 '
            'followed by (doc - mean) / std')


def check_token_ids(low: int, high: int, *, vocabulary: int, layer: str) -> None:
    """Token ids must index the embedding that reads them.

    Parameters
    ----------
    low, high : int
        The smallest and largest id in the document(s).
    vocabulary : int
        Rows of the embedding (``num_embeddings``, ``input_dim``).
    layer : str
        The embedding's name in the model.

    Raises
    ------
    ValueError
        An id below 0 or at least ``vocabulary``.  Some frameworks clamp
        such an index silently (JAX) and others fail deep inside the model;
        this error is the same for all of them.
    """
    if low >= 0 and high < vocabulary:
        return
    bad = low if low < 0 else high
    raise ValueError(f'doc: token id {bad} is outside the vocabulary of the embedding '
                     f'{layer!r}, which has {vocabulary} ids (0 to {vocabulary - 1}); '
                     'encode the text with the vocabulary the model was trained with, '
                     'mapping unknown words to its out-of-vocabulary id')


def check_image_sizes(images: Sequence[object], image_hw: Tuple[int, int]) -> None:
    """Each picture must show what the document shows: its shape, at any scale.

    A picture of the document's aspect ratio (the document itself, or a copy
    enlarged for display) gets the heatmap resized onto it.  A picture of
    another aspect ratio cannot show the same view: the document was cropped
    or squashed from it, and the heatmap would be drawn over the wrong
    pixels, so that is an error.

    Parameters
    ----------
    images : sequence of PIL.Image.Image or None
        The pictures given with ``image=`` / ``images=``.
    image_hw : (int, int)
        The documents' ``(height, width)``.

    Raises
    ------
    ValueError
        A picture whose aspect ratio differs from the document's by more
        than the rounding of a resize.
    """
    height, width = image_hw
    for number, picture in enumerate(images):
        if not isinstance(picture, Image.Image):
            continue
        # a copy scaled by s has sides round(s * side): the cross products differ by
        # at most half the sum of the document's sides
        if abs(picture.width * height - picture.height * width) <= (width + height) / 2:
            continue
        which = 'image' if len(images) == 1 else f'images[{number}]'
        raise ValueError(
            f'{which} is {picture.width}x{picture.height} pixels but doc is {width}x{height}, '
            'another shape: the heatmap covers the doc, so on this picture it would be '
            'stretched over the wrong pixels; pass the picture the model saw, cropped and '
            'resized as doc was (a scaled copy is fine), e.g. '
            f'eli5_gradcam.image_from_path(path, image_shape=({height}, {width}), crop=...)')
