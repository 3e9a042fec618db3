"""Every keyword argument of an explanation, validated once, in one frozen object.

:class:`ExplainOptions` is the one place an option is added: its field (with
the default), its check in ``__post_init__`` and its line in the docstring.
The public functions (``explain_prediction_pytorch``,
``explain_prediction_keras``, ``explain_predictions``, the CLI) build it from
their keywords with :meth:`ExplainOptions.from_keywords` and hand it to the
one driver, :func:`eli5_gradcam.nn.driver.explain_documents`; their keyword
signature is this class's (see :func:`with_options_signature`).
"""
from __future__ import annotations

import dataclasses
import inspect
import numbers
from dataclasses import dataclass
from typing import Any, Callable, Collection, Mapping, Optional, Tuple, TypeVar

import numpy as np

from .eigen_smooth import CONTRIBUTIONS
from .method_names import resolve_method
from .option_checks import (SCORES, SMOOTHING, as_layer, as_smoothing, as_targets,
                            check_choice, check_count, check_target_names, check_bool)
from .perturbation import GRADIENT_FREE, SCORECAM_COUNTERFACTUAL
from .targets import is_index
from .padding import PADDING_SIDES
from .text import INTERPOLATION_KINDS

__all__ = ['SCORES', 'SMOOTHING', 'ExplainOptions', 'with_options_signature', 'check_bool']

