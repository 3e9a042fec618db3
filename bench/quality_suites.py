"""The models and documents of the quality comparison, all offline.

* ``imagenet``: the demo's pretrained EfficientNet-Lite0 on scikit-image's
  photos (target: the top prediction) and on composites, the cat of
  ``chelsea`` and the cup of ``coffee`` pasted at known places onto grass and
  brick (targets: 'Egyptian cat' and 'cup', each with its box).
* ``shapes``: the tests' localisation set, a plus or a hollow square stamped
  at a random place on 24x24 noise (box known), and a small CNN trained on it.
* ``digits``: scikit-learn's 8x8 digits and a small CNN trained on them.
* ``text``: the demo's review classifier; the box is the opinion word.

A suite holds the model, its cases (document + target + box) and what LIME
and SHAP need: pictures in display space and ``predict_pictures``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
from PIL import Image
from torch import nn

from eli5_gradcam.demo.imagenet import IMAGENET_MEAN, IMAGENET_STD, load_classifier, to_tensor

__all__ = ['Case', 'ImageSuite', 'TextSuite', 'imagenet_suite', 'shapes_suite',
           'digits_suite', 'text_suite']

CAT, CUP = 285, 968                         # 'Egyptian cat', 'cup'
CAT_CROP, CUP_CROP = (20, 0, 400, 300), (70, 10, 490, 390)
COMPOSITES = {   # background: (cat box, cup box) as (left, top, right, bottom)
    'grass': ((10, 16, 114, 98), (118, 122, 214, 210)),
    'brick': ((112, 130, 216, 212), (14, 12, 110, 100)),
    'gravel': ((110, 14, 214, 96), (12, 124, 108, 212)),
}


@dataclass
class Case:
    """One document and one target of a suite."""

    name: str
    doc: np.ndarray                       # (1, ...) as the model takes it
    picture: Optional[np.ndarray]         # (H, W, C) display space, for LIME and SHAP
    target: int
    target_name: str
    box: Optional[Tuple[int, ...]] = None
    seed: int = 0
    tokens: Optional[List[str]] = None


@dataclass
class ImageSuite:
    """An image model, its cases and the settings of its metrics."""

    name: str
    model: nn.Module
    cases: List[Case]
    low: float = 0.0                      # display space -> model space: an affine map
    high: float = 1.0
    mean: Any = 0.0
    std: Any = 1.0
    probabilities: bool = True            # the model ends in a softmax
    shap_blur: int = 128
    tolerance: int = 15
    batch_size: int = 8
    layer_grid: Tuple[int, int] = (1, 1)
    kind: str = 'image'
    metric_options: Dict[str, Any] = field(default_factory=dict)

    @property
    def image_shape(self) -> Tuple[int, int]:
        return tuple(self.cases[0].doc.shape[2:4])      # type: ignore[return-value]

    def tensor(self, case: Case) -> torch.Tensor:
        return torch.from_numpy(case.doc)

    def explain_options(self, case: Case) -> Dict[str, Any]:
        return {}

    def picture(self, case: Case) -> np.ndarray:
        assert case.picture is not None
        return case.picture

    def lime_picture(self, case: Case) -> np.ndarray:
        """LIME's segmentation wants three channels in [0, 1]."""
        picture = (self.picture(case) - self.low) / (self.high - self.low)
        return np.repeat(picture, 3, axis=-1) if picture.shape[-1] == 1 else picture

    def predict_pictures(self, pictures: np.ndarray) -> np.ndarray:
        """Class probabilities of display-space pictures ``(n, H, W, C)``."""
        pictures = np.asarray(pictures, dtype=np.float64)
        if pictures.shape[-1] == 3 and self.cases[0].doc.shape[1] == 1:
            pictures = pictures[..., :1] * (self.high - self.low) + self.low   # LIME's RGB
        inputs = (pictures - self.mean) / self.std
        with torch.no_grad():
            scores = self.model(torch.tensor(inputs.transpose(0, 3, 1, 2),
                                             dtype=torch.float32)).numpy()
        if self.probabilities:
            return scores
        exp = np.exp(scores - scores.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)


