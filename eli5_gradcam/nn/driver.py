"""The one driver every public entry point goes through.

An adapter (``pytorch/``, ``keras/``) implements :class:`Adapter`: the
things only a framework can do.  :func:`explain_documents` does the rest in
the same order for every framework: check the model and the documents,
decide the kind of explanation, capture, build the eli5 explanations.
"""
from __future__ import annotations

from typing import Any, List, Optional, Protocol, Sequence, Tuple

import numpy as np
from eli5.base import Explanation

from .augment import augmented_heatmaps
from .capture import LayerCapture
from .errors import ModelNotSupported
from .explanation import Documents, explain_capture, not_supported
from .guided import GUIDED_METHODS, check_guided_documents
from .kinds import DocumentKind, check_documents, document_kind
from .maps import capture_heatmaps
from .options import ExplainOptions
from .passes import channel_score_pass
from .perturbation import CHANNEL_SCORE_METHODS

__all__ = ['Adapter', 'ModelNotSupported', 'capture_documents', 'explain_documents',
           'explain_one']


class Adapter(Protocol):
    """What a framework adapter provides to :func:`explain_documents`."""

    #: Image documents are NCHW (PyTorch) rather than NHWC (Keras).
    channels_first: bool

    #: Options of :class:`ExplainOptions` this framework does not take.
    unsupported: Tuple[str, ...]

    def name(self, model: Any) -> str:
        """The model's name, for ``Explanation.estimator``."""

    def check_model(self, model: Any, options: ExplainOptions) -> None:
        """Raise TypeError for a non-model, :class:`ModelNotSupported` for a model
        that cannot be explained (empty, unbuilt)."""

    def documents(self, model: Any, docs: Any, options: ExplainOptions
                  ) -> Tuple[Any, Tuple[int, ...]]:
        """The documents as the model takes them (batch first) and the shape of
        the explained input (``options.input_key`` for several inputs)."""

    def as_numpy(self, batch: Any) -> np.ndarray:
        """The explained input as numpy, to draw images and find padding."""

    def padding(self, batch: Any) -> Optional[np.ndarray]:
        """``(batch, length)`` bool, True at padding, where the documents say
        (an ``attention_mask``), else None."""

    def offsets(self, batch: Any) -> Optional[np.ndarray]:
        """``(batch, length, 2)`` token character offsets, where the documents
        carry them (a tokenizer's ``offset_mapping``), else None."""

    def capture(self, model: Any, batch: Any, kind: DocumentKind,
                options: ExplainOptions) -> LayerCapture:
        """One forward pass: the layer's activations, target gradients and scores
        (no backward pass, ``gradients=None``, for the methods in
        :data:`~eli5_gradcam.nn.perturbation.GRADIENT_FREE`)."""

    def masked_scores(self, model: Any, batch: Any, item: int, masks: np.ndarray,
                      kind: DocumentKind, options: ExplainOptions) -> np.ndarray:
        """Score-CAM: the scores ``(n, outputs)`` (as in :meth:`capture`) of
        document ``item`` multiplied by each of the ``n`` masks, which
        broadcast against one document (:func:`~eli5_gradcam.nn.masks.mask_shape`)."""

    def ablated_scores(self, model: Any, batch: Any, item: int, channels: np.ndarray,
                       kind: DocumentKind, options: ExplainOptions, *,
                       whole: bool) -> np.ndarray:
        """Ablation-CAM: the scores ``(n, outputs)`` of document ``item`` with
        channel ``channels[i]`` of the layer's output zeroed in row ``i``
        (``-1``: none).  ``whole=False``: the layers below the explained one
        run once, on the document, and the layer hands on ``n`` ablated
        copies of its output; ``whole=True``: the model runs on ``n`` copies
        of the document (see :mod:`~eli5_gradcam.nn.passes`)."""

    def view(self, batch: Any, items: Sequence[int], docs: np.ndarray) -> Any:
        """Documents ``items`` of ``batch`` with the explained input replaced by
        ``docs`` (numpy, one row per item) and every other input kept
        (``smooth='aug'`` flips and shifts the image of a model of several
        inputs, not its other inputs)."""


def _prepare(adapter: Adapter, model: Any, docs: Any, options: ExplainOptions, *,
             images: Optional[Sequence[Any]], tokens: Optional[Sequence[Any]],
             single: bool, texts: Optional[Sequence[Any]] = None
             ) -> Tuple[Any, DocumentKind, Optional[List[List[str]]], tuple]:
    """Checked model and documents: the framework batch, its kind, its token
    lists, its shape."""
    adapter.check_model(model, options)
    batch, shape = adapter.documents(model, docs, options)
    if single:
        check_documents(shape, kind='other', single=True,
                        channels_first=adapter.channels_first)
    text_given = texts is not None and texts[0] is not None
    kind = document_kind(shape, channels_first=adapter.channels_first,
                         image=images[0] if images else None,
                         tokens=tokens[0] if tokens else ([] if text_given else None))
    token_lists = check_documents(shape, kind=kind.kind, single=single, images=images,
                                  tokens=tokens, texts=texts,
                                  channels_first=adapter.channels_first)
    if options.method in GUIDED_METHODS:
        check_guided_documents(options.method, kind.kind, adapter.as_numpy(batch).dtype)
    if 'aug' in options.smooth and kind.kind != 'image':
        raise ValueError(f"smooth='aug' flips and shifts images; these documents are "
                         f"{kind.kind} documents: use smooth='eigen' or None")
    return batch, kind, token_lists, shape


