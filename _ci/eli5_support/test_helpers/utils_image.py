"""Stand-in for eli5's ``tests/utils_image.py``, which the eli5 0.16.0 sdist omits.

Written for eli5-gradcam's conformance suite; see ``utils.py`` beside it.
"""
import numpy as np
from PIL import ImageChops


def assert_pixel_by_pixel_equal(im1, im2):
    """Two PIL images have the same size, mode and pixels."""
    assert im1.size == im2.size and im1.mode == im2.mode
    assert not np.asarray(ImageChops.difference(im1, im2)).any()