@dataclass(frozen=True)
class ExplainOptions:
    """Validated options of one explanation, the same for every framework.

    Attributes
    ----------
    targets : tuple of int, str or callable, optional
        What to explain, any number of them, from one forward pass: outputs
        by index or (with ``target_names``) by name, and score functions:
        callables that take the model's raw output (in the model's framework)
        and return one differentiable score per document, shape ``(batch,)``
        (see :mod:`eli5_gradcam.targets` for ready-made ones: a class, a
        region of a segmentation, a detection box, an embedding's similarity).
        Default: the top prediction.
    top_targets : int, optional
        The ``k`` highest-scoring outputs (negative ``k``: the lowest).
    target_names : list of str or dict, optional
        Names of the outputs, shown in the explanation.
    layer : str, int, layer object, list of them, or None
        The layer to explain; None chooses one (see the adapter's docs).
        Several layers, as a list or as names joined by ``'+'``
        (``'layer3+layer4'``, what ``GradCAMExplanation.layer`` says), give
        one map per layer, fused into one (:mod:`eli5_gradcam.nn.fusion`).
        Normalised here to a tuple of two or more, or a single layer.
    method : str
        ``'gradcam'`` (default), ``'gradcam++'``, ``'xgradcam'``, ``'layercam'``,
        ``'hirescam'``, ``'eigencam'``, ``'eigengradcam'``, ``'scorecam'``,
        ``'ablationcam'``, ``'guided-gradcam'``, ``'guided-backprop'`` (see
        :data:`eli5_gradcam.nn.gradcam.METHODS`).  ``'eigencam'``, ``'scorecam'``
        and ``'ablationcam'`` run no backward pass; the last two run extra
        forward passes (see ``batch_size``).
    relu : bool
        Keep only positive evidence (default True); False keeps the sign.
    counterfactual : bool
        Explain what lowers the score (default False).
    score : {'auto', 'output'}
        ``'auto'``: the pre-softmax (pre-sigmoid) logit where the model visibly
        ends in a softmax (sigmoid), else the raw output; ``'output'``: always
        the raw output.
    output : int or str, optional
        For models with several outputs (a tuple, list, dict or Hugging Face
        ``ModelOutput``), which one holds the scores.  None: the only output,
        or the one named ``logits``; several others are an error.
    pad_value : int or float, optional
        Token id of padding in the document, removed from text explanations.
    pad_token : str, optional
        Padding token in ``tokens``, removed from text explanations.
    padding : {'pre', 'post', None}
        Which end the padding is on (None: either).
    interpolation_kind : str
        How the layer's sequence is resized to the tokens (scipy ``interp1d``
        ``kind``, default ``'linear'``).
    reshape : callable, optional
        PyTorch only: maps a layer output of an unrecognised layout (batch
        first) to ``(batch, *spatial, channels)``; applied to the activations
        and the gradients alike.
    smooth : None, 'aug', 'eigen', 'aug+eigen' or a list of them
        ``'aug'``: test-time augmentation (image documents: the map of the
        image flipped and shifted, re-aligned and averaged, see
        :mod:`eli5_gradcam.nn.augment`); ``'eigen'``: the first principal
        component of the method's channel terms instead of their sum (see
        :mod:`eli5_gradcam.nn.eigen_smooth`).  Normalised here to a sorted
        tuple, ``()`` for none.
    input_key : int or str, optional
        For a document of several inputs, the input the explanation is about
        (its tokens or image): a key or an index.  PyTorch: a mapping of
        keyword inputs (a Hugging Face ``BatchEncoding``) or a tuple of
        positional inputs; Keras: a dict keyed by the model's input names or
        a list in the order of ``model.inputs`` (an input name or an index
        for either).  None: ``input_ids`` (else ``pixel_values``,
        ``inputs_embeds``) of a mapping, else the first input (see
        :mod:`eli5_gradcam.nn.inputs`).
    batch_size : int, optional
        Inputs per forward pass of the methods that run extra passes: masked
        documents for ``'scorecam'``, ablated copies of the layer's output for
        ``'ablationcam'``.  None: 32 masked documents; for Ablation-CAM as many
        ablated copies as fit in 128 MiB, at least 32 (see
        :func:`eli5_gradcam.nn.perturbation.default_rows`).  Every target
        comes from the same passes.
    scorecam_maps : int, optional
        ``'scorecam'`` only: mask the input with the ``k`` channels whose maps
        vary most over positions, not with every channel (Faster Score-CAM);
        about ``channels / k`` times fewer forward passes.  None: every channel.
    progress : bool
        Show a progress bar (tqdm) over the extra forward passes once they
        have taken more than 2 seconds (default True).
    """

    targets: Optional[Tuple[Any, ...]] = None
    top_targets: Optional[int] = None
    target_names: Any = None
    layer: Any = None
    method: str = 'gradcam'
    relu: bool = True
    counterfactual: bool = False
    score: str = 'auto'
    output: Any = None
    pad_value: Any = None
    pad_token: Optional[str] = None
    padding: Optional[str] = None
    interpolation_kind: str = 'linear'
    reshape: Optional[Callable[[Any], Any]] = None
    smooth: Any = None
    input_key: Any = None
    batch_size: Optional[int] = None
    scorecam_maps: Optional[int] = None
    progress: bool = True

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, 'layer', as_layer(self.layer))
        put(self, 'smooth', as_smoothing(self.smooth))
        put(self, 'targets', as_targets(self.targets))
        if self.targets is not None and self.top_targets is not None:
            raise ValueError('pass either targets or top_targets, not both '
                             f'(got targets={list(self.targets)!r}, '
                             f'top_targets={self.top_targets!r})')
        if self.top_targets is not None:
            if not is_index(self.top_targets) or self.top_targets == 0:
                raise ValueError('top_targets must be a non-zero int (negative: lowest '
                                 f'scores first); got {self.top_targets!r}')
            put(self, 'top_targets', int(self.top_targets))
        check_target_names(self.target_names)
        put(self, 'method', resolve_method(self.method))
        if 'eigen' in self.smooth and self.method not in CONTRIBUTIONS:
            raise ValueError(f"smooth='eigen' needs a method that sums weighted channels, one "
                             f'of {sorted(CONTRIBUTIONS)}; method={self.method!r} does not')
        put(self, 'relu', check_bool('relu', self.relu))
        put(self, 'counterfactual', check_bool('counterfactual', self.counterfactual))
        check_choice('score', self.score, SCORES)
        check_choice('padding', self.padding, PADDING_SIDES)
        check_choice('interpolation_kind', self.interpolation_kind, INTERPOLATION_KINDS)
        if isinstance(self.output, bool) or not (self.output is None or isinstance(
                self.output, (str, numbers.Integral))):
            raise TypeError('output must be None, an int index or a str key/name; got '
                            f'{type(self.output).__name__} {self.output!r}')
        if self.pad_value is not None and (isinstance(self.pad_value, (bool, np.bool_)) or
                                           not isinstance(self.pad_value, (numbers.Real,
                                                                           np.number))):
            raise TypeError('pad_value must be a number (the padding token id); got '
                            f'{type(self.pad_value).__name__} {self.pad_value!r}')
        if self.pad_token is not None and not isinstance(self.pad_token, str):
            raise TypeError(f'pad_token must be a str or None; got '
                            f'{type(self.pad_token).__name__} {self.pad_token!r}')
        if isinstance(self.input_key, bool) or not (self.input_key is None or isinstance(
                self.input_key, (str, numbers.Integral))):
            raise TypeError('input_key must be None, an int index or a str key; got '
                            f'{type(self.input_key).__name__} {self.input_key!r}')
        if self.reshape is not None and not callable(self.reshape):
            raise TypeError(f'reshape must be a callable or None; got '
                            f'{type(self.reshape).__name__}')
        self._check_passes()

    def _check_passes(self) -> None:
        """The options of the methods that run extra forward passes."""
        put = object.__setattr__
        put(self, 'batch_size', check_count('batch_size', self.batch_size))
        put(self, 'scorecam_maps', check_count('scorecam_maps', self.scorecam_maps))
        put(self, 'progress', check_bool('progress', self.progress))
        if self.scorecam_maps is not None and self.method != 'scorecam':
            raise ValueError(f"scorecam_maps={self.scorecam_maps!r} is for method='scorecam' "
                             f'(Faster Score-CAM); got method={self.method!r}')
        if self.counterfactual and self.method == 'scorecam':
            raise ValueError(SCORECAM_COUNTERFACTUAL)
        if isinstance(self.layer, tuple) and self.method in GRADIENT_FREE:
            raise ValueError(f'layer: several layers ({list(self.layer)!r}) are fused from '
                             f'one forward and backward pass; method={self.method!r} takes '
                             'no gradients: explain one layer at a time, or use a gradient '
                             "method such as 'gradcam' or 'layercam'")

    @property
    def score_functions(self) -> Tuple[Callable[[Any], Any], ...]:
        """The score functions among ``targets``, in order."""
        return tuple(t for t in self.targets or () if callable(t))

    @property
    def needs_outputs(self) -> bool:
        """Some target is an output of the model (an index, a name, top-k)."""
        return self.targets is None or any(not callable(t) for t in self.targets)

    @property
    def layer_key(self) -> Any:
        """``layer`` as a cache key: names and indices as they are, objects by identity."""
        return _layer_key(self.layer)

    @classmethod
    def names(cls) -> Tuple[str, ...]:
        """The option keywords, in order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_keywords(cls, keywords: Mapping[str, Any], *, function: str,
                      unsupported: Collection[str] = ()) -> 'ExplainOptions':
        """Build the options from a public function's keyword arguments.

        Parameters
        ----------
        keywords : mapping
            The keywords the user passed.
        function : str
            The public function's name, for error messages.
        unsupported : collection of str
            Options this framework does not take (given non-default: TypeError).

        Returns
        -------
        ExplainOptions
        """
        known = cls.names()
        unknown = sorted(set(keywords) - set(known))
        if unknown:
            raise TypeError(f'{function}() got unexpected keyword argument(s) {unknown}; '
                            f'it takes: {", ".join(known)}')
        for name in unsupported:
            if name in keywords and keywords[name] != _DEFAULTS[name]:
                raise TypeError(f'{function}() does not take {name}= (it is for PyTorch '
                                'models only)')
        return cls(**keywords)

    def replace(self, **changes: Any) -> 'ExplainOptions':
        """A copy with some options changed (validated again)."""
        return dataclasses.replace(self, **changes)


#: Each option's default value.
_DEFAULTS = {field.name: field.default for field in dataclasses.fields(ExplainOptions)}


def _layer_key(layer: Any) -> Any:
    if isinstance(layer, tuple):
        return ('several',) + tuple(_layer_key(item) for item in layer)
    if layer is None or isinstance(layer, (str, int)):
        return (type(layer).__name__, layer)
    return ('object', id(layer))


F = TypeVar('F', bound=Callable[..., Any])


def with_options_signature(*, skip: Collection[str] = ()) -> Callable[[F], F]:
    """Give a ``def f(model, doc, *, image=None, **options)`` function the full signature.

    ``inspect.signature``, ``help()``, IDEs and Sphinx then show every option
    with its default, from :class:`ExplainOptions`, in place of ``**options``
    (one list of options, no copied signatures).

    Parameters
    ----------
    skip : collection of str
        Options the function does not take.
    """
    def decorate(function: F) -> F:
        signature = inspect.signature(function)
        own = [p for p in signature.parameters.values() if p.kind != p.VAR_KEYWORD]
        taken = set(skip) | {p.name for p in own}       # the function's own name wins
        options = [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default)
                   for f in dataclasses.fields(ExplainOptions) if f.name not in taken]
        function.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=own + options)
        return function
    return decorate