def _composite(background: str, cat_box: Tuple[int, ...], cup_box: Tuple[int, ...]
               ) -> Image.Image:
    import skimage.data
    picture = Image.fromarray(getattr(skimage.data, background)()).convert('RGB').resize(
        (224, 224), Image.Resampling.BICUBIC)
    for photo, crop, box in (('chelsea', CAT_CROP, cat_box), ('coffee', CUP_CROP, cup_box)):
        piece = Image.fromarray(getattr(skimage.data, photo)()).crop(crop)
        size = (box[2] - box[0], box[3] - box[1])
        picture.paste(piece.resize(size, Image.Resampling.BICUBIC), box[:2])
    return picture


def _imagenet_case(name: str, picture: Image.Image, model: nn.Module, target: Optional[int],
                   names: List[str], box: Optional[Tuple[int, ...]], seed: int) -> Case:
    tensor, shown = to_tensor(picture)
    if target is None:
        with torch.no_grad():
            target = int(model(tensor).argmax())
    return Case(name=name, doc=tensor.numpy(), picture=np.asarray(shown, np.float64) / 255.0,
                target=target, target_name=names[target], box=box, seed=seed)


def imagenet_suite(quick: bool) -> ImageSuite:
    """EfficientNet-Lite0 on photos and on composites with known boxes."""
    import skimage.data
    from eli5_gradcam.datasets import imagenet_class_names
    model, names = load_classifier(), imagenet_class_names()
    photos = ('chelsea',) if quick else ('chelsea', 'coffee', 'astronaut', 'rocket')
    cases = [_imagenet_case(photo, Image.fromarray(getattr(skimage.data, photo)()), model,
                            None, names, None, seed)
             for seed, photo in enumerate(photos)]
    backgrounds = ('grass',) if quick else ('grass', 'brick')
    for background in backgrounds:
        cat_box, cup_box = COMPOSITES[background]
        picture = _composite(background, cat_box, cup_box)
        for target, box in ((CAT, cat_box), (CUP, cup_box))[:1 if quick else 2]:
            cases.append(_imagenet_case(f'{background} composite', picture, model, target,
                                        names, box, len(cases)))
    return ImageSuite('imagenet', model, cases, mean=IMAGENET_MEAN, std=IMAGENET_STD,
                      layer_grid=(7, 7), batch_size=8)


def _train(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor, epochs: int) -> None:
    optimiser = torch.optim.Adam(model.parameters(), lr=0.01)
    generator = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(inputs), generator=generator)
        for start in range(0, len(inputs), 32):
            batch = order[start:start + 32]
            optimiser.zero_grad()
            nn.functional.cross_entropy(model(inputs[batch]), labels[batch]).backward()
            optimiser.step()
    model.eval()


