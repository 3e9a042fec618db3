"""The one driver every public entry point goes through.

An adapter (``pytorch/``, ``keras/``) implements :class:`Adapter`: the four
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

__all__ = ['Adapter', 'ModelNotSupported', 'capture_documents', 'explain_documents',
           'explain_one']


class Adapter(Protocol):
    """What a framework adapter provides to :func:`explain_documents`."""

    #: Image documents are NCHW (PyTorch) rather than NHWC (Keras).
    channels_first: bool

    def name(self, model: Any) -> str:
        """The model's name, for ``Explanation.estimator``."""

    def check_model(self, model: Any, options: ExplainOptions) -> None:
        """Raise TypeError for a non-model, :class:`ModelNotSupported` for a model
        that cannot be explained (empty, unbuilt)."""

    def documents(self, model: Any, docs: Any) -> Tuple[Any, Tuple[int, ...]]:
        """The documents as the model takes them (batch first) and their shape."""

    def as_numpy(self, batch: Any) -> np.ndarray:
        """The documents as numpy, to draw images and find padding."""

    def capture(self, model: Any, batch: Any, kind: DocumentKind,
                options: ExplainOptions) -> LayerCapture:
        """One forward pass: the layer's activations, target gradients and scores."""


def _prepare(adapter: Adapter, model: Any, docs: Any, options: ExplainOptions, *,
             images: Optional[Sequence[Any]], tokens: Optional[Sequence[Any]],
             single: bool) -> Tuple[Any, DocumentKind, Optional[List[List[str]]]]:
    """Checked model and documents: the framework batch, its kind, its token lists."""
    adapter.check_model(model, options)
    batch, shape = adapter.documents(model, docs)
    if single:
        check_documents(shape, kind='other', single=True)
    kind = document_kind(shape, channels_first=adapter.channels_first,
                         image=images[0] if images else None,
                         tokens=tokens[0] if tokens else None)
    token_lists = check_documents(shape, kind=kind.kind, single=single, images=images,
                                  tokens=tokens)
    if options.method in GUIDED_METHODS:
        check_guided_documents(options.method, kind.kind, adapter.as_numpy(batch).dtype)
    if 'aug' in options.smooth and kind.kind != 'image':
        raise ValueError(f"smooth='aug' flips and shifts images; these documents are "
                         f"{kind.kind} documents: use smooth='eigen' or None")
    return batch, kind, token_lists


def _augmented(adapter: Adapter, model: Any, capture: LayerCapture, docs: np.ndarray,
               kind: DocumentKind, options: ExplainOptions) -> np.ndarray:
    """The maps of ``smooth='aug'``: every view through the adapter, averaged."""
    def capture_view(images: np.ndarray, targets: Tuple[int, ...]) -> LayerCapture:
        view_options = options.replace(targets=targets, top_targets=None)
        return adapter.capture(model, adapter.documents(model, images)[0], kind, view_options)

    return augmented_heatmaps(capture, docs, channels_first=adapter.channels_first,
                              heatmaps=lambda one: capture_heatmaps(one, options),
                              capture_view=capture_view)


def capture_documents(adapter: Adapter, model: Any, docs: Any, options: ExplainOptions, *,
                      images: Optional[Sequence[Any]] = None,
                      tokens: Optional[Sequence[Any]] = None) -> LayerCapture:
    """The raw :class:`LayerCapture` of a batch: activations, gradients, scores.

    The same checks and the same one pass as :func:`explain_documents`,
    without building explanations (for custom maps and metrics); with
    ``smooth='aug'``, the pass on the documents as given (the other views
    are run only to build maps).
    """
    batch, kind, _ = _prepare(adapter, model, docs, options, images=images, tokens=tokens,
                              single=False)
    return adapter.capture(model, batch, kind, options)


def explain_documents(adapter: Adapter, model: Any, docs: Any, options: ExplainOptions,
                      *, images: Optional[Sequence[Any]] = None,
                      tokens: Optional[Sequence[Any]] = None,
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
    single : bool
        :func:`eli5.explain_prediction` (exactly one document).

    Returns
    -------
    list of eli5.base.Explanation
        One per document, in order.
    """
    batch, kind, token_lists = _prepare(adapter, model, docs, options, images=images,
                                        tokens=tokens, single=single)
    capture = adapter.capture(model, batch, kind, options)
    numpy_docs = None if kind.kind == 'other' else adapter.as_numpy(batch)
    documents = Documents(docs=numpy_docs, images=images, tokens=token_lists,
                          channels_first=adapter.channels_first)
    heatmaps = None
    if 'aug' in options.smooth and numpy_docs is not None:
        heatmaps = _augmented(adapter, model, capture, numpy_docs, kind, options)
    return explain_capture(capture, estimator=adapter.name(model), kind=kind.kind,
                           options=options, documents=documents, heatmaps=heatmaps)


def explain_one(adapter: Adapter, model: Any, doc: Any, options: ExplainOptions, *,
                image: Any = None, tokens: Any = None) -> Explanation:
    """:func:`explain_documents` for one document, with eli5's conventions.

    A model that cannot be explained gives eli5's "not supported"
    explanation; bad arguments raise named errors.
    """
    try:
        return explain_documents(adapter, model, doc, options,
                                 images=None if image is None else [image],
                                 tokens=None if tokens is None else [tokens], single=True)[0]
    except ModelNotSupported as exc:
        return not_supported(adapter.name(model), str(exc))
