"""Which outputs to explain: ``targets``, ``top_targets`` and ``target_names``.

The vocabulary is eli5's (see :func:`eli5.explain_prediction`): ``targets`` is
a list of class indices or, with ``target_names``, class names; ``top_targets``
asks for the ``k`` highest-scoring classes (negative ``k``: the lowest); with
neither, the top prediction is explained.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

__all__ = ['TargetNames', 'is_index', 'score_function_name', 'TargetRequest', 'target_request', 'resolve_targets',
           'target_labels', 'check_target_names']

TargetNames = Union[Sequence[str], Mapping[int, str]]


def is_index(value: object) -> bool:
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, bool)


def check_target_names(target_names: Optional[TargetNames],
                       n_outputs: int) -> Optional[Dict[int, str]]:
    """Validate ``target_names`` and return it as ``{index: name}``.

    Parameters
    ----------
    target_names : sequence of str, mapping of int to str, or None
        One name per model output (a list, tuple or array), or a mapping
        from output index to name (unlisted outputs keep their index).
    n_outputs : int
        Number of outputs (classes) of the model.

    Returns
    -------
    dict or None
    """
    if target_names is None:
        return None
    if isinstance(target_names, Mapping):
        names = dict(target_names)
        bad = [k for k in names if not is_index(k) or not 0 <= int(k) < n_outputs]
        if bad:
            raise ValueError(
                f'target_names keys must be output indices in [0, {n_outputs}); '
                f'got {bad[:5]}')
        return {int(k): str(v) for k, v in names.items()}
    if isinstance(target_names, (str, bytes)) or not isinstance(
            target_names, (Sequence, np.ndarray)):
        raise TypeError('target_names must be a list of names (one per output) or a '
                        f'dict {{index: name}}; got {type(target_names).__name__}')
    if len(target_names) != n_outputs:
        raise ValueError(f'target_names has {len(target_names)} names but the model '
                         f'has {n_outputs} outputs')
    return {i: str(name) for i, name in enumerate(target_names)}


def _one_index(target: object, n_outputs: int, names: Optional[Dict[int, str]]) -> int:
    if is_index(target):
        index = int(target)  # type: ignore[call-overload]
        if not 0 <= index < n_outputs:
            raise ValueError(f'targets: index {index} is out of range; the model has '
                             f'{n_outputs} output(s), valid indices are 0..{n_outputs - 1}')
        return index
    if isinstance(target, (str, np.str_)):
        if names is None:
            raise ValueError(f'targets: {target!r} is a name, but no target_names '
                             'were given to look it up; pass target_names or an index')
        for index, name in names.items():
            if name == target:
                return index
        shown = ', '.join(repr(n) for n in list(names.values())[:10])
        raise ValueError(f'targets: {target!r} is not in target_names '
                         f'({shown}{", ..." if len(names) > 10 else ""})')
    raise TypeError(f'targets must hold int indices or str names; '
                    f'got {type(target).__name__} {target!r}')


@dataclass(frozen=True)
class TargetRequest:
    """Which outputs to differentiate, decided once from the options.

    Either the ``top`` k outputs by score (negative: the lowest), chosen per
    document after the forward pass (in numpy by :meth:`select`, or inside a
    compiled function by the Keras backends, with the same tie rule: the
    lower index first), or ``given`` indices, the same for every document.

    Attributes
    ----------
    top : int, optional
    given : numpy.ndarray, optional
        ``(T,)`` int64 output indices.
    """

    top: Optional[int] = None
    given: Optional[np.ndarray] = None

    @property
    def count(self) -> int:
        """Number of targets per document."""
        if self.top is not None:
            return abs(int(self.top))
        assert self.given is not None
        return int(self.given.shape[0])

    @property
    def key(self) -> Tuple[str, int]:
        """What a compiled function depends on."""
        return ('top', int(self.top)) if self.top is not None else ('given', self.count)

    def given_indices(self, batch: int) -> np.ndarray:
        """The given indices as an int32 ``(batch, T)`` array (``T = 0`` for top-k)."""
        if self.given is None:
            return np.zeros((batch, 0), np.int32)
        return np.tile(self.given.astype(np.int32), (batch, 1))

    def select(self, scores: np.ndarray) -> np.ndarray:
        """``(batch, T)`` int64 indices for ``(batch, outputs)`` scores."""
        if self.given is not None:
            return np.tile(self.given, (scores.shape[0], 1))
        top = int(self.top or 1)
        order = np.argsort(-scores if top > 0 else scores, axis=1, kind='stable')
        return order[:, :abs(top)].astype(np.int64)


def score_function_name(function: Callable[..., Any], position: int) -> str:
    """How a score function target is shown: its ``name`` attribute, its
    ``__name__`` (not ``'<lambda>'``), else ``'score function N'``."""
    name = getattr(function, 'name', None) or getattr(function, '__name__', None)
    if not isinstance(name, str) or not name or name.startswith('<'):
        return f'score function {position}'
    return name


def target_request(n_outputs: int, *, targets: Optional[Sequence[object]] = None,
                   top_targets: Optional[int] = None,
                   target_names: Optional[TargetNames] = None) -> TargetRequest:
    """The :class:`TargetRequest` for a model with ``n_outputs`` scores.

    Score functions among ``targets`` stand for extra score columns after
    the model's outputs, in their order: the adapter appends one column per
    function (``n_outputs + j`` for the ``j``-th function).

    Parameters
    ----------
    n_outputs : int
        The model's outputs (0 when only score functions are explained).
    targets : sequence of int, str or callable, optional
        Explicit targets (validated by :class:`~eli5_gradcam.nn.options.ExplainOptions`),
        looked up here against the outputs and ``target_names``.
    top_targets : int, optional
        ``k`` highest (negative: lowest); capped at ``n_outputs``.
    target_names : sequence or mapping, optional

    Returns
    -------
    TargetRequest
    """
    names = check_target_names(target_names, n_outputs) if n_outputs else None
    if targets is None:
        k = 1 if top_targets is None else int(top_targets)
        return TargetRequest(top=int(np.sign(k)) * min(abs(k), n_outputs))
    functions = iter(range(n_outputs, n_outputs + len(targets)))
    indices = [next(functions) if callable(t) else _one_index(t, n_outputs, names)
               for t in targets]
    return TargetRequest(given=np.asarray(indices, dtype=np.int64))


def resolve_targets(scores: np.ndarray,
                    *,
                    targets: Any = None,
                    top_targets: Optional[int] = None,
                    target_names: Optional[TargetNames] = None) -> np.ndarray:
    """Output indices to explain, for each document.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(batch, outputs)`` scores from the forward pass (used to rank).
    targets : list of int or str, int, str, or None
        Explicit targets, the same for every document.
    top_targets : int or None
        The ``k`` highest-scoring outputs of each document, best first;
        a negative ``k`` gives the lowest.
    target_names : sequence or mapping, optional
        See :func:`check_target_names`; needed for targets given by name.

    Returns
    -------
    numpy.ndarray
        ``(batch, n_targets)`` int64 indices.
    """
    from .options import ExplainOptions
    scores = np.asarray(scores)
    if scores.ndim != 2:
        raise ValueError(f'scores must be (batch, outputs), got shape {scores.shape}')
    options = ExplainOptions(targets=targets, top_targets=top_targets,
                             target_names=target_names)
    return target_request(scores.shape[1], targets=options.targets,
                          top_targets=options.top_targets,
                          target_names=target_names).select(scores)


def target_labels(indices: Sequence[int],
                  target_names: Optional[TargetNames],
                  n_outputs: int,
                  function_names: Sequence[str] = ()) -> List[Union[int, str]]:
    """Display label of each output index: its name when known, else the index.

    Parameters
    ----------
    indices : sequence of int
    target_names : sequence or mapping, optional
    n_outputs : int
        The model's outputs.
    function_names : sequence of str
        Names of the score functions, whose columns follow the outputs.

    Returns
    -------
    list of int or str
    """
    names = check_target_names(target_names, n_outputs) if n_outputs else None
    names = dict(names or {})
    names.update({n_outputs + j: name for j, name in enumerate(function_names)})
    return [names.get(int(i), int(i)) for i in indices]
