"""Aggregate the per-case scores into tables, findings and the curves figure."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import numpy as np

__all__ = ['aggregate', 'markdown_tables', 'findings', 'plot_curves', 'COLUMNS']

#: (key, header, better): the table's columns.
COLUMNS: Tuple[Tuple[str, str, str], ...] = (
    ('deletion', 'deletion AUC ↓', 'low'),
    ('insertion', 'insertion AUC ↑', 'high'),
    ('average_drop', 'average drop % ↓', 'low'),
    ('increase', 'increase in confidence % ↑', 'high'),
    ('morf', 'ROAD MoRF ↓', 'low'),
    ('lerf', 'ROAD LeRF ↑', 'high'),
    ('pointing', 'pointing game ↑', 'high'),
    ('energy', 'energy pointing ↑', 'high'),
    ('seconds', 's / explanation ↓', 'low'),
)

_OURS = 'eli5-gradcam Grad-CAM'


def _mean(values: List[float]) -> Optional[float]:
    return float(np.mean(values)) if values else None


def aggregate(entries: List[Dict[str, Any]]) -> Dict[str, Dict[str, Any]]:
    """Per contender: the mean of each metric over the cases (seconds: the median)."""
    table: Dict[str, Dict[str, Any]] = {}
    for contender in dict.fromkeys(entry['contender'] for entry in entries):
        rows = [e for e in entries if e['contender'] == contender and 'error' not in e]
        errors = [e['error'] for e in entries if e['contender'] == contender and 'error' in e]
        drops = [max(r['original'] - r['masked'], 0.0) / r['original'] for r in rows
                 if 'original' in r]
        table[contender] = {
            'cases': len(rows), 'errors': errors,
            'deletion': _mean([auc(r['fractions'], r['deletion']) for r in rows]),
            'insertion': _mean([auc(r['fractions'], r['insertion']) for r in rows]),
            'average_drop': None if not drops else 100.0 * float(np.mean(drops)),
            'increase': _mean([100.0 * (r['masked'] > r['original']) for r in rows
                               if 'original' in r]),
            'morf': _mean([r['morf'] for r in rows if 'morf' in r]),
            'lerf': _mean([r['lerf'] for r in rows if 'lerf' in r]),
            'pointing': _mean([float(r['hit']) for r in rows if 'hit' in r]),
            'energy': _mean([r['energy'] for r in rows if 'energy' in r]),
            'seconds': float(np.median([r['seconds'] for r in rows])) if rows else None,
        }
    return table


def auc(fractions: List[float], scores: List[float]) -> float:
    """Trapezoidal area, as :attr:`eli5_gradcam.metrics.PerturbationCurve.auc`."""
    x, y = np.asarray(fractions), np.asarray(scores)
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2.0))


def _cell(key: str, value: Optional[float]) -> str:
    if value is None:
        return '–'
    if key == 'seconds':
        return f'{value:.3f}' if value < 10 else f'{value:.1f}'
    if key in ('average_drop', 'increase'):
        return f'{value:.1f}'
    return f'{value:.3f}'


def markdown_tables(table: Dict[str, Dict[str, Any]]) -> str:
    """One markdown table: a row per contender, the columns that have values."""
    keys = [c for c in COLUMNS if any(row[c[0]] is not None for row in table.values())]
    lines = ['| contender | cases | ' + ' | '.join(header for _, header, _ in keys) + ' |',
             '|---|---:|' + '---:|' * len(keys)]
    for contender, row in table.items():
        cells = [_cell(key, row[key]) for key, _, _ in keys]
        lines.append(f'| {contender} | {row["cases"]} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


#: Rates in percent (or fractions): compared in points, not relative to a value near 0.
_RATES = {'average_drop': 1.0, 'increase': 1.0, 'pointing': 100.0}


def _relative(ours: float, theirs: float, better: str, key: str = '') -> str:
    """'x% better' / 'x% worse' for ours against theirs (rates: 'x points')."""
    if key in _RATES:
        points = (ours - theirs) * _RATES[key]
        good = points < 0 if better == 'low' else points > 0
        return 'equal' if points == 0 else (
            f'{abs(points):.0f} points {"better" if good else "worse"}')
    if theirs == 0:
        return 'n/a'
    change = (ours - theirs) / abs(theirs) * 100.0
    good = change < 0 if better == 'low' else change > 0
    return f'{abs(change):.0f}% {"better" if good else "worse"}'


def findings(table: Dict[str, Dict[str, Any]], suite: str) -> List[str]:
    """Sentences comparing Grad-CAM with the references, LIME and SHAP, from the numbers."""
    if _OURS not in table:
        return []
    ours, lines = table[_OURS], []
    references = [name for name in table if name.startswith('random')]
    for name in references:
        if ours['deletion'] is not None and table[name]['deletion'] is not None:
            lines.append(f'* {suite}: Grad-CAM deletion AUC {ours["deletion"]:.3f} vs '
                         f'{name} {table[name]["deletion"]:.3f} '
                         f'({_relative(ours["deletion"], table[name]["deletion"], "low")}).')
    peers = [name for name in table if name.startswith(('LIME', 'SHAP'))]
    for peer in peers:
        parts = []
        for key, header, better in COLUMNS:
            mine, theirs = ours[key], table[peer][key]
            if key == 'seconds' or mine is None or theirs is None:
                continue
            parts.append(f'{header.rstrip(" ↓↑")} {_relative(mine, theirs, better, key)}')
        if ours['seconds'] and table[peer]['seconds']:
            parts.append(f'{table[peer]["seconds"] / ours["seconds"]:.0f}x less time')
        lines.append(f'* {suite}: Grad-CAM vs {peer}: ' + '; '.join(parts) + '.')
    for key, header, better in COLUMNS:
        values = {name: row[key] for name, row in table.items() if row[key] is not None}
        if key == 'seconds' or len(values) < 2 or ours[key] is None:
            continue
        best = (min if better == 'low' else max)(values, key=values.__getitem__)
        if best != _OURS:
            lines.append(f'* {suite}, {header.rstrip(" ↓↑")}: {best} wins with '
                         f'{_cell(key, values[best])} against Grad-CAM\'s '
                         f'{_cell(key, ours[key])} (Grad-CAM is '
                         f'{_relative(ours[key], values[best], better, key)}).')
    return lines


def plot_curves(entries: List[Dict[str, Any]], path: str, title: str) -> None:
    """Mean deletion and insertion curves per contender, side by side."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.6), sharey=True)
    contenders = list(dict.fromkeys(e['contender'] for e in entries if 'error' not in e))
    for contender in contenders:
        rows = [e for e in entries if e['contender'] == contender and 'error' not in e]
        ours = contender.startswith('eli5-gradcam')
        style = dict(linewidth=2.2 if contender == _OURS else 1.0,
                     linestyle='-' if ours else ('--' if 'random' in contender
                                                 or 'centre' in contender else '-.'))
        for axis, key in zip(axes, ('deletion', 'insertion')):
            curve = np.mean([r[key] for r in rows], axis=0)
            axis.plot(rows[0]['fractions'], curve, label=contender, **style)
    for axis, key in zip(axes, ('deletion (lower is better)', 'insertion (higher is better)')):
        axis.set_title(key)
        axis.set_xlabel('fraction of pixels removed' if 'deletion' in key
                        else 'fraction of pixels revealed')
        axis.grid(alpha=0.3)
    axes[0].set_ylabel('target probability (mean over documents)')
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, fontsize=8, loc='center left', bbox_to_anchor=(1.0, 0.5))
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110, bbox_inches='tight')
    plt.close(figure)


