"""How a metric reaches the model and scores its target, validated once: :class:`ScoreOptions`.

Every metric that runs the model (deletion, insertion, ROAD, the confidence
change) takes these keywords; :func:`with_score_options` shows them in the
metric's signature, as :func:`eli5_gradcam.nn.options.with_options_signature`
does for the explanation options.  An option is added here once: its field,
its check in ``__post_init__`` and its line in the docstring.
"""
from __future__ import annotations

import dataclasses
import inspect
import numbers
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Sequence, TypeVar

import numpy as np

from ..nn.options import check_bool

__all__ = ['SCORE_KINDS', 'ScoreOptions', 'with_score_options']

#: Accepted values of ``score``.
SCORE_KINDS = ('output', 'softmax')


def _is_int(value: Any) -> bool:
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(
        value, (bool, np.bool_))


def _check_target(target: Any) -> None:
    if target is None or _is_int(target) or isinstance(target, str):
        return
    if isinstance(target, (Sequence, np.ndarray)) and not isinstance(target, bytes):
        for item in target:
            if not (_is_int(item) or isinstance(item, str)):
                raise TypeError('target must be an int output index, a str name (with '
                                'target_names), or one of those per document; got an item '
                                f'{type(item).__name__} {item!r}')
        return
    raise TypeError('target must be an int output index, a str name (with target_names), '
                    f'or one of those per document; got {type(target).__name__} {target!r}')


@dataclass(frozen=True)
class ScoreOptions:
    """Validated options of a metric that runs the model.

    Attributes
    ----------
    target : int, str, sequence or None
        The output whose score is followed: an index, a name from
        ``target_names``, or (for metrics over several documents) one per
        document.  None: the explanation's target where the heatmap is an
        explanation, else the model's top prediction on the document.
    target_names : list of str or dict, optional
        Names of the outputs, to give ``target`` (or the explanation's
        target) by name.
    score : {'output', 'softmax'}
        ``'output'`` (default): the model's output as it is (probabilities
        for a model ending in a softmax); ``'softmax'``: a softmax over the
        outputs first, for a model that returns logits.
    output : int or str, optional
        For models with several outputs, which one holds the scores (as in
        :class:`~eli5_gradcam.nn.options.ExplainOptions`).
    batch_size : int
        Perturbed documents scored per forward pass (default 32).
    progress : bool or None
        Show a tqdm progress bar; None (default): only for runs of more than
        ``PROGRESS_MIN_DOCUMENTS`` documents.
    channels_first : bool or None
        Layout of image (and signal) documents: NCHW (True) or NHWC (False).
        None: PyTorch models are channels-first, Keras models channels-last,
        and for a ``predict`` callable it is guessed from the document's shape
        (the smaller of the axes beside the pixels holds the channels).
    seed : int
        Seeds what is random: the order of tied heatmap values, ROAD's noise.
    """

    target: Any = None
    target_names: Any = None
    score: str = 'output'
    output: Any = None
    batch_size: int = 32
    progress: Optional[bool] = None
    channels_first: Optional[bool] = None
    seed: int = 0

    def __post_init__(self) -> None:
        _check_target(self.target)
        if self.target_names is not None and (
                isinstance(self.target_names, (str, bytes)) or not isinstance(
                    self.target_names, (Sequence, np.ndarray, Mapping))):
            raise TypeError('target_names must be a list of names (one per output) or a dict '
                            f'{{index: name}}; got {type(self.target_names).__name__}')
        if not isinstance(self.score, str) or self.score not in SCORE_KINDS:
            raise ValueError(f'score must be one of {SCORE_KINDS}; got {self.score!r}')
        if isinstance(self.output, bool) or not (
                self.output is None or isinstance(self.output, (str, numbers.Integral))):
            raise TypeError('output must be None, an int index or a str key/name; got '
                            f'{type(self.output).__name__} {self.output!r}')
        if not _is_int(self.batch_size):
            raise TypeError(f'batch_size must be a positive int; got '
                            f'{type(self.batch_size).__name__} {self.batch_size!r}')
        if self.batch_size < 1:
            raise ValueError(f'batch_size must be a positive int; got {self.batch_size!r}')
        for name in ('progress', 'channels_first'):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, check_bool(name, value))
        if not _is_int(self.seed) or self.seed < 0:
            raise TypeError(f'seed must be a non-negative int; got {self.seed!r}')

    @classmethod
    def names(cls) -> tuple:
        """The option keywords, in order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_keywords(cls, keywords: Mapping[str, Any], *, function: str) -> 'ScoreOptions':
        """Build the options from a metric's keyword arguments (unknown ones: TypeError)."""
        unknown = sorted(set(keywords) - set(cls.names()))
        if unknown:
            raise TypeError(f'{function}() got unexpected keyword argument(s) {unknown}; '
                            f'its scoring options are: {", ".join(cls.names())}')
        return cls(**keywords)

    def name_of(self, index: int) -> Optional[str]:
        """The name ``target_names`` gives output ``index``, if any."""
        names = self.target_names
        if names is None:
            return None
        if isinstance(names, Mapping):
            value = names.get(index)
            return None if value is None else str(value)
        return str(names[index]) if 0 <= index < len(names) else None

    def index_of(self, name: str) -> int:
        """The output index of ``name`` in ``target_names``, or a ValueError."""
        names = self.target_names
        pairs = (names.items() if isinstance(names, Mapping)
                 else enumerate([] if names is None else names))
        for index, candidate in pairs:
            if str(candidate) == name:
                return int(index)
        raise ValueError(f'target {name!r} is not in target_names; pass target= as an int '
                         'output index, or target_names= that include it')


F = TypeVar('F', bound=Callable[..., Any])


def with_score_options(function: F) -> F:
    """Show :class:`ScoreOptions`' keywords in place of a metric's ``**options``."""
    signature = inspect.signature(function)
    own = [p for p in signature.parameters.values() if p.kind != p.VAR_KEYWORD]
    options = [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default)
               for f in dataclasses.fields(ScoreOptions)]
    function.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=own + options)
    return function
