"""The bad-input matrix's parts shared by the PyTorch and Keras suites (issue 7).

Each framework's module lists its own cases (its documents, models and
messages differ); this holds the case record, the helpers that build cases
around a framework's default documents, and the check every case ends with:
:func:`assert_named_error`.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Dict, NamedTuple, Tuple


class Case(NamedTuple):
    """One bad call: the model's name, the doc(s), the keywords, what it must raise."""

    id: str
    model: str
    doc: Any
    kwargs: Dict[str, Any]
    error: type
    names: str          # regex: the argument the message must name


CaseMaker = Callable[..., Case]


def case_makers(image: Any, ids: Any, tokens: Any,
                docs: Any) -> Tuple[CaseMaker, CaseMaker, CaseMaker]:
    """``(case, text, batch)``: build cases around a framework's default documents.

    ``case`` explains ``image`` with the image model, ``text`` explains ``ids``
    with ``tokens`` with the text model, ``batch`` runs ``explain_predictions``
    over ``docs`` without a progress bar; each keyword overrides a default.
    """
    def case(id: str, error: type, names: str, doc: Any = image, model: str = 'image',
             **kwargs: Any) -> Case:
        return Case(id, model, doc, kwargs, error, names)

    def text(id: str, error: type, names: str, doc: Any = ids, **kwargs: Any) -> Case:
        kwargs.setdefault('tokens', tokens)
        return Case(id, 'text', doc, kwargs, error, names)

    def batch(id: str, error: type, names: str, docs: Any = docs, model: str = 'image',
              **kwargs: Any) -> Case:
        kwargs.setdefault('progress', False)
        return Case(id, model, docs, kwargs, error, names)

    return case, text, batch


def assert_named_error(info: Any, error: type, names: str) -> None:
    """The error is ours: the right builtin type, naming the argument, no framework class."""
    exc = info.value
    assert type(exc) is error, f'{type(exc).__module__}.{type(exc).__name__}: {exc}'
    assert type(exc).__module__ == 'builtins'
    assert re.search(names, str(exc)), f'{names!r} not in: {exc}'
    assert 'Traceback' not in str(exc) and '(most recent call last)' not in str(exc)
    for cause in (exc.__cause__, exc.__context__):
        if cause is not None and str(cause):
            # a framework's (or the model's) message may be quoted, but the naming of
            # the argument must be our own words, outside the quoted text
            assert str(exc) != str(cause)
            assert re.search(names, str(exc).replace(str(cause), '')), (
                f'{names!r} only in the quoted cause: {exc}')