#: The faithfulness metrics the "within ~10%" target is read on.
FAITHFULNESS = ('deletion', 'insertion', 'morf', 'lerf')


def _within(ours: float, theirs: float, better: str, margin: float = 0.10) -> bool:
    """Ours better than theirs, or worse by at most ``margin`` of theirs."""
    if better == 'low':
        return ours <= theirs * (1.0 + margin)
    return ours >= theirs * (1.0 - margin)


def targets(table: Dict[str, Dict[str, Any]], suite: str) -> List[str]:
    """The issue's targets, each read off the table as met or not met."""
    if _OURS not in table:
        return []
    ours, lines = table[_OURS], []
    for name in (n for n in table if n.startswith('random')):
        theirs = table[name]['deletion']
        if ours['deletion'] is None or theirs is None:
            continue
        met = ours['deletion'] <= 0.9 * theirs
        lines.append(f'* {suite}: Grad-CAM\'s deletion AUC clearly (>= 10%) below {name}\'s: '
                     f'**{"met" if met else "not met"}** ({ours["deletion"]:.3f} vs '
                     f'{theirs:.3f}).')
    for peer in (n for n in table if n.startswith(('LIME', 'SHAP'))):
        checks = []
        for key in FAITHFULNESS:
            better = next(b for k, _, b in COLUMNS if k == key)
            mine, theirs = ours[key], table[peer][key]
            if mine is not None and theirs is not None:
                checks.append((key, _within(mine, theirs, better), mine, theirs))
        ratio = (table[peer]['seconds'] / ours['seconds']
                 if ours['seconds'] and table[peer]['seconds'] else None)
        detail = ', '.join(f'{key} {"ok" if ok else "NOT within"} ({mine:.3f} vs {theirs:.3f})'
                           for key, ok, mine, theirs in checks)
        all_ok = all(ok for _, ok, _, _ in checks)
        lines.append(f'* {suite}: within ~10% of {peer} on faithfulness: '
                     f'**{"met" if all_ok else "not met"}**: {detail}.')
        if ratio is not None:
            lines.append(f'* {suite}: at 100x less time than {peer} or better: '
                         f'**{"met" if ratio >= 100 else "not met"}** ({ratio:.0f}x).')
    return lines


def rst_table(table: Dict[str, Dict[str, Any]], title: str) -> str:
    """The table as an rST ``list-table`` (for the docs page)."""
    keys = [c for c in COLUMNS if any(row[c[0]] is not None for row in table.values())]
    lines = [f'.. list-table:: {title}', '   :header-rows: 1', '',
             '   * - contender', '     - cases'] + [f'     - {header}' for _, header, _ in keys]
    for contender, row in table.items():
        lines += [f'   * - {contender}', f'     - {row["cases"]}']
        lines += [f'     - {_cell(key, row[key])}' for key, _, _ in keys]
    return '\n'.join(lines) + '\n'
