"""``eli5.explain_prediction`` for ``torch.nn.Module``: options in, the one driver out."""
from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
import torch
from eli5.base import Explanation
from torch import nn

from ..nn.capture import LayerCapture
from ..nn.driver import capture_documents, explain_documents, explain_one
from ..nn.kinds import DocumentKind
from ..nn.options import ExplainOptions, with_options_signature
from ..nn.perturbation import GRADIENT_FREE
from .capture import capture_layer
from .documents import ModelInputs, model_inputs
from .inputs import as_numpy
from .passes import ablated_scores, forward_capture, masked_scores
from .predict import predict_scores

__all__ = ['PYTORCH', 'PyTorchAdapter', 'explain_prediction_pytorch', 'explain_batch_pytorch',
           'capture_batch']


class PyTorchAdapter:
    """The framework work of an explanation, for :func:`~eli5_gradcam.nn.driver.explain_documents`."""

    channels_first = True
    unsupported: Tuple[str, ...] = ()

    def name(self, model: Any) -> str:
        """The model's class name."""
        return type(model).__name__

    def check_model(self, model: Any, options: ExplainOptions) -> None:
        """A ``torch.nn.Module``, or a TypeError."""
        if not isinstance(model, nn.Module):
            raise TypeError(f'model must be a torch.nn.Module; got {type(model).__name__}')

    def documents(self, model: Any, docs: Any, options: ExplainOptions
                  ) -> Tuple[ModelInputs, Tuple[int, ...]]:
        """The documents on the model's device, see :func:`.documents.model_inputs`."""
        batch = model_inputs(model, docs, options.input_key)
        return batch, batch.shape

    def as_numpy(self, batch: Any) -> np.ndarray:
        """The explained input on the CPU, as numpy."""
        return as_numpy(batch.explained)

    def padding(self, batch: Any) -> Optional[np.ndarray]:
        """Padding positions from the documents' ``attention_mask``."""
        padding: Optional[np.ndarray] = batch.padding()
        return padding

    def offsets(self, batch: Any) -> Optional[np.ndarray]:
        """The documents' ``offset_mapping``."""
        offsets: Optional[np.ndarray] = batch.offsets
        return offsets

    def capture(self, model: Any, batch: Any, kind: DocumentKind,
                options: ExplainOptions) -> LayerCapture:
        """See :func:`.capture.capture_layer`; :func:`.passes.forward_capture`
        (no backward pass) for the gradient-free methods."""
        if options.method in GRADIENT_FREE:
            return forward_capture(model, batch, kind, options)
        return capture_layer(model, batch, kind, options)

    def masked_scores(self, model: Any, batch: Any, item: int, masks: np.ndarray,
                      kind: DocumentKind, options: ExplainOptions) -> np.ndarray:
        """See :func:`.passes.masked_scores`."""
        return masked_scores(model, batch, item, masks, kind, options)

    def ablated_scores(self, model: Any, batch: Any, item: int, channels: np.ndarray,
                       kind: DocumentKind, options: ExplainOptions, *,
                       whole: bool) -> np.ndarray:
        """See :func:`.passes.ablated_scores`."""
        return ablated_scores(model, batch, item, channels, kind, options, whole=whole)

    def view(self, batch: Any, items: Sequence[int], docs: np.ndarray) -> ModelInputs:
        """Documents ``items`` with the explained input replaced by ``docs``."""
        rows = batch.rows(items)
        explained = rows.explained
        return rows.with_explained(torch.as_tensor(docs).to(device=explained.device,
                                                            dtype=explained.dtype))

    def predict(self, model: Any, docs: Any, options: ExplainOptions) -> np.ndarray:
        """The model's scores ``(batch, outputs)`` on ``docs``, no gradients (metrics);
        see :func:`.predict.predict_scores`."""
        return predict_scores(model, docs, options)


#: The adapter instance the public functions use.
PYTORCH = PyTorchAdapter()


