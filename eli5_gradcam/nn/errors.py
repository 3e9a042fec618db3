"""Whose fault is an exception, and whose frame should a warning point at.

An explanation runs the user's model, so an exception raised during the
forward pass may come from the model (a wrong input shape, a bug in the
user's ``forward``) or from this package (a hook, the score selection).  The
first is reported as a named ``ValueError`` about ``doc``; the second must
surface as itself, with its own traceback, not disguised as the user's
mistake.  :func:`library_fault` tells them apart from the traceback.
"""
from __future__ import annotations

import os
import sys
import sysconfig
from types import CodeType
from typing import Callable, Set, Tuple, TypeVar

__all__ = ['ModelNotSupported', 'model_boundary', 'pass_through', 'library_fault', 'user_stacklevel']

#: This package's folder: frames here are the library's.
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep

#: Folders of this package that hold models as a user writes them (the demo's
#: classifiers): their frames are the model's, not the library's.
USER_CODE_DIRS: Tuple[str, ...] = (os.path.join(PACKAGE_DIR, 'demo') + os.sep,)

#: Installed packages and the standard library (frameworks, eli5, functools...).
_INSTALLED: Tuple[str, ...] = tuple(sorted({
    os.path.abspath(sysconfig.get_paths()[name]) + os.sep
    for name in ('stdlib', 'platstdlib', 'purelib', 'platlib')}))

class ModelNotSupported(ValueError):
    """The model cannot be explained with Grad-CAM (not the arguments' fault).

    :func:`eli5.explain_prediction` then returns eli5's "not supported"
    explanation (an ``Explanation`` with ``error`` set), as eli5 does for
    estimators it does not know; a batch explanation raises it.
    """


_BOUNDARIES: Set[CodeType] = set()
_PASS_THROUGH: Set[CodeType] = set()

F = TypeVar('F', bound=Callable)


def model_boundary(function: F) -> F:
    """Mark a function of ours that calls into the user's model.

    What is raised below it, outside our own code, is the model's doing.
    """
    _BOUNDARIES.add(function.__code__)
    return function


def pass_through(function: F) -> F:
    """Mark a wrapper of ours that only forwards a call of the user's code."""
    _PASS_THROUGH.add(function.__code__)
    return function


def _is_ours(filename: str) -> bool:
    path = os.path.abspath(filename)
    return path.startswith(PACKAGE_DIR) and not path.startswith(USER_CODE_DIRS)


def _is_installed(filename: str) -> bool:
    return filename.startswith('<frozen') or os.path.abspath(filename).startswith(_INSTALLED)


def library_fault(exc: BaseException) -> bool:
    """Whether ``exc`` was raised by this package's code rather than the user's model.

    The traceback is read from the raising frame outwards.  Frames of
    installed packages (torch, keras, tensorflow, jax, numpy, the standard
    library) and our pass-through wrappers are skipped; the first frame left
    decides: one of ours is a library fault; the user's code, or reaching a
    :func:`model_boundary` (the call into the model), is the model's.
    """
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_code)
        tb = tb.tb_next
    for code in reversed(frames):
        if code in _BOUNDARIES:
            return False
        if code in _PASS_THROUGH:
            continue
        if _is_ours(code.co_filename):
            return True
        if not _is_installed(code.co_filename):
            return False
    return False


def user_stacklevel() -> int:
    """``stacklevel`` that points a warning at the first frame outside this
    package and eli5 (the user's call), for ``warnings.warn``."""
    library: Tuple[str, ...] = (PACKAGE_DIR, os.path.abspath(functools_file()))
    eli5_file = getattr(sys.modules.get('eli5'), '__file__', None)
    if eli5_file:
        library += (os.path.dirname(os.path.abspath(eli5_file)) + os.sep,)
    level = 1
    frame = sys._getframe(1)
    while frame is not None:
        if not os.path.abspath(frame.f_code.co_filename).startswith(library):
            return level
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def functools_file() -> str:
    """Where :mod:`functools` lives (eli5's singledispatch wrapper runs there)."""
    import functools
    return functools.__file__
