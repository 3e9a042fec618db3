"""format_as_image: eli5 0.16 compatibility, signed maps, targets, grid."""
import importlib
import json

import eli5
import eli5.formatters
import matplotlib
import numpy as np
import pytest
from eli5.base import Explanation, TargetExplanation
from eli5.formatters.image import format_as_image as eli5_format_as_image
from PIL import Image

import eli5_gradcam
from eli5_gradcam.formatters import format_as_image


def _image(width=37, height=29, mode='RGB', seed=0):
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).convert(mode)


def _explanation(heatmaps, image=None, labels=None, scores=None):
    labels = labels or list(range(len(heatmaps)))
    targets = [TargetExplanation(target=label, score=None if scores is None else scores[i],
                                 heatmap=heatmap)
               for i, (label, heatmap) in enumerate(zip(labels, heatmaps))]
    return Explanation('model', targets=targets, image=image if image is not None else _image())


@pytest.mark.parametrize('shape', [(7, 7), (3, 5), (40, 50), (1, 1)])
@pytest.mark.parametrize('kwargs', [
    {},
    dict(resampling_filter=Image.Resampling.BILINEAR),
    dict(resampling_filter=Image.Resampling.NEAREST, alpha_limit=1.0),
    dict(colormap=matplotlib.cm.jet, alpha_limit=None),
    dict(colormap=matplotlib.cm.binary, alpha_limit=0),
])
def test_same_pixels_as_eli5_0_16(shape, kwargs):
    rng = np.random.default_rng(sum(shape))
    heatmap = rng.random(shape)
    heatmap /= heatmap.max()
    expl = _explanation([heatmap])
    ours = np.asarray(format_as_image(expl, **kwargs), dtype=int)
    theirs = np.asarray(eli5_format_as_image(expl, **kwargs), dtype=int)
    assert ours.shape == theirs.shape
    assert np.abs(ours - theirs).max() <= 1


def test_eli5_entry_points_use_ours():
    assert eli5.format_as_image is eli5_gradcam.format_as_image
    assert eli5.formatters.format_as_image is eli5_gradcam.format_as_image
    ipython = importlib.import_module('eli5.ipython')
    assert ipython.format_as_image is eli5_gradcam.format_as_image
    assert {'target', 'columns'} <= ipython.FORMAT_KWARGS


def test_no_targets_returns_image_rgba():
    expl = Explanation('model', targets=[], image=_image(mode='L'))
    assert format_as_image(expl).mode == 'RGBA'


def test_signed_heatmap_uses_diverging_colours():
    heatmap = np.zeros((2, 2))
    heatmap[0, 0], heatmap[1, 1] = 1.0, -1.0
    grey = Image.new('RGB', (2, 2), (128, 128, 128))
    out = np.asarray(format_as_image(_explanation([heatmap], image=grey), alpha_limit=1.0,
                                     resampling_filter=Image.Resampling.NEAREST), dtype=int)
    red, green, blue = out[0, 0, :3]
    assert red > 90 and red > 2 * blue and red > 2 * green    # positive: red
    red, green, blue = out[1, 1, :3]
    assert blue > 90 and blue > 2 * red                        # negative: blue
    np.testing.assert_array_equal(out[0, 1, :3], [128, 128, 128])   # zero: transparent


def test_target_selects_one_and_grid_shows_all():
    maps = [np.eye(4), np.fliplr(np.eye(4)), np.full((4, 4), 0.5)]
    expl = _explanation(maps, labels=['cat', 'dog', 3], scores=[2.0, 1.0, 0.5])
    single = format_as_image(expl, target='dog')
    alone = format_as_image(_explanation([maps[1]]))
    np.testing.assert_array_equal(np.asarray(single), np.asarray(alone))
    grid = format_as_image(expl)
    assert grid.width >= 3 * 37 and grid.height > 29       # one row of 3 panels + captions
    two_columns = format_as_image(expl, columns=2)
    assert two_columns.height > grid.height
    with pytest.raises(ValueError, match="target 'emu' is not in this explanation"):
        format_as_image(expl, target='emu')


