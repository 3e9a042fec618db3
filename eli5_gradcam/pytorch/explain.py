"""``eli5.explain_prediction`` for ``torch.nn.Module``: validate, capture, hand to the core."""
from __future__ import annotations

from typing import Any, Callable, List, Optional, Sequence, Tuple

import torch
from eli5.base import Explanation
from PIL import Image
from torch import nn

from ..nn.explanation import check_documents, explain_capture, input_kind
from ..nn.image import looks_like_image
from ..nn.options import check_options
from ..nn.targets import TargetNames
from .capture import capture_layer
from .inputs import as_model_input, as_numpy

__all__ = ['explain_prediction_pytorch', 'explain_batch_pytorch']


def _kind(shape: Tuple[int, ...], image: Optional[Image.Image], tokens: object
          ) -> Tuple[str, int, Optional[Tuple[int, int]]]:
    """Kind of explanation, spatial rank the layer needs, and the image's (H, W)."""
    kind = input_kind(shape, image=image, tokens=tokens)
    if kind == 'image' and len(shape) != 4:
        if image is not None:
            raise ValueError('doc must be an NCHW image batch (1, channels, height, width) '
                             f'when image= is given; got shape {shape}')
        kind = 'other'
    if kind == 'other' and len(shape) == 4 and looks_like_image(shape):
        kind = 'image'
    if kind == 'image':
        return kind, 2, (int(shape[2]), int(shape[3]))
    if kind == 'text':
        return kind, 1, None
    return kind, max(len(shape) - 2, 1), None


def explain_prediction_pytorch(model: nn.Module,
                               doc: Any,
                               *,
                               targets: Optional[Sequence[Any]] = None,
                               top_targets: Optional[int] = None,
                               target_names: Optional[TargetNames] = None,
                               layer: Any = None,
                               method: str = 'gradcam',
                               relu: bool = True,
                               counterfactual: bool = False,
                               score: str = 'auto',
                               output: Any = None,
                               image: Optional[Image.Image] = None,
                               tokens: Any = None,
                               pad_value: Any = None,
                               pad_token: Optional[str] = None,
                               padding: Optional[str] = None,
                               interpolation_kind: str = 'linear',
                               reshape: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
                               ) -> Explanation:
    """Explain a PyTorch model's prediction on one document with Grad-CAM.

    The model is run once, in eval behaviour, with a temporary hook on one
    layer; the gradients of every requested target come from that one pass.
    The model is handed back as it was: each module's ``training`` flag,
    ``requires_grad``, parameter ``.grad`` and hooks are untouched.  It works
    inside the caller's ``torch.no_grad()`` / ``torch.inference_mode()`` and
    for fully frozen models.

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
    targets : list of int or str, optional
        Outputs to explain, by index or (with ``target_names``) by name, any
        number of them.  Default: the top prediction.
    top_targets : int, optional
        Explain the ``k`` highest-scoring outputs (negative: the lowest).
    target_names : list of str or dict, optional
        Names of the outputs, shown in the explanation.
    layer : str, int, torch.nn.Module or None
        The layer to explain: a dotted name from ``model.named_modules()``
        (``'layer4.1.conv2'``), an index into that list, or the module
        itself.  None (default) picks the last module, in execution order,
        whose output still has spatial (image) or sequence (text, signal)
        extent; a module called several times in one pass is never picked.
        For a Vision Transformer with a class token, the input of its last
        attention is picked.  The name appears in the description.
    method : str
        ``'gradcam'`` (default), ``'gradcam++'``, ``'layercam'`` or ``'hirescam'``.
    relu : bool
        Keep only positive evidence (default True); False keeps the sign.
    counterfactual : bool
        Explain what lowers the score (default False).
    score : {'auto', 'output'}
        ``'auto'`` (default): when the model's last module is an
        ``nn.Softmax``, ``nn.LogSoftmax`` or ``nn.Sigmoid`` that produces the
        output, differentiate its input (the logit) and report probabilities
        from it; otherwise the raw output.  ``'output'``: always the raw output.
    output : int or str, optional
        For models returning a tuple, list, dict or an object (Hugging
        Face-style), which element holds the scores.  Default: ``logits`` if
        present, else the first element.
    image : PIL.Image.Image, optional
        The picture to draw the heatmap on (default: drawn from ``doc``).
    tokens : list or array of str, optional
        The document's tokens, one per position of ``doc`` (batch axis
        allowed): gives a text explanation with highlighted tokens.
    pad_value : int or float, optional
        Token id of padding in ``doc``, removed from a text explanation.
    pad_token : str, optional
        Padding token in ``tokens``, removed from a text explanation.
    padding : {'pre', 'post', None}
        Which end padding is on (None: both).
    interpolation_kind : str
        How the layer's sequence is resized to the tokens (scipy ``interp1d``
        ``kind``, default ``'linear'``).
    reshape : callable, optional
        For layers whose output layout is not recognised: maps the layer's
        output tensor (batch first) to ``(batch, *spatial, channels)``; it
        is applied to the activations and to the gradients alike.

    Returns
    -------
    eli5.base.Explanation
        One ``TargetExplanation`` per target, each with a normalised
        ``heatmap`` at the layer's resolution (image: 2-D, with
        ``Explanation.image``), token weights (text), or positions (other);
        ``is_regression`` for a single-output model without a final sigmoid.

    Raises
    ------
    TypeError
        ``model``, ``doc``, ``layer``, ``reshape`` or ``tokens`` of the wrong type.
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
    >>> 'layer \\'1\\'' in expl.description
    True
    """
    return explain_batch_pytorch(
        model, doc, targets=targets, top_targets=top_targets, target_names=target_names,
        layer=layer, method=method, relu=relu, counterfactual=counterfactual, score=score,
        output=output, images=None if image is None else [image],
        tokens=None if tokens is None else [tokens], pad_value=pad_value, pad_token=pad_token,
        padding=padding, interpolation_kind=interpolation_kind, reshape=reshape,
        single=True)[0]


