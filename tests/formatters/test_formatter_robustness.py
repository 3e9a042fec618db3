"""Robustness of ``format_as_image`` (issue 7): every image mode, tiny and large
images, heatmaps larger than the image, signed maps, and a bad-input matrix in
which each error names the argument."""
from __future__ import annotations

import re
from typing import Any, Dict, List, NamedTuple

import matplotlib
import numpy as np
import pytest
from eli5.base import Explanation, TargetExplanation
from PIL import Image

from eli5_gradcam import format_as_image

MODES = ['L', 'RGB', 'RGBA', 'P', 'I;16', 'I', 'F', '1', 'CMYK', 'LA', 'La', 'PA', 'YCbCr',
         'HSV', 'LAB', 'RGBX', 'RGBa', 'I;16B']


OPAQUE_MODES = ('L', 'RGB', 'P', 'I;16', 'I', 'F', '1', 'CMYK', 'YCbCr', 'HSV', 'RGBX')


def _picture(mode: str, size: tuple = (9, 6)) -> Image.Image:
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
    if mode in ('I;16', 'I;16B', 'I', 'F'):
        return Image.fromarray((np.asarray(rgb.convert('L'), dtype=np.uint16) * 200)
                               ).convert(mode) if mode != 'I;16B' else Image.new(mode, size, 7)
    if mode in ('La', 'LAB', 'HSV'):
        return Image.new(mode, size)
    return rgb.convert(mode)


def _explanation(heatmaps: List[np.ndarray], image: Any) -> Explanation:
    targets = [TargetExplanation(target=index, heatmap=heatmap, score=float(index))
               for index, heatmap in enumerate(heatmaps)]
    return Explanation('model', targets=targets, image=image)


HEATMAP = np.linspace(0, 1, 12).reshape(3, 4)
SIGNED = np.linspace(-1, 1, 12).reshape(3, 4)


@pytest.mark.parametrize('mode', MODES)
@pytest.mark.parametrize('heatmap', [HEATMAP, SIGNED], ids=['unsigned', 'signed'])
def test_every_image_mode(mode: str, heatmap: np.ndarray) -> None:
    out = format_as_image(_explanation([heatmap], _picture(mode)))
    assert out.mode == 'RGBA' and out.size == (9, 6)
    if mode in OPAQUE_MODES:                      # composited onto an opaque picture
        assert np.asarray(out)[..., 3].min() == 255


def test_grey_16_bit_image_keeps_its_contrast() -> None:
    ramp = (np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000)
    out = format_as_image(_explanation([np.zeros((2, 2))], Image.fromarray(ramp)))
    grey = np.asarray(out)[..., 0]
    assert grey.min() < 10 and grey.max() > 245   # scaled, not clipped to white


@pytest.mark.parametrize('size', [(1, 1), (1, 7), (7, 1)])
@pytest.mark.parametrize('heatmap_shape', [(1, 1), (7, 7), (40, 30)])
def test_tiny_images_and_heatmaps_larger_than_the_image(size: tuple,
                                                        heatmap_shape: tuple) -> None:
    heatmap = np.random.default_rng(1).random(heatmap_shape)
    out = format_as_image(_explanation([heatmap], Image.new('RGB', size, 'white')))
    assert out.size == size and out.mode == 'RGBA'


def test_large_image() -> None:
    image = Image.new('RGB', (4000, 3000), 'gray')
    heatmap = np.zeros((7, 7))
    heatmap[3, 3] = 1.0
    out = format_as_image(_explanation([heatmap], image))
    assert out.size == (4000, 3000)
    pixels = np.asarray(out)
    assert not np.array_equal(pixels[1500, 2000, :3], pixels[0, 0, :3])   # hot centre drawn
    grid = format_as_image(_explanation([heatmap, heatmap[::-1]], image.resize((400, 300))))
    assert grid.width >= 800


def test_signed_map_and_grid_of_mixed_sizes() -> None:
    expl = _explanation([SIGNED, np.ones((50, 50)), np.zeros((1, 1))], _picture('RGB'))
    grid = format_as_image(expl, columns=2)
    assert grid.mode == 'RGBA' and grid.width >= 18
    single = format_as_image(expl, target=0)
    assert single.size == (9, 6)


@pytest.mark.parametrize('dtype', [np.float16, np.float32, np.float64, np.int64, np.bool_,
                                   np.uint8])
def test_heatmap_dtypes(dtype: Any) -> None:
    heatmap = (np.arange(4).reshape(2, 2) % 2).astype(dtype)
    assert format_as_image(_explanation([heatmap], _picture('RGB'))).size == (9, 6)


def test_heatmap_as_a_nested_list_works() -> None:
    assert format_as_image(_explanation([[[0.0, 0.5], [1.0, 0.2]]], _picture('L'))).size == (9, 6)


# ---- bad inputs: each error names the argument ----------------------------------------------

class Case(NamedTuple):
    id: str
    expl: Any
    kwargs: Dict[str, Any]
    error: type
    names: str


_DEFAULT = object()


