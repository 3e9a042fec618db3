"""The kind of explanation a batch of documents asks for, decided once for every framework.

``tokens=`` gives a text explanation, ``image=`` (or an image-shaped
document) an image explanation, anything else an ``'other'`` one (signals,
time series, volumes).  The kind fixes how many spatial axes the explained
layer must have: 2 for images, 1 for text, ``rank - 2`` (at least 1) else.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from PIL import Image

from .doc_checks import check_image_sizes, missing_batch_advice
from .image import looks_like_image
from .text import as_tokens

__all__ = ['KINDS', 'DocumentKind', 'input_kind', 'document_kind', 'check_documents']

#: The kinds of explanation.
KINDS = ('image', 'text', 'other')


@dataclass(frozen=True)
class DocumentKind:
    """What the documents ask of the explained layer.

    Attributes
    ----------
    kind : {'image', 'text', 'other'}
    spatial_ndim : int
        Spatial (or sequence) axes the layer's output must have.
    image_hw : (int, int), optional
        ``(height, width)`` of image documents.
    """

    kind: str
    spatial_ndim: int
    image_hw: Optional[Tuple[int, int]] = None


def input_kind(doc_shape: Sequence[int], *, image: object = None,
               tokens: object = None) -> str:
    """Decide the kind of explanation from the arguments and the doc's shape.

    Parameters
    ----------
    doc_shape : sequence of int
        Shape of the document, batch axis included.
    image : PIL.Image.Image, optional
        Given: an image explanation.
    tokens : list of str, optional
        Given: a text explanation.

    Returns
    -------
    str
        ``'image'``, ``'text'`` or ``'other'``.
    """
    if tokens is not None and image is not None:
        raise ValueError('pass either image= (an image model) or tokens= (a text model), '
                         'not both')
    if tokens is not None:
        return 'text'
    if image is not None:
        if not isinstance(image, Image.Image):
            raise TypeError('image must be a PIL.Image.Image (the picture to draw the '
                            f'heatmap on); got {type(image).__name__}')
        return 'image'
    return 'image' if looks_like_image(tuple(doc_shape)) else 'other'


def document_kind(shape: Sequence[int], *, channels_first: bool, image: object = None,
                  tokens: object = None) -> DocumentKind:
    """The :class:`DocumentKind` of documents of ``shape`` (batch first).

    Parameters
    ----------
    shape : sequence of int
    channels_first : bool
        Image layout of the framework: NCHW (PyTorch) or NHWC (Keras).
    image, tokens
        The first document's picture and tokens, see :func:`input_kind`.

    Returns
    -------
    DocumentKind
    """
    shape = tuple(int(size) for size in shape)
    kind = input_kind(shape, image=image, tokens=tokens)
    if kind == 'text':
        return DocumentKind('text', 1)
    if kind == 'image' and len(shape) == 4:
        height, width = shape[2:4] if channels_first else shape[1:3]
        return DocumentKind('image', 2, (height, width))
    if kind == 'image':
        layout = 'NCHW image batch (1, channels, height, width)' if channels_first else (
            'NHWC image batch (1, height, width, channels)')
        raise ValueError(f'doc must be an {layout} when image= is given; got shape {shape}')
    return DocumentKind('other', max(len(shape) - 2, 1))


def check_documents(shape: Sequence[int], *, kind: str, single: bool,
                    images: Optional[Sequence[object]] = None,
                    tokens: Optional[Sequence[object]] = None,
                    texts: Optional[Sequence[object]] = None,
                    channels_first: bool = False) -> Optional[List[List[str]]]:
    """Check the per-document arguments against the batch; the token lists for text.

    Parameters
    ----------
    shape : sequence of int
        Shape of the documents, batch first.
    kind : {'image', 'text', 'other'}
    single : bool
        :func:`eli5.explain_prediction` (one document) rather than a batch.
    images : sequence, optional
        One picture per document.
    tokens : sequence, optional
        One token list per document.
    texts : sequence, optional
        One original text per document (then ``tokens`` may be left out: the
        offsets give them).
    channels_first : bool
        Image layout of the framework (NCHW rather than NHWC), for the advice
        on an image without its batch axis and the size of the pictures.

    Returns
    -------
    list of list of str, or None
        The validated tokens of each document (text kind only).
    """
    batch = int(shape[0])
    if single and batch != 1:
        advice = missing_batch_advice(shape, channels_first=channels_first)
        if advice is not None:
            raise ValueError(f'doc must hold one document (a batch axis of 1); {advice}')
        raise ValueError(f'doc must hold one document (a batch axis of 1); got a batch of '
                         f'{batch} (shape {tuple(shape)}): use '
                         'eli5_gradcam.explain_predictions(model, docs) for many documents')
    if images is not None and len(images) != batch:
        raise ValueError(f'images: got {len(images)} images for {batch} documents')
    if texts is not None and len(texts) != batch:
        raise ValueError(f'texts: got {len(texts)} texts for {batch} documents')
    if kind == 'image' and images is not None and len(shape) == 4:
        first = 2 if channels_first else 1
        check_image_sizes(images, (int(shape[first]), int(shape[first + 1])))
    if kind != 'text':
        return None
    if tokens is None and texts is not None:
        return None
    if tokens is None or len(tokens) != batch:
        raise ValueError(f'tokens: got {0 if tokens is None else len(tokens)} token lists '
                         f'for {batch} documents')
    if len(shape) > 3:
        raise ValueError(f'tokens: doc has shape {tuple(shape)}, not token ids (1, length) or '
                         'token vectors (1, length, features); tokens= is for text models')
    token_lists = [as_tokens(item) for item in tokens]
    for item in token_lists:
        if len(shape) == 2 and len(item) != shape[1]:
            raise ValueError(f'tokens has {len(item)} tokens but doc has {shape[1]} '
                             f'positions (shape {tuple(shape)}); give one token per '
                             'position (padding included)')
    return token_lists
