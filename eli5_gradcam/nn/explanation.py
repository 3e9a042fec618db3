"""Build eli5 explanations from a :class:`~eli5_gradcam.nn.capture.LayerCapture`.

:func:`explain_capture` is the one place where heatmaps become
:class:`eli5.base.Explanation` objects, for every framework.  The kind of
input decides the shape of the result:

* ``'image'``: a 2-D heatmap per target at the layer's resolution and
  ``Explanation.image``, which :func:`eli5.format_as_image` overlays;
* ``'text'``: one weight per token (heatmap resized to the tokens, padding
  removed) and ``weighted_spans`` for eli5's HTML highlighting;
* ``'other'``: the normalised heatmap at the layer's resolution (signals,
  time series, volumes).
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Union

import numpy as np
from eli5.base import Explanation, FeatureWeights, TargetExplanation
from PIL import Image

from .capture import LayerCapture
from .features import fewer_feature_weights, ranked_feature_weights
from .gradcam import METHOD_TITLES, compute_heatmaps, normalize_heatmaps, resolve_method
from .image import doc_to_image, looks_like_image
from .targets import TargetNames, target_labels
from .text import (TokenLayout, as_tokens, padding_mask, resize_heatmap, strip_padding,
                   token_feature_weights, token_layout, weighted_spans)

__all__ = ['KINDS', 'input_kind', 'check_documents', 'explain_capture',
           'position_feature_weights']

#: The kinds of explanation.
KINDS = ('image', 'text', 'other')

#: How many heatmap positions ``format_as_text`` lists for image/other kinds.
TOP_POSITIONS = 10

#: How many of the strongest tokens eli5's HTML lists above highlighted text.
STRONGEST_TOKENS = 5


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


def check_documents(shape: Sequence[int], *, kind: str, single: bool,
                    images: Optional[Sequence[object]] = None,
                    tokens: Optional[Sequence[object]] = None) -> Optional[List[List[str]]]:
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

    Returns
    -------
    list of list of str, or None
        The validated tokens of each document (text kind only).
    """
    batch = int(shape[0])
    if single and batch != 1:
        raise ValueError(f'doc must hold one document (a batch axis of 1); got a batch of '
                         f'{batch} (shape {tuple(shape)}): use '
                         'eli5_gradcam.explain_predictions(model, docs) for many documents')
    if images is not None and len(images) != batch:
        raise ValueError(f'images: got {len(images)} images for {batch} documents')
    if kind != 'text':
        return None
    if tokens is None or len(tokens) != batch:
        raise ValueError(f'tokens: got {0 if tokens is None else len(tokens)} token lists '
                         f'for {batch} documents')
    token_lists = [as_tokens(item) for item in tokens]
    for item in token_lists:
        if len(shape) == 2 and len(item) != shape[1]:
            raise ValueError(f'tokens has {len(item)} tokens but doc has {shape[1]} '
                             f'positions (shape {tuple(shape)}); give one token per '
                             'position (padding included)')
    return token_lists


def _position_name(index: tuple) -> str:
    if len(index) == 1:
        return f'position {index[0]}'
    if len(index) == 2:
        return f'row {index[0]}, col {index[1]}'
    return f'position {tuple(int(i) for i in index)}'


def position_feature_weights(heatmap: np.ndarray, top: int = TOP_POSITIONS) -> FeatureWeights:
    """The heatmap's strongest positions as eli5 feature weights.

    This gives :func:`eli5.format_as_text`, ``format_as_dataframe`` and the
    HTML table something to list for image and signal explanations: where the
    evidence is, as "row r, col c" of the layer's grid.

    Parameters
    ----------
    heatmap : numpy.ndarray
        A normalised map of any rank.
    top : int
        How many positive and negative positions to list.

    Returns
    -------
    eli5.base.FeatureWeights
    """
    shape = np.shape(heatmap)
    return ranked_feature_weights(
        heatmap, lambda i: _position_name(np.unravel_index(i, shape)), top)


def _description(capture: LayerCapture, method: str, relu: bool,
                 counterfactual: bool, kind: str) -> str:
    shape = 'x'.join(str(s) for s in capture.spatial_shape)
    channels = capture.activations.shape[-1]
    parts = [
        f"{METHOD_TITLES[method]} on layer '{capture.layer_name}' "
        f'({shape} positions, {channels} channels), from the gradient of '
        f"each target's {capture.score_name}.",
    ]
    if counterfactual:
        parts.append('Counterfactual: the map shows what lowers the score.')
    if relu:
        parts.append('Only positive evidence is kept (relu); values in [0, 1].')
    else:
        parts.append('Signed map (relu off): negative values lower the score; '
                     'values in [-1, 1].')
    if kind == 'text':
        parts.append('The layer\'s sequence is resized to the tokens.')
    return ' '.join(parts)