def _bad(id: str, error: type, names: str, heatmap: Any = HEATMAP, image: Any = None,
         expl: Any = _DEFAULT, **kwargs: Any) -> Case:
    if expl is _DEFAULT:
        expl = _explanation([heatmap], _picture('RGB') if image is None else image)
    return Case(id, expl, kwargs, error, names)


BAD_CASES = [
    _bad('expl-none', TypeError, 'expl must be', expl=None),
    _bad('expl-dict', TypeError, 'expl must be', expl={'image': None}),
    _bad('image-none', TypeError, 'image must be a PIL',
         expl=Explanation('model', targets=[], image=None)),
    _bad('image-ndarray', TypeError, 'image must be a PIL', image=np.zeros((3, 3, 3))),
    _bad('image-path', TypeError, 'image must be a PIL', image='photo.png'),
    _bad('image-empty', ValueError, 'image is empty', image=Image.new('RGB', (0, 0))),
    _bad('heatmap-none', ValueError, 'no heatmap', heatmap=None),
    _bad('heatmap-1d', ValueError, 'heatmap must be 2-D', heatmap=np.ones(3) * 0.5),
    _bad('heatmap-3d', ValueError, 'heatmap must be 2-D', heatmap=np.ones((2, 2, 3)) * 0.5),
    _bad('heatmap-0d', ValueError, 'heatmap must be 2-D', heatmap=np.float64(0.5)),
    _bad('heatmap-empty', ValueError, 'heatmap is empty', heatmap=np.ones((0, 3))),
    _bad('heatmap-nan', ValueError, r'heatmap must contain values in \[0, 1\]',
         heatmap=np.full((2, 2), np.nan)),
    _bad('heatmap-inf', ValueError, 'heatmap must contain values',
         heatmap=np.full((2, 2), np.inf)),
    _bad('heatmap-above-one', ValueError, 'heatmap must contain values',
         heatmap=np.full((2, 2), 2.0)),
    _bad('heatmap-below-minus-one', ValueError, 'heatmap must contain values',
         heatmap=np.full((2, 2), -1.5)),
    _bad('heatmap-str', TypeError, 'heatmap must hold real numbers', heatmap=np.array([['a']])),
    _bad('heatmap-object', TypeError, 'heatmap must hold real numbers',
         heatmap=np.array([[None, 0.5]], dtype=object)),
    _bad('heatmap-complex', TypeError, 'heatmap must hold real numbers',
         heatmap=np.ones((2, 2), dtype=complex) * 0.5),
    _bad('heatmap-ragged', ValueError, 'heatmap must be a 2-D array', heatmap=[[0.1, 0.2], [0.3]]),
    _bad('targets-not-target-explanations', TypeError, 'expl.targets must hold',
         expl=Explanation('model', targets=[1, 2], image=Image.new('RGB', (3, 3)))),
    _bad('alpha-limit-str', TypeError, 'alpha_limit', alpha_limit='0.5'),
    _bad('alpha-limit-bool', TypeError, 'alpha_limit', alpha_limit=True),
    _bad('alpha-limit-above-one', ValueError, 'alpha_limit', alpha_limit=2),
    _bad('alpha-limit-negative', ValueError, 'alpha_limit', alpha_limit=-0.1),
    _bad('alpha-limit-nan', ValueError, 'alpha_limit', alpha_limit=float('nan')),
    _bad('columns-zero', ValueError, 'columns', columns=0),
    _bad('columns-negative', ValueError, 'columns', columns=-2),
    _bad('columns-str', TypeError, 'columns', columns='2'),
    _bad('columns-float', TypeError, 'columns', columns=2.0),
    _bad('target-missing', ValueError, r'target 7 is not in this explanation', target=7),
    _bad('resampling-filter-unknown', ValueError, 'resampling_filter', resampling_filter=99),
    _bad('resampling-filter-str', ValueError, 'resampling_filter', resampling_filter='lanczos'),
    _bad('colormap-str', TypeError, 'colormap must be a callable', colormap='viridis'),
    _bad('colormap-wrong-output', ValueError, 'colormap must map',
         colormap=lambda values: values),
    _bad('diverging-colormap-int', TypeError, 'diverging_colormap', heatmap=SIGNED,
         diverging_colormap=3),
]


@pytest.mark.parametrize('case', BAD_CASES, ids=[case.id for case in BAD_CASES])
def test_bad_input_format_as_image(case: Case) -> None:
    with pytest.raises(case.error) as info:
        format_as_image(case.expl, **case.kwargs)
    assert type(info.value) is case.error
    assert type(info.value).__module__ == 'builtins'
    assert re.search(case.names, str(info.value)), str(info.value)


BAD_INPUT_CASES = len(BAD_CASES)


def test_any_matplotlib_colormap_and_filter_work() -> None:
    expl = _explanation([HEATMAP], _picture('RGB'))
    for name in ('magma', 'gray', 'jet'):
        assert format_as_image(expl, colormap=matplotlib.colormaps[name]).size == (9, 6)
    for resampling in Image.Resampling:
        assert format_as_image(expl, resampling_filter=resampling).size == (9, 6)
    assert format_as_image(expl, alpha_limit=None).size == (9, 6)
    assert format_as_image(expl, alpha_limit=np.float32(0.3)).size == (9, 6)
