"""The words of an explanation: what was computed, on which layer, how to read it."""
from __future__ import annotations

from .capture import LayerCapture
from .gradcam import METHOD_TITLES
from .options import ExplainOptions
from .perturbation import evidence_source

__all__ = ['describe']


def _layers_text(capture: LayerCapture) -> str:
    parts = []
    for arrays in capture.layers:
        shape = 'x'.join(str(size) for size in arrays.spatial_shape)
        parts.append(f"'{arrays.layer_name}' ({shape} positions, "
                     f'{arrays.activations.shape[-1]} channels)')
    if len(parts) == 1:
        return f'layer {parts[0]}'
    return f'layers {", ".join(parts)}, fused on the finest grid'


def _method_text(capture: LayerCapture, options: ExplainOptions) -> str:
    title = METHOD_TITLES[options.method]
    score = f"each target's {capture.score_name}"
    if options.method == 'guided-backprop':
        return f'{title}: the guided gradient of {score} with respect to the input pixels.'
    text = (f'{title} on {_layers_text(capture)}, '
            f'{evidence_source(options.method, capture.score_name)}')
    if options.method == 'guided-gradcam':
        text += (", upsampled to the input's pixels and multiplied by the guided gradient "
                 'of the input')
    return text + '.'


def describe(capture: LayerCapture, options: ExplainOptions, kind: str) -> str:
    """``Explanation.description``: the method, the layer(s) and how to read the map."""
    parts = [_method_text(capture, options)]
    if 'eigen' in options.smooth:
        parts.append('Eigen-smoothed: first principal component of the channel terms.')
    if 'aug' in options.smooth:
        parts.append('Augmentation-smoothed: averaged over the image flipped and shifted.')
    if options.counterfactual:
        parts.append('Counterfactual: the map shows what lowers the score.')
    if options.relu:
        parts.append('Only positive evidence is kept (relu); values in [0, 1].')
    else:
        parts.append('Signed map (relu off): negative values lower the score; '
                     'values in [-1, 1].')
    if kind == 'text':
        parts.append('The layer\'s sequence is resized to the tokens.')
    return ' '.join(parts)