def _capture(adapter: Adapter, model: Any, batch: Any, shape: tuple, kind: DocumentKind,
             options: ExplainOptions) -> LayerCapture:
    """The adapter's capture, and the extra passes of the methods that need them."""
    capture = adapter.capture(model, batch, kind, options)
    if options.method in CHANNEL_SCORE_METHODS:
        capture = channel_score_pass(adapter, model, batch, shape, kind, options, capture)
    return capture


def _augmented(adapter: Adapter, model: Any, batch: Any, capture: LayerCapture,
               docs: np.ndarray, kind: DocumentKind, options: ExplainOptions) -> np.ndarray:
    """The maps of ``smooth='aug'``: every view through the adapter, averaged."""
    def capture_view(images: np.ndarray, targets: Tuple[int, ...],
                     items: Sequence[int]) -> LayerCapture:
        view_options = options.replace(targets=targets, top_targets=None)
        view = adapter.view(batch, items, images)
        return _capture(adapter, model, view, tuple(images.shape), kind, view_options)

    return augmented_heatmaps(capture, docs, channels_first=adapter.channels_first,
                              heatmaps=lambda one: capture_heatmaps(one, options),
                              capture_view=capture_view)


def capture_documents(adapter: Adapter, model: Any, docs: Any, options: ExplainOptions, *,
                      images: Optional[Sequence[Any]] = None,
                      tokens: Optional[Sequence[Any]] = None) -> LayerCapture:
    """The raw :class:`LayerCapture` of a batch: activations, gradients, scores.

    The same checks and the same passes as :func:`explain_documents`,
    without building explanations (for custom maps and metrics); with
    ``smooth='aug'``, the passes on the documents as given (the other views
    are run only to build maps).
    """
    batch, kind, _, shape = _prepare(adapter, model, docs, options, images=images,
                                     tokens=tokens, single=False)
    return _capture(adapter, model, batch, shape, kind, options)


def explain_documents(adapter: Adapter, model: Any, docs: Any, options: ExplainOptions,
                      *, images: Optional[Sequence[Any]] = None,
                      tokens: Optional[Sequence[Any]] = None,
                      texts: Optional[Sequence[Any]] = None,
                      offsets: Optional[Sequence[Any]] = None,
                      single: bool = False) -> List[Explanation]:
    """Explain a batch of documents with one forward (and backward) pass.

    Parameters
    ----------
    adapter : Adapter
    model : the framework's model
    docs : the documents, batch first
    options : ExplainOptions
    images, tokens : sequence, optional
        One picture / token list per document.
    texts, offsets : sequence, optional
        One original text / ``(length, 2)`` token character offsets per
        document: highlight the text itself (offsets default to the
        documents' ``offset_mapping``, where they carry one).
    single : bool
        :func:`eli5.explain_prediction` (exactly one document).

    Returns
    -------
    list of eli5.base.Explanation
        One per document, in order.
    """
    batch, kind, token_lists, shape = _prepare(adapter, model, docs, options, images=images,
                                               tokens=tokens, single=single, texts=texts)
    capture = _capture(adapter, model, batch, shape, kind, options)
    numpy_docs = None if kind.kind == 'other' else adapter.as_numpy(batch)
    text = kind.kind == 'text'
    given: Any = offsets
    if text and texts is not None and offsets is None:
        given = adapter.offsets(batch)
    documents = Documents(docs=numpy_docs, images=images, tokens=token_lists,
                          channels_first=adapter.channels_first,
                          padding=adapter.padding(batch) if text else None,
                          texts=texts, offsets=given)
    heatmaps = None
    if 'aug' in options.smooth and numpy_docs is not None:
        heatmaps = _augmented(adapter, model, batch, capture, numpy_docs, kind, options)
    return explain_capture(capture, estimator=adapter.name(model), kind=kind.kind,
                           options=options, documents=documents, heatmaps=heatmaps)


def explain_one(adapter: Adapter, model: Any, doc: Any, options: ExplainOptions, *,
                image: Any = None, tokens: Any = None, text: Optional[str] = None,
                offsets: Any = None) -> Explanation:
    """:func:`explain_documents` for one document, with eli5's conventions.

    A model that cannot be explained gives eli5's "not supported"
    explanation; bad arguments raise named errors.
    """
    try:
        return explain_documents(adapter, model, doc, options,
                                 images=None if image is None else [image],
                                 tokens=None if tokens is None else [tokens],
                                 texts=None if text is None else [text],
                                 offsets=None if offsets is None else [offsets],
                                 single=True)[0]
    except ModelNotSupported as exc:
        return not_supported(adapter.name(model), str(exc))
