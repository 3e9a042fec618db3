"""The keyword arguments every adapter shares, checked once.

Adapters call :func:`check_options` first thing, so that a bad argument is
reported the same way whatever the framework, before any model is run.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

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
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f'{name} must be True or False; got {type(value).__name__} {value!r}')
    return bool(value)


def _check_str(name: str, value: Any, allowed: tuple) -> None:
    if not (isinstance(value, str) or (value is None and None in allowed)):
        raise TypeError(f'{name} must be one of {allowed}; got {type(value).__name__} '
                        f'{value!r}')
    if value not in allowed:
        raise ValueError(f'{name} must be one of {allowed}; got {value!r}')


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
    _check_str('score', score, SCORES)
    _check_str('padding', padding, PADDING_SIDES)
    _check_str('interpolation_kind', interpolation_kind, INTERPOLATION_KINDS)
    return ExplainOptions(method=resolve_method(method), relu=_check_bool('relu', relu),
                          counterfactual=_check_bool('counterfactual', counterfactual),
                          score=score, padding=padding, interpolation_kind=interpolation_kind)
