"""``format_as_text`` with the "... N more positive ..." line under its table.

eli5 0.16's text formatter splits each target's table in two with
``table[:-len(w.neg)]`` (positive rows) and ``table[-len(w.neg):]`` (negative
rows).  When a target has no negative features, as every Grad-CAM map with
``relu=True`` has, ``len(w.neg)`` is 0: ``table[:-0]`` is empty and
``table[-0:]`` is the whole table, so the "... N more positive ..." line is
printed between the ``y=... top features`` header and the table it refers
to.  No shape of :class:`eli5.base.FeatureWeights` avoids that short of
inventing negative rows, so :func:`format_as_text` moves the line instead.
"""
from __future__ import annotations

from typing import List, Optional, Sequence

import attr
from eli5.base import Explanation, FeatureWeights, TargetExplanation
from eli5.formatters import fields
from eli5.formatters.text import format_as_text as _eli5_format_as_text
from eli5.formatters.utils import should_highlight_spaces

__all__ = ['format_as_text', 'misplaces_remaining']

_ELLIPSIS = '\u2026'


def misplaces_remaining(weights: Optional[FeatureWeights]) -> bool:
    """Whether eli5's text formatter prints ``weights``' "more" lines above the table.

    That happens when there are more features than listed
    (``pos_remaining`` or ``neg_remaining``) and no negative feature is listed.
    """
    return (isinstance(weights, FeatureWeights) and not weights.neg
            and bool(weights.pos_remaining or weights.neg_remaining))


def _remaining_lines(weights: FeatureWeights, width: int) -> List[str]:
    """eli5's "... N more positive/negative ..." lines, centred on the table's width."""
    lines = []
    for remaining, kind in ((weights.pos_remaining, 'positive'),
                            (weights.neg_remaining, 'negative')):
        if remaining:
            text = f'{_ELLIPSIS} {remaining} more {kind} {_ELLIPSIS}'
            lines.append(('{:^%d}' % width).format(text))
    return lines


def _without_remaining(target: TargetExplanation) -> TargetExplanation:
    weights = target.feature_weights
    if not misplaces_remaining(weights):
        return target
    return attr.evolve(target, feature_weights=attr.evolve(
        weights, pos_remaining=0, neg_remaining=0))


def _remaining_after_tables(section: str, targets: Sequence[TargetExplanation]) -> str:
    """Add each target's "more" lines under its table in eli5's targets section.

    eli5 writes, per target, a header line, the table's lines (never empty:
    each has a weight) and an empty line; ``section`` was rendered without
    the "more" lines of the targets :func:`misplaces_remaining` flags.
    """
    lines: List[str] = []
    block: List[str] = []
    remaining = iter(targets)
    for line in section.split('\n'):
        if line:
            block.append(line)
            continue
        target = next(remaining, None)
        if target is not None and misplaces_remaining(target.feature_weights):
            width = max((len(row) for row in block[1:]), default=0)
            block.extend(_remaining_lines(target.feature_weights, width))
        lines.extend(block)
        lines.append(line)
        block = []
    lines.extend(block)
    return '\n'.join(lines)


def format_as_text(expl: Explanation,
                   show: Sequence[str] = fields.ALL,
                   highlight_spaces: Optional[bool] = None,
                   show_feature_values: bool = False) -> str:
    """eli5's :func:`eli5.format_as_text`, with each "... N more ..." line under its table.

    Replaces :func:`eli5.format_as_text` once ``eli5_gradcam`` is imported.
    The output is eli5's, byte for byte, except for targets that list no
    negative feature but have more features than listed: eli5 0.16 prints
    their "... N more positive ..." line above the table (see the module's
    docstring); here it comes after the table's last row.

    Parameters
    ----------
    expl : eli5.base.Explanation
    show, highlight_spaces, show_feature_values
        eli5's: the sections to show (``eli5.formatters.fields``), whether to
        mark spaces in feature names, whether to show feature values.

    Returns
    -------
    str
    """
    targets = expl.targets if isinstance(expl, Explanation) else None
    if not targets or not any(misplaces_remaining(t.feature_weights) for t in targets):
        return _eli5_format_as_text(
            expl, show=show, highlight_spaces=highlight_spaces,
            show_feature_values=show_feature_values)
    if highlight_spaces is None:
        highlight_spaces = should_highlight_spaces(expl)
    listed = attr.evolve(expl, targets=[_without_remaining(t) for t in targets])
    sections = [_eli5_format_as_text(listed, show=())]          # the error, if any
    listed = attr.evolve(listed, error=None)
    for key in show:
        section = _eli5_format_as_text(listed, show=(key,), highlight_spaces=highlight_spaces,
                                       show_feature_values=show_feature_values)
        if key == 'targets':
            section = _remaining_after_tables(section, targets)
        sections.append(section)
    return '\n'.join(section for section in sections if section)
