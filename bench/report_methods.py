"""RESULTS.md tables of the gradient-free methods (``methods_torch.py``, ``methods_keras.py``)."""
from __future__ import annotations

from typing import Any, Callable, Dict, List

__all__ = ['methods_tables', 'METHOD_TABLES']

#: The tables of the gradient-free methods section, in report order.
METHOD_TABLES = ('eigencam', 'ablationcam', 'scorecam')


def _agreements(result: Dict[str, Any]) -> List[str]:
    lines = []
    for other, values in result.get('agreement', {}).items():
        lines.append(f'- agreement with {other}: largest difference '
                     f'{values["max_difference"]:.2e} after min-max scaling, correlation '
                     f'{values["correlation"]:.6f}')
    return lines + [''] if lines else []


def _peer(times: Dict[str, Any], prefix: str) -> str:
    return next((name for name in times if name.startswith(prefix)), '')


def methods_tables(data: Dict[str, Any], table: Callable[..., List[str]]) -> List[str]:
    """Markdown for one framework's ``methods`` results; ``table`` is run.py's ``_table``."""
    model, layers, batch = data['model'], data['layers'], data.get('batch_size')
    lines = ['### Gradient-free methods', '',
             f'One document, the top class; batch size {batch} where a method runs extra '
             'forward passes. "floor" columns: the contender named in the title.', '']
    eigen = data['eigencam']['times']
    lines += table(f'Eigen-CAM ({model}, {layers["eigencam"]}): floor = one forward pass, '
                   'no gradient', {model: eigen}, floor_name='forward')
    ablation = data['ablationcam']
    ours = _peer(ablation['times'], 'eli5-gradcam (batch')
    peer = _peer(ablation['times'], 'pytorch-grad-cam') or ours
    lines += table(f'Ablation-CAM ({model}, {layers["ablationcam"]}): floor = {peer}',
                   {model: ablation['times']}, floor_name=peer, ours_name=ours)
    lines += _agreements(ablation)
    score = data['scorecam']
    peer = _peer(score['times'], 'pytorch-grad-cam') or _peer(score['times'], 'tf-keras-vis')
    lines += table(f'Score-CAM ({model}, {layers["scorecam"]}, {score.get("channels")} '
                   f'channels): floor = {peer or "eli5-gradcam"}',
                   {model: score['times']}, floor_name=peer or 'eli5-gradcam')
    lines += _agreements(score)
    if data.get('wall_s') is not None:
        lines += [f'Wall time of these rows: {data["wall_s"]:.0f} s', '']
    if 'rerun' in data:
        rerun = data['rerun']
        lines += [f'Measured again in a later run: {", ".join(rerun["tables"])} '
                  f'({rerun["wall_s"]:.0f} s); the wall time above is the first run\'s.', '']
    return lines
