"""The names of the methods: what ``method=`` accepts and what explanations call them."""
from __future__ import annotations

from typing import Dict

__all__ = ['METHOD_TITLES', 'resolve_method']

#: Display names used in explanations: every method ``method=`` accepts.
METHOD_TITLES: Dict[str, str] = {
    'gradcam': 'Grad-CAM',
    'gradcam++': 'Grad-CAM++',
    'xgradcam': 'XGrad-CAM',
    'layercam': 'LayerCAM',
    'hirescam': 'HiResCAM',
    'eigencam': 'Eigen-CAM',
    'eigengradcam': 'EigenGrad-CAM',
    'scorecam': 'Score-CAM',
    'ablationcam': 'Ablation-CAM',
    'guided-gradcam': 'Guided Grad-CAM',
    'guided-backprop': 'Guided Backpropagation',
}

_ALIASES = {
    'grad-cam': 'gradcam', 'grad_cam': 'gradcam',
    'gradcampp': 'gradcam++', 'grad-cam++': 'gradcam++',
    'gradcamplusplus': 'gradcam++', 'gradcam_plus_plus': 'gradcam++',
    'layer-cam': 'layercam', 'layer_cam': 'layercam',
    'hires-cam': 'hirescam', 'hires_cam': 'hirescam',
    'x-grad-cam': 'xgradcam', 'xgrad-cam': 'xgradcam', 'x-gradcam': 'xgradcam',
    'xgrad_cam': 'xgradcam', 'x_grad_cam': 'xgradcam',
    'eigen-cam': 'eigencam', 'eigen_cam': 'eigencam',
    'eigen-grad-cam': 'eigengradcam', 'eigengrad-cam': 'eigengradcam',
    'eigen-gradcam': 'eigengradcam', 'eigen_grad_cam': 'eigengradcam',
    'eigengrad_cam': 'eigengradcam',
    'guidedgradcam': 'guided-gradcam', 'guided_gradcam': 'guided-gradcam',
    'guided-grad-cam': 'guided-gradcam', 'guided_grad_cam': 'guided-gradcam',
    'guided grad-cam': 'guided-gradcam',
    'guidedbackprop': 'guided-backprop', 'guided_backprop': 'guided-backprop',
    'guided backprop': 'guided-backprop', 'guided-backpropagation': 'guided-backprop',
    'guided backpropagation': 'guided-backprop',
    'score-cam': 'scorecam', 'score_cam': 'scorecam',
    'ablation-cam': 'ablationcam', 'ablation_cam': 'ablationcam',
}


def resolve_method(method: object) -> str:
    """Return the canonical name of ``method`` or raise a helpful error.

    Parameters
    ----------
    method : str
        One of ``'gradcam'``, ``'gradcam++'``, ``'xgradcam'``, ``'layercam'``,
        ``'hirescam'``, ``'eigencam'``, ``'eigengradcam'``, ``'scorecam'``,
        ``'ablationcam'``, ``'guided-gradcam'``, ``'guided-backprop'``
        (case-insensitive; ``'Grad-CAM'``, ``'XGrad-CAM'``, ``'Eigen-CAM'``,
        ``'Score-CAM'``, ``'Guided Grad-CAM'`` and similar spellings are
        accepted).

    Returns
    -------
    str
        The key of :data:`METHOD_TITLES` (of :data:`METHODS` for the methods
        that map a layer).
    """
    if not isinstance(method, str):
        raise TypeError(f'method must be a str, one of {sorted(METHOD_TITLES)}; '
                        f'got {type(method).__name__} {method!r}')
    key = method.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in METHOD_TITLES:
        raise ValueError(f'method must be one of {sorted(METHOD_TITLES)}; got {method!r}')
    return key
