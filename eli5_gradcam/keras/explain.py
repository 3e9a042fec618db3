"""``explain_prediction_keras``: the Keras entry point eli5 dispatches to.

It only builds the options and hands them to the one driver,
:func:`~eli5_gradcam.nn.driver.explain_documents`, with the Keras adapter:
the framework work is :func:`~eli5_gradcam.keras.capture.capture_keras`.
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
from eli5.base import Explanation

from ..nn.capture import LayerCapture
from ..nn.driver import capture_documents, explain_documents, explain_one
from ..nn.errors import ModelNotSupported
from ..nn.kinds import DocumentKind
from ..nn.options import ExplainOptions, with_options_signature
from ..nn.perturbation import GRADIENT_FREE
from .capture import capture_keras
from .predict import predict_scores
from .inputs import Docs, KerasInputs, explained
from .layers import sublayers
from .multi_input import keras_inputs
from .passes import ablated_scores, forward_capture, masked_scores

__all__ = ['KERAS', 'KerasAdapter', 'explain_prediction_keras', 'explain_batch_keras',
           'capture_batch']

#: Options the Keras adapter does not take.
UNSUPPORTED: Tuple[str, ...] = ('reshape',)


class KerasAdapter:
    """The framework work of an explanation, for :func:`~eli5_gradcam.nn.driver.explain_documents`."""

    channels_first = False
    unsupported: Tuple[str, ...] = UNSUPPORTED

    def name(self, model: Any) -> str:
        """The model's name."""
        return str(getattr(model, 'name', type(model).__name__))

    def check_model(self, model: Any, options: ExplainOptions) -> None:
        """A built Keras model with layers, or :class:`ModelNotSupported`."""
        if not getattr(model, 'built', True):
            raise ModelNotSupported('the model is not built (it has no weights yet): call '
                                    'it on data, or load trained weights, before explaining it')
        if not sublayers(model):
            raise ModelNotSupported('the model has no layers')

    def documents(self, model: Any, docs: Any, options: ExplainOptions
                  ) -> Tuple[Docs, Tuple[int, ...]]:
        """One numpy array, or every input of a model of several; see
        :func:`.multi_input.keras_inputs`."""
        batch = keras_inputs(model, docs, options.input_key)
        return batch, tuple(explained(batch).shape)

    def as_numpy(self, batch: Any) -> np.ndarray:
        """The explained input (numpy already)."""
        return np.asarray(explained(batch))

    def padding(self, batch: Any) -> Optional[np.ndarray]:
        """Padding positions from the documents' ``attention_mask``."""
        return batch.padding() if isinstance(batch, KerasInputs) else None

    def offsets(self, batch: Any) -> Optional[np.ndarray]:
        """The documents' ``offset_mapping``."""
        return batch.offsets if isinstance(batch, KerasInputs) else None

    def capture(self, model: Any, batch: Any, kind: DocumentKind,
                options: ExplainOptions) -> LayerCapture:
        """See :func:`.capture.capture_keras`; :func:`.passes.forward_capture`
        (no backward pass) for the gradient-free methods."""
        if options.method in GRADIENT_FREE:
            return forward_capture(model, batch, kind, options)
        return capture_keras(model, batch, kind, options)

    def view(self, batch: Any, items: Sequence[int], docs: np.ndarray) -> Docs:
        """Documents ``items`` with the explained input replaced by ``docs``."""
        array = np.asarray(docs, dtype=explained(batch).dtype)
        return batch.rows_with(items, array) if isinstance(batch, KerasInputs) else array

    def masked_scores(self, model: Any, batch: Any, item: int, masks: np.ndarray,
                      kind: DocumentKind, options: ExplainOptions) -> np.ndarray:
        """See :func:`.passes.masked_scores`."""
        return masked_scores(model, batch, item, masks, kind, options)

    def ablated_scores(self, model: Any, batch: Any, item: int, channels: np.ndarray,
                       kind: DocumentKind, options: ExplainOptions, *,
                       whole: bool) -> np.ndarray:
        """See :func:`.passes.ablated_scores`."""
        return ablated_scores(model, batch, item, channels, kind, options, whole=whole)

    def predict(self, model: Any, docs: Any, options: ExplainOptions) -> np.ndarray:
        """The model's scores ``(batch, outputs)`` on ``docs``, no gradients (metrics);
        see :func:`.predict.predict_scores`."""
        return predict_scores(model, docs, options)


#: The adapter instance the public functions use.
KERAS = KerasAdapter()


