"""The keyword arguments every adapter shares, checked once.

Adapters call :func:`check_options` first thing, so that a bad argument is
reported the same way whatever the framework, before any model is run.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from .gradcam import resolve_method
from .text import PADDING_SIDES, INTERPOLATION_KINDS

__all__ = ['SCORES', 'ExplainOptions', 'check_options']

#: Accepted values of ``score``.
SCORES = ('auto', 'output')


@dataclass(frozen=True)
class ExplainOptions:
    """Validated, framework-independent options of one explanation."""

    method: str
    relu: bool
    counterfactual: bool
    score: str
    padding: Optional[str]
    interpolation_kind: str


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f'{name} must be True or False; got {type(value).__name__} {value!r}')
    return value


def check_options(*, method: Any = 'gradcam', relu: Any = True, counterfactual: Any = False,
                  score: Any = 'auto', padding: Any = None,
                  interpolation_kind: Any = 'linear', top_targets: Any = None,
                  targets: Any = None) -> ExplainOptions:
    """Validate the shared keyword arguments.

    Parameters
    ----------
    method : str
        ``'gradcam'``, ``'gradcam++'``, ``'layercam'`` or ``'hirescam'``.
    relu, counterfactual : bool
    score : {'auto', 'output'}
        ``'auto'``: the pre-softmax logit when the model visibly ends in a
        softmax, else the raw output; ``'output'``: always the raw output.
    padding : {'pre', 'post', None}
    interpolation_kind : str
    top_targets, targets
        Only checked for being given together.

    Returns
    -------
    ExplainOptions
    """
    if targets is not None and top_targets is not None:
        raise ValueError('pass either targets or top_targets, not both '
                         f'(got targets={targets!r}, top_targets={top_targets!r})')
    if not isinstance(score, str) or score not in SCORES:
        raise ValueError(f"score must be 'auto' or 'output'; got {score!r}")
    if padding not in PADDING_SIDES:
        raise ValueError(f"padding must be 'pre', 'post' or None; got {padding!r}")
    if interpolation_kind not in INTERPOLATION_KINDS:
        raise ValueError(f'interpolation_kind must be one of {INTERPOLATION_KINDS}; '
                         f'got {interpolation_kind!r}')
    return ExplainOptions(method=resolve_method(method), relu=_check_bool('relu', relu),
                          counterfactual=_check_bool('counterfactual', counterfactual),
                          score=score, padding=padding, interpolation_kind=interpolation_kind)
