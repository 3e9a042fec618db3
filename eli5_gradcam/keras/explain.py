"""``explain_prediction_keras``: the Keras entry point eli5 dispatches to.

It only validates and routes: the framework work is
:func:`~eli5_gradcam.keras.capture.capture_keras`, the heatmaps and the eli5
objects are :func:`~eli5_gradcam.nn.explanation.explain_capture`.
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence

import numpy as np
from eli5.base import Explanation

from ..nn.explanation import check_documents, explain_capture, input_kind
from ..nn.options import check_options
from ..nn.targets import TargetNames
from .capture import capture_keras, check_docs

__all__ = ['explain_prediction_keras', 'explain_batch_keras']

#: Rank of the explained layer's output (batch and channels included) per kind.
LAYER_RANKS = {'image': 4, 'text': 3}


def explain_prediction_keras(model: Any,
                             doc: Any,
                             *,
                             targets: Optional[list] = None,
                             top_targets: Optional[int] = None,
                             target_names: Optional[TargetNames] = None,
                             layer: object = None,
                             method: str = 'gradcam',
                             relu: bool = True,
                             counterfactual: bool = False,
                             score: str = 'auto',
                             output: Any = None,
                             image: Any = None,
                             tokens: Any = None,
                             pad_value: Any = None,
                             pad_token: Optional[str] = None,
                             padding: Optional[str] = None,
                             interpolation_kind: str = 'linear') -> Explanation:
    """Explain a Keras model's prediction on one document with Grad-CAM.

    Works on Keras 3 models (Functional, Sequential, subclassed, nested) on
    the TensorFlow, PyTorch and JAX backends, and on ``tf_keras`` models.
    The model is left exactly as it was.  See :func:`eli5.explain_prediction`
    for ``targets``, ``top_targets`` and ``target_names``.

    Parameters
    ----------
    model : keras.Model or tf_keras.Model
        A built model with one input.
    doc : array-like
        One document with a batch axis: ``(1, H, W, C)`` image (channels
        last, as Keras), ``(1, L)`` token ids, ``(1, L, C)`` signal...
        A numpy array, list, or a TensorFlow / torch / JAX tensor.
    targets : list of int or str, optional
        Output indices (or names, with ``target_names``) to explain.
        Default: the top prediction.
    top_targets : int, optional
        Explain the ``k`` highest-scoring outputs (negative: the lowest).
    target_names : list of str or dict, optional
        Names of the outputs.
    layer : None, str, int or keras Layer
        The layer whose output is explained.  None (default): the last layer
        whose output has spatial extent (images) or sequence extent (text,
        signals), looking inside nested models.  A name, a path into a nested
        model (``'resnet50/conv5_block3_out'``), an index into
        ``model.layers``, or a layer object.
    method : {'gradcam', 'gradcam++', 'layercam', 'hirescam'}
        How activations and gradients become a map.
    relu : bool
        Keep only positive evidence (default), else a signed map.
    counterfactual : bool
        Show what lowers each target's score.
    score : {'auto', 'output'}
        ``'auto'``: differentiate the pre-softmax logit where the last layer
        applies a softmax (``Dense(activation='softmax')``, ``Softmax``,
        ``Activation('softmax')``); ``'output'``: the raw output.
    output : int or str, optional
        Which output of a multi-output model to explain.
    image : PIL.Image.Image, optional
        Picture to overlay (an image explanation); default: drawn from ``doc``
        when it is image-shaped.
    tokens : list of str, optional
        One token per position of ``doc`` (a text explanation).
    pad_value : int or float, optional
        Padding id in ``doc``, stripped from text explanations.
    pad_token : str, optional
        Padding token in ``tokens``, stripped from text explanations.
    padding : {'pre', 'post', None}
        Where the padding is (None: either end).
    interpolation_kind : str
        How the layer's sequence is resized to the tokens (``'linear'``...).

    Returns
    -------
    eli5.base.Explanation
        One target explanation per target, with ``heatmap``; ``image`` for
        images, ``weighted_spans`` for text.

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
    >>> expl.targets[0].heatmap.shape                              # doctest: +SKIP
    (30, 30)
    """
    return explain_batch_keras(
        model, doc, targets=targets, top_targets=top_targets, target_names=target_names,
        layer=layer, method=method, relu=relu, counterfactual=counterfactual, score=score,
        output=output, images=None if image is None else [image],
        tokens=None if tokens is None else [tokens], pad_value=pad_value, pad_token=pad_token,
        padding=padding, interpolation_kind=interpolation_kind, single=True)[0]


def explain_batch_keras(model: Any,
                        docs: Any,
                        *,
                        targets: Optional[list] = None,
                        top_targets: Optional[int] = None,
                        target_names: Optional[TargetNames] = None,
                        layer: object = None,
                        method: str = 'gradcam',
                        relu: bool = True,
                        counterfactual: bool = False,
                        score: str = 'auto',
                        output: Any = None,
                        images: Optional[Sequence[Any]] = None,
                        tokens: Optional[Sequence[Any]] = None,
                        pad_value: Any = None,
                        pad_token: Optional[str] = None,
                        padding: Optional[str] = None,
                        interpolation_kind: str = 'linear',
                        single: bool = False) -> List[Explanation]:
    """Explain a batch of documents with one forward (and backward) pass.

    The arguments are those of :func:`explain_prediction_keras`, except
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
    batch_docs = check_docs(model, docs)
    kind = input_kind(batch_docs.shape, image=images[0] if images else None,
                      tokens=tokens[0] if tokens else None)
    token_lists = check_documents(batch_docs.shape, kind=kind, single=single, images=images,
                                  tokens=tokens)
    rank = LAYER_RANKS.get(kind, batch_docs.ndim if batch_docs.ndim >= 3 else 3)
    capture = capture_keras(model, batch_docs, layer=layer, rank=rank, targets=targets,
                            top_targets=top_targets, target_names=target_names,
                            score=options.score, output=output)
    n_outputs = capture.scores.shape[1]
    is_regression = n_outputs == 1 and capture.probabilities is None
    return explain_capture(
        capture, estimator=str(getattr(model, 'name', type(model).__name__)), kind=kind,
        docs=np.asarray(batch_docs), images=images, tokens=token_lists, pad_value=pad_value,
        pad_token=pad_token, padding=options.padding,
        interpolation_kind=options.interpolation_kind, method=options.method,
        relu=options.relu, counterfactual=options.counterfactual,
        target_names=target_names, is_regression=is_regression, channels_first=False)