@with_options_signature(skip=UNSUPPORTED)
def explain_prediction_keras(model: Any, doc: Any, *, image: Any = None, tokens: Any = None,
                             text: Optional[str] = None, offsets: Any = None,
                             **options: Any) -> Explanation:
    """Explain a Keras model's prediction on one document with Grad-CAM.

    Works on Keras 3 models (Functional, Sequential, subclassed, nested) on
    the TensorFlow, PyTorch and JAX backends, and on ``tf_keras`` models.
    The model is left exactly as it was.

    Parameters
    ----------
    model : keras.Model or tf_keras.Model
        A built model.  An empty or unbuilt model, or one with
        no layer of spatial or sequence extent, gives eli5's "not supported"
        explanation (``Explanation.error`` set).
    doc : array-like
        One document with a batch axis: ``(1, H, W, C)`` image (channels
        last, as Keras), ``(1, L)`` token ids, ``(1, L, C)`` signal...
        A numpy array, list, or a TensorFlow / torch / JAX tensor.  Integer
        pixels (``uint8``) are cast to the model's float input dtype, as Keras
        does: preprocess them as the model was trained.  Token ids are
        checked against the vocabulary of the embedding that reads them.
        For a model of several inputs, a list of them (the order of
        ``model.inputs``) or a dict keyed by its input names, each as above;
        an ``attention_mask`` in a dict marks padding (see
        :mod:`eli5_gradcam.keras.multi_input`).
    image : PIL.Image.Image, optional
        Picture to overlay (an image explanation); default: drawn from ``doc``
        when it is image-shaped.  It shows the view ``doc`` shows, at its size
        or scaled; another aspect ratio is an error.
    tokens : list of str, optional
        One token per position of ``doc`` (a text explanation).
    text : str, optional
        The original text, with ``offsets``: highlight it at the right
        characters (see :mod:`eli5_gradcam.nn.words`); tokens may be left out.
    offsets : array-like, optional
        ``(length, 2)`` character offsets of the tokens in ``text``.
    **options
        ``targets``, ``top_targets``, ``target_names``, ``layer``, ``method``,
        ``relu``, ``counterfactual``, ``score``, ``output``, ``pad_value``,
        ``pad_token``, ``padding``, ``interpolation_kind``, ``input_key``,
        ``batch_size``, ``scorecam_maps``, ``progress``: see
        :class:`~eli5_gradcam.nn.options.ExplainOptions`.  For Keras,
        ``layer`` is a name, a path into a nested model
        (``'resnet50/conv5_block3_out'``), an index into ``model.layers`` or a
        layer object; None (default) picks the last layer whose output has
        spatial (images) or sequence (text, signals) extent, looking inside
        nested models.  ``score='auto'`` differentiates the pre-softmax logit
        where the last layer applies a softmax (``Dense(activation='softmax')``,
        ``Softmax``, ``Activation('softmax')``) or a sigmoid.

    Returns
    -------
    GradCAMExplanation
        ``layer`` (the explained layer's path) and one target explanation per
        target, with ``heatmap``; ``image`` for images, ``weighted_spans``
        for text.

    Raises
    ------
    TypeError, ValueError
        For a bad argument, naming it.

    Examples
    --------
    >>> import numpy as np, keras                                  # doctest: +SKIP
    >>> from eli5_gradcam.keras import explain_prediction_keras    # doctest: +SKIP
    >>> model = keras.Sequential([keras.Input((32, 32, 3)),        # doctest: +SKIP
    ...     keras.layers.Conv2D(8, 3, activation='relu'),
    ...     keras.layers.GlobalAveragePooling2D(),
    ...     keras.layers.Dense(2, activation='softmax')])
    >>> doc = np.random.rand(1, 32, 32, 3).astype('float32')       # doctest: +SKIP
    >>> expl = explain_prediction_keras(model, doc)                # doctest: +SKIP
    >>> expl.targets[0].heatmap.shape, expl.layer                  # doctest: +SKIP
    ((30, 30), 'conv2d')
    """
    return explain_one(KERAS, model, doc, ExplainOptions.from_keywords(
        options, function='explain_prediction', unsupported=UNSUPPORTED),
        image=image, tokens=tokens, text=text, offsets=offsets)


@with_options_signature(skip=UNSUPPORTED)
def explain_batch_keras(model: Any, docs: Any, *, images: Optional[Sequence[Any]] = None,
                        tokens: Optional[Sequence[Any]] = None,
                        **options: Any) -> List[Explanation]:
    """Explain a batch of documents with one forward (and backward) pass.

    The arguments are those of :func:`explain_prediction_keras`, except
    ``images`` and ``tokens``, which hold one entry per document.

    Returns
    -------
    list of eli5.base.Explanation
        One per document, in order.
    """
    return explain_documents(KERAS, model, docs, ExplainOptions.from_keywords(
        options, function='explain_batch_keras', unsupported=UNSUPPORTED),
        images=images, tokens=tokens)


@with_options_signature(skip=UNSUPPORTED)
def capture_batch(model: Any, docs: Any, *, images: Optional[Sequence[Any]] = None,
                  tokens: Optional[Sequence[Any]] = None, **options: Any) -> LayerCapture:
    """The raw arrays of one explanation pass: a :class:`~eli5_gradcam.nn.LayerCapture`.

    The same checks, options and single forward (and backward) pass as
    :func:`explain_batch_keras`, without the heatmaps: the layer's activations,
    each target's gradients and the scores, as numpy, for custom maps.
    """
    return capture_documents(KERAS, model, docs, ExplainOptions.from_keywords(
        options, function='capture_batch', unsupported=UNSUPPORTED), images=images, tokens=tokens)