def explain_batch_pytorch(model: nn.Module,
                          docs: Any,
                          *,
                          targets: Optional[Sequence[Any]] = None,
                          top_targets: Optional[int] = None,
                          target_names: Optional[TargetNames] = None,
                          layer: Any = None,
                          method: str = 'gradcam',
                          relu: bool = True,
                          counterfactual: bool = False,
                          score: str = 'auto',
                          output: Any = None,
                          images: Optional[Sequence[Optional[Image.Image]]] = None,
                          tokens: Optional[Sequence[Any]] = None,
                          pad_value: Any = None,
                          pad_token: Optional[str] = None,
                          padding: Optional[str] = None,
                          interpolation_kind: str = 'linear',
                          reshape: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
                          single: bool = False) -> List[Explanation]:
    """Explain a batch of documents with one forward (and backward) pass.

    The arguments are those of :func:`explain_prediction_pytorch`, except
    ``images`` and ``tokens``, which hold one entry per document.  This is
    what :func:`eli5_gradcam.explain_predictions` calls for each batch.

    Returns
    -------
    list of eli5.base.Explanation
        One per document, in order.
    """
    options = check_options(method=method, relu=relu, counterfactual=counterfactual,
                            score=score, padding=padding,
                            interpolation_kind=interpolation_kind,
                            top_targets=top_targets, targets=targets)
    if not isinstance(model, nn.Module):
        raise TypeError(f'model must be a torch.nn.Module; got {type(model).__name__}')
    if reshape is not None and not callable(reshape):
        raise TypeError(f'reshape must be a callable or None; got {type(reshape).__name__}')
    batch_docs = as_model_input(model, docs)
    shape = tuple(int(size) for size in batch_docs.shape)
    if single and shape[0] != 1:
        check_documents(shape, kind='other', single=True)
    kind, spatial_ndim, image_hw = _kind(shape, images[0] if images else None,
                                         tokens[0] if tokens else None)
    token_lists = check_documents(shape, kind=kind, single=single, images=images,
                                  tokens=tokens)
    result = capture_layer(model, batch_docs, spatial_ndim=spatial_ndim, image_hw=image_hw,
                           layer=layer, targets=targets, top_targets=top_targets,
                           target_names=target_names, score=options.score, output=output,
                           reshape=reshape)
    return explain_capture(
        result.capture, estimator=type(model).__name__, kind=kind, docs=as_numpy(batch_docs),
        images=images, tokens=token_lists,
        pad_value=pad_value, pad_token=pad_token, padding=options.padding,
        interpolation_kind=options.interpolation_kind, method=options.method,
        relu=options.relu, counterfactual=options.counterfactual,
        target_names=target_names, is_regression=result.is_regression,
        channels_first=True)
