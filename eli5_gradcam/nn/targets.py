"""Which outputs to explain: ``targets``, ``top_targets`` and ``target_names``.

The vocabulary is eli5's (see :func:`eli5.explain_prediction`): ``targets`` is
a list of class indices or, with ``target_names``, class names; ``top_targets``
asks for the ``k`` highest-scoring classes (negative ``k``: the lowest); with
neither, the top prediction is explained.
"""
from __future__ import annotations

import numbers
from typing import Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

__all__ = ['TargetNames', 'resolve_targets', 'target_labels', 'check_target_names']

TargetNames = Union[Sequence[str], Mapping[int, str]]


def _is_index(value: object) -> bool:
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
        bad = [k for k in names if not _is_index(k) or not 0 <= int(k) < n_outputs]
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
    if _is_index(target):
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


def resolve_targets(scores: np.ndarray,
                    *,
                    targets: object = None,
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
    scores = np.asarray(scores)
    if scores.ndim != 2:
        raise ValueError(f'scores must be (batch, outputs), got shape {scores.shape}')
    batch, n_outputs = scores.shape
    names = check_target_names(target_names, n_outputs)
    if targets is not None and top_targets is not None:
        raise ValueError('pass either targets or top_targets, not both '
                         f'(got targets={targets!r}, top_targets={top_targets!r})')
    if top_targets is not None:
        if not _is_index(top_targets) or top_targets == 0:
            raise ValueError('top_targets must be a non-zero int (negative: lowest '
                             f'scores first); got {top_targets!r}')
        k = min(abs(int(top_targets)), n_outputs)
        order = np.argsort(-scores if top_targets > 0 else scores, axis=1, kind='stable')
        return order[:, :k].astype(np.int64)
    if targets is None:
        return np.argmax(scores, axis=1).astype(np.int64)[:, np.newaxis]
    if _is_index(targets) or isinstance(targets, (str, np.str_)):
        target_list: List[object] = [targets]
    elif isinstance(targets, (Sequence, np.ndarray)) and not isinstance(targets, bytes):
        target_list = list(np.asarray(targets).ravel()) if isinstance(
            targets, np.ndarray) else list(targets)
    else:
        raise TypeError('targets must be a list of int indices or str names, or None; '
                        f'got {type(targets).__name__}')
    if not target_list:
        raise ValueError('targets is empty; pass None for the top prediction')
    indices = [_one_index(t, n_outputs, names) for t in target_list]
    return np.tile(np.asarray(indices, dtype=np.int64), (batch, 1))


def target_labels(indices: Sequence[int],
                  target_names: Optional[TargetNames],
                  n_outputs: int) -> List[Union[int, str]]:
    """Display label of each output index: its name when known, else the index.

    Parameters
    ----------
    indices : sequence of int
    target_names : sequence or mapping, optional
    n_outputs : int

    Returns
    -------
    list of int or str
    """
    names = check_target_names(target_names, n_outputs) or {}
    return [names.get(int(i), int(i)) for i in indices]
