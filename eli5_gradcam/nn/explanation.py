"""Build eli5 explanations from a :class:`~eli5_gradcam.nn.capture.LayerCapture`.

:func:`explain_capture` is the one place where heatmaps become
:class:`eli5.base.Explanation` objects, for every framework.  The kind of
input decides the shape of the result, one builder per kind:

* ``'image'``: a 2-D heatmap per target at the layer's resolution and
  ``Explanation.image``, which :func:`eli5.format_as_image` overlays;
* ``'text'``: one weight per token (heatmap resized to the tokens, padding
  removed) and ``weighted_spans`` for eli5's HTML highlighting;
* ``'other'``: the normalised heatmap at the layer's resolution (signals,
  time series, volumes).

With several layers (``layer=[...]``) the map is on the finest layer's grid;
the guided methods give image maps at the input's pixels.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Sequence, Tuple

import attr
import numpy as np
from eli5.base import Explanation
from PIL import Image

from .capture import LayerCapture
from .description import describe
from .gradcam import METHOD_TITLES, normalize_heatmaps
from .image import doc_to_image
from .kinds import KINDS
from .maps import capture_heatmaps
from .options import ExplainOptions
from .targets import target_labels
from .target_explanation import GradCAMTarget, memoised_layout, position_target, text_target
from .padding import padding_mask, strip_padding
from .text import TokenLayout, as_tokens, resize_heatmap
from .words import check_offsets, word_layout, word_weights, words_from_offsets

__all__ = ['GradCAMExplanation', 'explain_capture', 'not_supported']

#: A document's tokens and their layout (see :func:`_text_maps`).
TextLayout = Tuple[List[str], Callable[[], TokenLayout]]


@attr.s(slots=True, init=False, eq=True)
class GradCAMExplanation(Explanation):
    """An :class:`eli5.base.Explanation` that also says which layer was explained.

    Every eli5 formatter takes it as an ``Explanation``.

    Attributes
    ----------
    layer : str
        The explained layer, named as the user's model names it (a dotted
        name from ``named_modules()`` for PyTorch, a layer path for Keras):
        pass it back as ``layer=`` to explain the same layer again.  Several
        layers (``layer=[...]``) are joined by ``'+'``, ``'layer3+layer4'``,
        which ``layer=`` takes back too.  None for
        ``method='guided-backprop'``, which explains no layer.
    layers : tuple of str
        The explained layers, one name each, in the order given (one for a
        single layer, none for ``'guided-backprop'``).
    """

    layer: Optional[str] = attr.ib(default=None)
    layers: Tuple[str, ...] = attr.ib(default=())

    def __init__(self, *args: Any, layer: Optional[str] = None,
                 layers: Optional[Sequence[str]] = None, **kwargs: Any) -> None:
        Explanation.__init__(self, *args, **kwargs)
        self.layers = tuple(layers) if layers is not None else (
            () if layer is None else (layer,))
        self.layer = layer if layer is not None or not self.layers else '+'.join(self.layers)


def not_supported(estimator: str, reason: str) -> Explanation:
    """eli5's answer for a model it cannot explain: an ``Explanation`` with ``error``.

    eli5 0.16 (and its test suite) expect ``error`` to say that the estimator
    is not supported; ``reason`` says why.
    """
    return Explanation(estimator, error=f'model {estimator!r} is not supported by '
                                        f'Grad-CAM: {reason}')


@dataclass(frozen=True)
class Documents:
    """The inputs of one batch, as the builders need them.

    Attributes
    ----------
    docs : numpy.ndarray, optional
        The documents, batch first: used to draw images when ``images`` is
        not given and to find padding by ``pad_value``.
    images : sequence of PIL.Image.Image or None, optional
        One picture per document to overlay (``None`` entries: from ``docs``).
    tokens : sequence, optional
        One token list per document (text kind).
    channels_first : bool, optional
        Layout of image ``docs``; guessed when None.
    padding : numpy.ndarray, optional
        ``(batch, length)`` bool, True at padding (from an ``attention_mask``):
        removed from text explanations.
    texts : sequence of str or None, optional
        The original text of each document: with ``offsets``, the
        explanation highlights it (see :mod:`.words`).
    offsets : sequence, optional
        Each document's ``(length, 2)`` character offsets of its tokens.
    """

    docs: Optional[np.ndarray] = None
    images: Optional[Sequence[Optional[Image.Image]]] = None
    tokens: Optional[Sequence[object]] = None
    channels_first: Optional[bool] = None
    padding: Optional[np.ndarray] = None
    texts: Optional[Sequence[Optional[str]]] = None
    offsets: Optional[Sequence[Any]] = None


def _image_of(documents: Documents, item: int) -> Optional[Image.Image]:
    given = documents.images[item] if documents.images is not None else None
    if given is not None:
        return given.convert('RGBA') if given.mode != 'RGBA' else given
    if documents.docs is not None:
        return doc_to_image(documents.docs[item:item + 1],
                            channels_first=documents.channels_first)
    return None


def _item(values: Any, item: int) -> Any:
    return None if values is None else values[item]


def _text_maps(raw: np.ndarray, documents: Documents, item: int, options: ExplainOptions
               ) -> Tuple[np.ndarray, List[str], Callable[[], TokenLayout]]:
    """One document's maps on its tokens (or the words of its text), padding removed,
    and their layout (computed when first asked for)."""
    text, offsets = _item(documents.texts, item), _item(documents.offsets, item)
    tokens = _item(documents.tokens, item)
    if text is not None and offsets is None:
        raise ValueError('text= needs the tokens\' character offsets: pass offsets= (a fast '
                         "tokenizer's offset_mapping) or a doc mapping with 'offset_mapping'")
    if tokens is None and text is None:
        raise ValueError('tokens are required for a text explanation')
    if tokens is not None:
        tokens = as_tokens(tokens)
    if text is not None:
        length = len(tokens) if tokens is not None else (
            np.shape(documents.docs[item])[-1] if documents.docs is not None
            else np.shape(offsets)[-2])
        offsets = check_offsets(offsets, int(length), text)
        if tokens is None:
            tokens = [text[start:end] for start, end in offsets.tolist()]
    heatmaps = resize_heatmap(raw, len(tokens), options.interpolation_kind)
    mask = np.zeros(len(tokens), dtype=bool)
    if documents.padding is not None:
        given = np.asarray(documents.padding[item]).reshape(-1)
        if given.shape[0] != len(tokens):
            raise ValueError(f'tokens: document {item} has {len(tokens)} tokens but its '
                             f'attention_mask has {given.shape[0]} positions')
        mask |= given
    if options.pad_value is not None or options.pad_token is not None:
        mask |= padding_mask(tokens, doc=_item(documents.docs, item),
                             pad_value=options.pad_value, pad_token=options.pad_token,
                             padding=options.padding)
    if text is not None:
        words = words_from_offsets(text, offsets, mask)
        heatmaps = normalize_heatmaps(word_weights(heatmaps, words), spatial_ndim=1,
                                      relu=options.relu)
        strings, layout = word_layout(text, words)
        return heatmaps, strings, lambda: layout
    if mask.any():
        tokens, heatmaps = strip_padding(tokens, heatmaps, mask)
    heatmaps = normalize_heatmaps(heatmaps, spatial_ndim=1, relu=options.relu)
    return heatmaps, tokens, memoised_layout(tokens)


def _target_explanation(capture: LayerCapture, item: int, index: int, label: Any,
                        heatmap: np.ndarray, text: Optional[TextLayout]) -> GradCAMTarget:
    """One target of one document: scores, heatmap and (built when read) its tables."""
    proba = (None if capture.probabilities is None or index >= capture.n_outputs
             else float(capture.probabilities[item, index]))
    score = float(capture.scores[item, index])
    if text is not None:
        return text_target(label, heatmap, text[0], text[1], proba=proba, score=score)
    return position_target(label, heatmap, proba=proba, score=score)


def _check_layer_rank(capture: LayerCapture, kind: str) -> None:
    wanted = {'image': (2, 'a 2-D (height x width)'), 'text': (1, 'a sequence (1-D)')}
    for arrays in capture.layers:
        spatial_ndim = len(arrays.spatial_shape)
        if kind in wanted and spatial_ndim != wanted[kind][0]:
            raise ValueError(f"layer '{arrays.layer_name}' gives {spatial_ndim} spatial axes "
                             f'{arrays.spatial_shape}; {"an" if kind == "image" else "a"} '
                             f'{kind} explanation needs a layer with {wanted[kind][1]} '
                             'output: pass another layer=')


def _explained_layers(capture: LayerCapture, options: ExplainOptions) -> Tuple[str, ...]:
    return () if options.method == 'guided-backprop' else capture.layer_names


def explain_capture(capture: LayerCapture,
                    *,
                    estimator: str,
                    kind: str,
                    options: ExplainOptions = ExplainOptions(),
                    documents: Documents = Documents(),
                    heatmaps: Optional[np.ndarray] = None) -> List[Explanation]:
    """Turn one capture into one :class:`GradCAMExplanation` per document.

    Parameters
    ----------
    capture : LayerCapture
        What the adapter computed.
    estimator : str
        Name of the model, for ``Explanation.estimator``.
    kind : {'image', 'text', 'other'}
        See :func:`~eli5_gradcam.nn.kinds.input_kind`.
    options : ExplainOptions
        ``method``, ``relu``, ``counterfactual``, ``target_names``, padding
        and interpolation are read from it.
    documents : Documents
        The batch's documents, pictures and tokens.
    heatmaps : numpy.ndarray, optional
        The unnormalised ``(batch, targets, *spatial)`` maps, when computed
        already (``smooth='aug'``); default:
        :func:`~eli5_gradcam.nn.maps.capture_heatmaps` of ``capture``.

    Returns
    -------
    list of GradCAMExplanation
    """
    if kind not in KINDS:
        raise ValueError(f'kind must be one of {KINDS}; got {kind!r}')
    _check_layer_rank(capture, kind)
    raw = capture_heatmaps(capture, options) if heatmaps is None else heatmaps
    description = describe(capture, options, kind)
    explanations: List[Explanation] = []
    for item in range(raw.shape[0]):
        indices = [int(i) for i in capture.targets[item]]
        labels = target_labels(indices, options.target_names, capture.n_outputs,
                               capture.function_names)
        image: Optional[Image.Image] = None
        text: Optional[TextLayout] = None
        if kind == 'text':
            heatmaps, tokens, layout = _text_maps(raw[item], documents, item, options)
            text = (tokens, layout)
        else:
            heatmaps = normalize_heatmaps(raw[item], spatial_ndim=raw.ndim - 2,
                                          relu=options.relu)
            image = _image_of(documents, item) if kind == 'image' else None
        targets = [_target_explanation(capture, item, index, label, heatmaps[column], text)
                   for column, (index, label) in enumerate(zip(indices, labels))]
        explanations.append(GradCAMExplanation(
            estimator=estimator, description=description,
            method=METHOD_TITLES[options.method], is_regression=capture.is_regression,
            targets=targets, image=image, layers=_explained_layers(capture, options)))
    return explanations