@pytest.mark.parametrize('heatmap, error, match', [
    (np.full((3, 3), 1.5), ValueError, r'\[0, 1\]'),
    (np.full((3, 3), np.nan), ValueError, r'\[0, 1\]'),
    (np.ones(3), ValueError, '2-D'),
])
def test_bad_heatmaps(heatmap, error, match):
    with pytest.raises(error, match=match):
        format_as_image(_explanation([heatmap]))


def test_bad_arguments():
    expl = _explanation([np.eye(3)])
    with pytest.raises(ValueError, match='alpha_limit'):
        format_as_image(expl, alpha_limit=1.5)
    with pytest.raises(TypeError, match='alpha_limit'):
        format_as_image(expl, alpha_limit='0.5')
    with pytest.raises(ValueError, match='columns'):
        format_as_image(expl, columns=0)
    with pytest.raises(TypeError, match='PIL.Image.Image'):
        format_as_image(Explanation('model', targets=[], image=np.zeros((3, 3))))
    with pytest.raises(TypeError, match='expl must be'):
        format_as_image('not an explanation')


@pytest.mark.parametrize('mode', ['L', 'RGB', 'RGBA', 'P', 'I;16', 'I', 'F', '1'])
def test_any_image_mode(mode):
    image = _image(9, 6).convert('L').convert(mode) if mode in ('I;16', 'I', 'F') else \
        _image(9, 6).convert(mode)
    out = format_as_image(_explanation([np.eye(3)], image=image))
    assert out.size == (9, 6) and out.mode == 'RGBA'


def test_heatmap_larger_than_image_and_tiny_image():
    out = format_as_image(_explanation([np.random.default_rng(1).random((50, 60))],
                                       image=_image(1, 1)))
    assert out.size == (1, 1)


def test_format_as_dict_is_json_serialisable_for_images():
    expl = _explanation([np.eye(2)])
    data = eli5.format_as_dict(expl)
    text = json.dumps(data)
    assert data['image'].startswith('data:image/png;base64,')
    assert data['targets'][0]['heatmap'] == [[1.0, 0.0], [0.0, 1.0]]
    assert 'heatmap' in text


class _Fake:
    """A model type eli5 knows nothing about, registered only in this test."""


def test_show_prediction_image_branch_uses_our_formatter():
    from eli5.ipython import show_prediction

    @eli5.explain_prediction.register(_Fake)
    def _explain(model, doc, **kwargs):
        return _explanation([np.eye(4), np.zeros((4, 4)) + 0.25], labels=['a', 'b'],
                            scores=[1.0, 0.0])
    shown = show_prediction(_Fake(), None, target='b', alpha_limit=0.5)
    expected = format_as_image(_explanation([np.zeros((4, 4)) + 0.25]), alpha_limit=0.5)
    np.testing.assert_array_equal(np.asarray(shown), np.asarray(expected))
    grid = show_prediction(_Fake(), None)
    assert grid.width > 2 * 37


def test_jupyter_repr_of_image_explanation_shows_the_overlay():
    expl = _explanation([np.eye(4)], labels=['cat'], scores=[1.5])
    html = expl._repr_html_()
    assert '<img src="data:image/png;base64,' in html
    assert '<b>y=cat</b> (score 1.500)' in html
    assert 'row 0, col 0' not in html            # eli5's view: no tables under the picture
    text_expl = Explanation('model', targets=[TargetExplanation(target='x', score=1.0)])
    assert '<img' not in text_expl._repr_html_()


def test_jupyter_repr_shows_probability_only_where_there_is_one():
    no_softmax = _explanation([np.eye(4), np.eye(4)], labels=['cat', 'dog'], scores=[1.5, -2.0])
    html = no_softmax._repr_html_()
    assert 'probability' not in html
    assert '(score 1.500)' in html and '(score -2.000)' in html
    with_softmax = _explanation([np.eye(4)], labels=['cat'], scores=[1.5])
    with_softmax.targets[0].proba = 0.875
    assert '<b>y=cat</b> (probability 0.875, score 1.500)' in with_softmax._repr_html_()


def test_jupyter_repr_of_an_undrawable_heatmap_says_why():
    expl = _explanation([np.eye(4) * 3], labels=['cat'], scores=[1.5])
    html = expl._repr_html_()
    assert html.startswith('<p>cannot draw the heatmap: heatmap must contain values in [0, 1]')
