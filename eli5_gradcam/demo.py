"""The end-to-end example behind ``eli5-gradcam demo``.

It runs the whole core path with no framework: a synthetic layer capture
(activations whose channels respond to two objects of a generated picture,
and the gradients of two class scores) becomes an eli5 explanation, which
:func:`eli5.format_as_image` and :func:`eli5.format_as_html` render.
"""
from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Tuple, Union

import numpy as np
from PIL import Image, ImageDraw

__all__ = ['run_demo', 'synthetic_scene']


def synthetic_scene(size: int = 224, grid: int = 7) -> Tuple[Image.Image, np.ndarray]:
    """A picture with a red disc and a blue square, and a layer's activations.

    Returns
    -------
    image : PIL.Image.Image
        The picture.
    activations : numpy.ndarray
        ``(1, grid, grid, 2)``: channel 0 fires on the disc, channel 1 on the square.
    """
    image = Image.new('RGB', (size, size), (235, 230, 210))
    draw = ImageDraw.Draw(image)
    disc = (int(size * 0.12), int(size * 0.15), int(size * 0.45), int(size * 0.48))
    square = (int(size * 0.58), int(size * 0.55), int(size * 0.88), int(size * 0.85))
    draw.ellipse(disc, fill=(200, 40, 40))
    draw.rectangle(square, fill=(40, 60, 200))
    centres = (np.arange(grid) + 0.5) / grid * size
    rows, cols = np.meshgrid(centres, centres, indexing='ij')

    def blob(box: Tuple[int, int, int, int]) -> np.ndarray:
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        radius = (box[2] - box[0]) / 2
        return np.exp(-((cols - cx) ** 2 + (rows - cy) ** 2) / (2 * radius ** 2))
    activations = np.stack([blob(disc), blob(square)], axis=-1)[np.newaxis]
    return image, activations


def run_demo(output: Union[str, os.PathLike]) -> Path:
    """Write the example's overlays and an HTML report into ``output``.

    Parameters
    ----------
    output : str or os.PathLike
        Folder to write into (created if needed).

    Returns
    -------
    pathlib.Path
        The HTML report.
    """
    import eli5

    import eli5_gradcam  # noqa: F401  (installs the formatters)
    from eli5_gradcam.nn import LayerCapture, explain_capture

    folder = Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    image, activations = synthetic_scene()
    # d(score)/d(activations): class 'disc' likes channel 0 and dislikes channel 1.
    gradients = np.array([[1.0, -0.5], [-0.5, 1.0]])[np.newaxis, :, np.newaxis, np.newaxis, :]
    gradients = np.broadcast_to(gradients, (1, 2) + activations.shape[1:]).copy()
    scores = np.einsum('bhwk,btk->bt', activations, gradients[:, :, 0, 0, :])
    capture = LayerCapture(activations=activations, gradients=gradients, scores=scores,
                           targets=np.array([[0, 1]]), layer_name='synthetic_conv',
                           score_name='synthetic score')
    sections = []
    for relu in (True, False):
        expl, = explain_capture(capture, estimator='synthetic model', kind='image',
                                images=[image], method='gradcam', relu=relu,
                                target_names=['disc', 'square'])
        name = f"overlay_{'relu' if relu else 'signed'}.png"
        eli5.format_as_image(expl).save(folder / name)
        sections.append(f'<h2>relu={relu}</h2><p>{html.escape(expl.description or "")}</p>'
                        f'<img src="{name}">' + eli5.format_as_html(expl))
    report = folder / 'report.html'
    report.write_text('<html><head><meta charset="utf-8"><title>eli5-gradcam demo</title>'
                      '</head><body><h1>eli5-gradcam: synthetic example</h1>'
                      + ''.join(sections) + '</body></html>', encoding='utf-8')
    return report