@with_options_signature()
def explain_prediction_pytorch(model: nn.Module, doc: Any, *, image: Any = None,
                               tokens: Any = None, text: Optional[str] = None,
                               offsets: Any = None, **options: Any) -> Explanation:
    """Explain a PyTorch model's prediction on one document with Grad-CAM.

    The model is run once, in eval behaviour, with a temporary hook on one
    layer; the gradients of every requested target come from that one pass.
    The model is handed back as it was: each module's ``training`` flag,
    ``requires_grad``, parameter ``.grad`` and hooks are untouched.  It works
    inside the caller's ``torch.no_grad()`` / ``torch.inference_mode()``, for
    fully frozen models, and for models that run part of their ``forward``
    under their own ``torch.no_grad()``.

    Parameters
    ----------
    model : torch.nn.Module
        Any module returning scores of shape ``(batch, outputs)`` or
        ``(batch,)`` (or a tuple/list/dict/object holding them, see ``output``).
    doc : torch.Tensor or numpy.ndarray
        One document with a batch axis of 1: an NCHW image ``(1, C, H, W)``,
        token ids ``(1, length)`` or a signal ``(1, C, L)`` / ``(1, L, C)``.
        Float documents are cast to the model's float dtype, integer token
        ids stay integer; the document is moved to the model's device.
    image : PIL.Image.Image, optional
        The picture to draw the heatmap on (default: drawn from ``doc``): the
        view ``doc`` shows, at its size or scaled; another aspect ratio is an
        error.
    tokens : list or array of str, optional
        The document's tokens, one per position of ``doc`` (batch axis
        allowed): gives a text explanation with highlighted tokens.
    text : str, optional
        The original text, with ``offsets`` (or a doc mapping holding a fast
        tokenizer's ``offset_mapping``): highlight the text itself at the
        right characters, special tokens and padding left out, word pieces
        merged into words (see :mod:`eli5_gradcam.nn.words`); ``tokens`` may
        then be left out.
    offsets : array-like, optional
        ``(length, 2)`` character offsets of the tokens in ``text``.
    **options
        ``targets``, ``top_targets``, ``target_names``, ``layer``, ``method``,
        ``relu``, ``counterfactual``, ``score``, ``output``, ``pad_value``,
        ``pad_token``, ``padding``, ``interpolation_kind``, ``reshape``,
        ``batch_size``, ``scorecam_maps``, ``progress``: see
        :class:`~eli5_gradcam.nn.options.ExplainOptions`.  For PyTorch,
        ``layer`` is a dotted name from ``model.named_modules()``
        (``'layer4.1.conv2'``), an index into that list, or the module itself;
        None (default) picks the last module, in execution order, whose output
        still has spatial (image) or sequence (text, signal) extent; a module
        called several times in one pass is never picked.  For a Vision
        Transformer with a class token, the input of its last attention is
        picked.  ``score='auto'`` differentiates the input of a final
        ``nn.Softmax``, ``nn.LogSoftmax`` or ``nn.Sigmoid``.

    Returns
    -------
    GradCAMExplanation
        An :class:`eli5.base.Explanation` with ``layer`` (the explained layer's
        name) and one ``TargetExplanation`` per target, each with a normalised
        ``heatmap`` at the layer's resolution (image: 2-D, with
        ``Explanation.image``), token weights (text), or positions (other);
        ``is_regression`` for a single-output model without a final
        softmax or sigmoid.

    Raises
    ------
    TypeError
        ``model``, ``doc``, an option or ``tokens`` of the wrong type, or an
        unknown keyword.
    ValueError
        A batch other than 1, a wrong doc shape, a target out of range, an
        unknown layer or one without spatial/sequence extent, tokens whose
        count differs from the doc's length, a model that fails on ``doc``.

    Examples
    --------
    >>> import torch, eli5, eli5_gradcam
    >>> model = torch.nn.Sequential(
    ...     torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
    ...     torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 2))
    >>> expl = eli5.explain_prediction(model, torch.rand(1, 3, 8, 8))
    >>> expl.targets[0].heatmap.shape
    (8, 8)
    >>> expl.layer
    '1'
    """
    return explain_one(PYTORCH, model, doc, ExplainOptions.from_keywords(
        options, function='explain_prediction'), image=image, tokens=tokens, text=text,
        offsets=offsets)


@with_options_signature()
def explain_batch_pytorch(model: nn.Module, docs: Any, *,
                          images: Optional[Sequence[Any]] = None,
                          tokens: Optional[Sequence[Any]] = None,
                          **options: Any) -> List[Explanation]:
    """Explain a batch of documents with one forward (and backward) pass.

    The arguments are those of :func:`explain_prediction_pytorch`, except
    ``images`` and ``tokens``, which hold one entry per document.

    Returns
    -------
    list of eli5.base.Explanation
        One per document, in order.
    """
    return explain_documents(PYTORCH, model, docs, ExplainOptions.from_keywords(
        options, function='explain_batch_pytorch'), images=images, tokens=tokens)


@with_options_signature()
def capture_batch(model: Any, docs: Any, *, images: Optional[Sequence[Any]] = None,
                  tokens: Optional[Sequence[Any]] = None, **options: Any) -> LayerCapture:
    """The raw arrays of one explanation pass: a :class:`~eli5_gradcam.nn.LayerCapture`.

    The same checks, options and single forward (and backward) pass as
    :func:`explain_batch_pytorch`, without the heatmaps: the layer's activations,
    each target's gradients and the scores, as numpy, for custom maps.
    """
    return capture_documents(PYTORCH, model, docs, ExplainOptions.from_keywords(
        options, function='capture_batch'), images=images, tokens=tokens)