def explain_capture(capture: LayerCapture,
                    *,
                    estimator: str,
                    kind: str,
                    docs: Optional[np.ndarray] = None,
                    images: Optional[Sequence[Optional[Image.Image]]] = None,
                    tokens: Optional[Sequence[object]] = None,
                    pad_value: object = None,
                    pad_token: Optional[str] = None,
                    padding: Optional[str] = None,
                    interpolation_kind: str = 'linear',
                    method: str = 'gradcam',
                    relu: bool = True,
                    counterfactual: bool = False,
                    target_names: Optional[TargetNames] = None,
                    is_regression: bool = False,
                    channels_first: Optional[bool] = None) -> List[Explanation]:
    """Turn one capture into one :class:`eli5.base.Explanation` per document.

    Parameters
    ----------
    capture : LayerCapture
        What the adapter computed.
    estimator : str
        Name of the model, for ``Explanation.estimator``.
    kind : {'image', 'text', 'other'}
        See :func:`input_kind`.
    docs : numpy.ndarray, optional
        The inputs (batch first), numpy: used to draw images when ``images``
        is not given and to find padding by ``pad_value``.
    images : sequence of PIL.Image.Image or None, optional
        One picture per document to overlay (``None`` entries: from ``docs``).
    tokens : sequence, optional
        One token list per document (text kind).
    pad_value, pad_token, padding
        Padding to strip from text, see :func:`~eli5_gradcam.nn.text.padding_mask`.
    interpolation_kind : str
        How the layer's sequence is resized to the tokens.
    method, relu, counterfactual
        See :func:`~eli5_gradcam.nn.gradcam.compute_heatmaps`.
    target_names : sequence or mapping, optional
        Names of the outputs.
    is_regression : bool
        The model's single output is a regression value.
    channels_first : bool, optional
        Layout of image ``docs``; guessed when None.

    Returns
    -------
    list of eli5.base.Explanation
    """
    if kind not in KINDS:
        raise ValueError(f'kind must be one of {KINDS}; got {kind!r}')
    method = resolve_method(method)
    spatial_ndim = len(capture.spatial_shape)
    if kind == 'image' and spatial_ndim != 2:
        raise ValueError(f"layer '{capture.layer_name}' gives {spatial_ndim} spatial axes "
                         f'{capture.spatial_shape}; an image explanation needs a layer with '
                         'a 2-D (height x width) output: pass another layer=')
    if kind == 'text' and spatial_ndim != 1:
        raise ValueError(f"layer '{capture.layer_name}' gives {spatial_ndim} spatial axes "
                         f'{capture.spatial_shape}; a text explanation needs a layer with '
                         'a sequence (1-D) output: pass another layer=')
    raw = compute_heatmaps(capture.activations, capture.gradients, method=method,
                           relu=relu, counterfactual=counterfactual)
    batch = raw.shape[0]
    n_outputs = capture.scores.shape[1]
    description = _description(capture, method, relu, counterfactual, kind)
    explanations = []
    for item in range(batch):
        indices = [int(i) for i in capture.targets[item]]
        labels = target_labels(indices, target_names, n_outputs)
        image: Optional[Image.Image] = None
        item_tokens: Optional[List[str]] = None
        layout: Optional[TokenLayout] = None
        if kind == 'text':
            if tokens is None:
                raise ValueError('tokens are required for a text explanation')
            item_tokens = as_tokens(tokens[item])
            heatmaps = resize_heatmap(raw[item], len(item_tokens), interpolation_kind)
            if pad_value is not None or pad_token is not None:
                mask = padding_mask(item_tokens,
                                    doc=None if docs is None else docs[item],
                                    pad_value=pad_value, pad_token=pad_token,
                                    padding=padding)
                item_tokens, heatmaps = strip_padding(item_tokens, heatmaps, mask)
            heatmaps = normalize_heatmaps(heatmaps, spatial_ndim=1, relu=relu)
            layout = token_layout(item_tokens)     # shared by the document's targets
        else:
            heatmaps = normalize_heatmaps(raw[item], spatial_ndim=spatial_ndim, relu=relu)
            if kind == 'image':
                given = images[item] if images is not None else None
                if given is not None:
                    image = given.convert('RGBA') if given.mode != 'RGBA' else given
                elif docs is not None:
                    image = doc_to_image(docs[item:item + 1], channels_first=channels_first)
        targets = []
        for column, (index, label) in enumerate(zip(indices, labels)):
            heatmap = heatmaps[column]
            proba = (None if capture.probabilities is None
                     else float(capture.probabilities[item, index]))
            target: Union[int, str] = label
            if item_tokens is not None:
                features = token_feature_weights(item_tokens, heatmap)
                spans = weighted_spans(item_tokens, heatmap, layout=layout,
                                       other=fewer_feature_weights(features,
                                                                   STRONGEST_TOKENS))
            else:
                features = position_feature_weights(heatmap)
                spans = None
            targets.append(TargetExplanation(
                target=target,
                feature_weights=features,
                proba=proba,
                score=float(capture.scores[item, index]),
                weighted_spans=spans,
                heatmap=heatmap,
            ))
        explanations.append(Explanation(
            estimator=estimator,
            description=description,
            method=METHOD_TITLES[method],
            is_regression=is_regression,
            targets=targets,
            image=image,
        ))
    return explanations