def _stamps(count: int, rng: np.random.Generator, side: int = 24, size: int = 5):
    """The tests' localisation set: a plus (0) or a hollow square (1) on noise."""
    images = rng.normal(0.0, 0.15, size=(count, 1, side, side)).astype(np.float32)
    labels = rng.integers(0, 2, size=count)
    corners = rng.integers(0, side - size + 1, size=(count, 2))
    for image, label, (row, col) in zip(images, labels, corners):
        stamp = np.zeros((size, size), dtype=np.float32)
        if label == 0:
            stamp[size // 2, :] = stamp[:, size // 2] = 1.0
        else:
            stamp[0, :] = stamp[-1, :] = stamp[:, 0] = stamp[:, -1] = 1.0
        image[0, row:row + size, col:col + size] += stamp
    return images, labels, corners


def _small_cases(model: nn.Module, images: np.ndarray, names: List[str],
                 boxes: Optional[List[Tuple[int, ...]]]) -> List[Case]:
    with torch.no_grad():
        predicted = model(torch.from_numpy(images)).argmax(1).numpy()
    return [Case(name=f'#{i}', doc=images[i:i + 1], picture=images[i].transpose(1, 2, 0)
                 .astype(np.float64), target=int(predicted[i]), target_name=names[predicted[i]],
                 box=None if boxes is None else boxes[i], seed=i) for i in range(len(images))]


def shapes_suite(quick: bool) -> ImageSuite:
    """A CNN trained on the tests' generated localisation set (seconds)."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
                          nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(16, 2))
    images, labels, _ = _stamps(800, rng)
    _train(model, torch.from_numpy(images), torch.from_numpy(labels), epochs=2 if quick else 6)
    test, _, corners = _stamps(4 if quick else 24, rng)
    boxes = [(int(c), int(r), int(c) + 5, int(r) + 5) for r, c in corners]
    return ImageSuite('shapes', model, _small_cases(model, test, ['plus', 'square'], boxes),
                      low=-1.0, high=2.0, probabilities=False, shap_blur=12, tolerance=0,
                      layer_grid=(12, 12), batch_size=64,
                      metric_options={'score': 'softmax'})


def digits_suite(quick: bool) -> ImageSuite:
    """A CNN trained on scikit-learn's 8x8 digits (seconds)."""
    from sklearn.datasets import load_digits
    torch.manual_seed(0)
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, np.newaxis]
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
                          nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))
    train = slice(0, 1500)
    _train(model, torch.from_numpy(images[train]), torch.from_numpy(digits.target[train]),
           epochs=3 if quick else 12)
    test = images[1500:1504 if quick else 1524]
    return ImageSuite('digits', model, _small_cases(model, test, [str(d) for d in range(10)],
                                                     None),
                      probabilities=False, shap_blur=4, tolerance=0, layer_grid=(8, 8),
                      batch_size=64, metric_options={'score': 'softmax'})


@dataclass
class TextSuite:
    """The demo's review classifier and generated reviews (box: the opinion word)."""

    name: str
    model: nn.Module
    cases: List[Case]
    vocabulary: Any
    labels: List[str]
    length: int = 16
    tolerance: int = 0
    kind: str = 'text'
    metric_options: Dict[str, Any] = field(default_factory=lambda: {'score': 'softmax'})

    def tensor(self, case: Case) -> torch.Tensor:
        return torch.from_numpy(case.doc)

    def explain_options(self, case: Case) -> Dict[str, Any]:
        return {'tokens': case.tokens}

    def words(self, case: Case) -> List[str]:
        assert case.tokens is not None
        return [t for t in case.tokens if t != '<pad>']

    def predict_texts(self, texts: List[str]) -> np.ndarray:
        known = self.vocabulary.index        # LIME's mask word 'UNKWORDZ' becomes padding
        ids = self.vocabulary.encode([[w if w in known else '<pad>' for w in text.split()]
                                      for text in texts], self.length)
        with torch.no_grad():
            logits = self.model(torch.from_numpy(ids)).numpy()
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)


def text_suite(quick: bool) -> TextSuite:
    """Reviews whose label is set by one opinion word (its position is the box)."""
    from eli5_gradcam.demo.text import LABELS, NEGATIVE, PAD, POSITIVE, make_reviews
    from eli5_gradcam.demo.text import train_classifier
    model, vocabulary = train_classifier(seed=0)
    reviews, _ = make_reviews(4 if quick else 24, seed=99)
    ids = vocabulary.encode(reviews, 16)
    with torch.no_grad():
        predicted = model(torch.from_numpy(ids)).argmax(1).numpy()
    cases = []
    for i, words in enumerate(reviews):
        position = next(p for p, w in enumerate(words) if w in POSITIVE + NEGATIVE)
        tokens = words[:16] + [PAD] * (16 - len(words[:16]))
        cases.append(Case(name=f'#{i}', doc=ids[i:i + 1], picture=None,
                          target=int(predicted[i]), target_name=LABELS[predicted[i]],
                          box=(position, position + 1), seed=i, tokens=tokens))
    return TextSuite('text', model, cases, vocabulary, list(LABELS))
