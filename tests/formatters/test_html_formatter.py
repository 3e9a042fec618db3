"""format_as_html: image explanations show their overlays; everything else is eli5's HTML."""
import base64
import importlib
import io
import re

import eli5
import eli5.formatters
import numpy as np
import pytest
from eli5.base import Explanation, TargetExplanation
from eli5.formatters import fields
from eli5.formatters.html import format_as_html as eli5_format_as_html
from PIL import Image

import eli5_gradcam
from eli5_gradcam.formatters import format_as_html, format_as_image
from eli5_gradcam.formatters.html import image_explanation_html
from eli5_gradcam.nn import ExplainOptions, LayerCapture, explain_capture
from eli5_gradcam.nn.explanation import Documents


def _image(width=64, height=48, seed=0):
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def _image_explanation(grid=(56, 56), relu=True, probabilities=None):
    """Two targets on a large grid, as the core builds them (with "row r, col c" tables)."""
    rng = np.random.default_rng(1)
    activations = rng.random((1,) + grid + (4,))
    gradients = rng.random((1, 2) + grid + (4,)) - (0.0 if relu else 0.5)
    capture = LayerCapture(activations, gradients, np.array([[0.25, 1.5]]),
                           np.array([[1, 0]]), 'conv', probabilities=probabilities)
    expl, = explain_capture(capture, estimator='Model', kind='image',
                            documents=Documents(images=[_image()]),
                            options=ExplainOptions(relu=relu, target_names=['dog', 'cat']))
    return expl


def _text_explanation():
    activations = np.eye(4)[np.newaxis]
    gradients = np.broadcast_to(np.linspace(-1.0, 1.0, 4)[None, None, None], (1, 1, 4, 4))
    capture = LayerCapture(activations, gradients, np.array([[0.3, 0.7]]), np.array([[1]]),
                           'embedding', probabilities=np.array([[0.4, 0.6]]))
    expl, = explain_capture(capture, estimator='TextModel', kind='text',
                            documents=Documents(tokens=[['good', 'acting', 'bad', 'acting']]),
                            options=ExplainOptions(relu=False, target_names=['neg', 'pos']))
    return expl


def _shown_images(html):
    uris = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    return [Image.open(io.BytesIO(base64.b64decode(uri))) for uri in uris]


def test_image_html_shows_each_overlay_its_scores_and_strongest_regions():
    expl = _image_explanation()
    assert expl.targets[0].feature_weights.pos_remaining > 1000    # eli5 would say "... more"
    html = eli5.format_as_html(expl)
    shown = _shown_images(html)
    assert len(shown) == 2
    for image, target in zip(shown, expl.targets):
        expected = format_as_image(expl, target=target.target)
        np.testing.assert_array_equal(np.asarray(image), np.asarray(expected))
    assert 'y=cat</b> (score 1.500)' in html and 'y=dog</b> (score 0.250)' in html
    assert 'more positive' not in html and 'probability' not in html
    # the strongest cell of each map is listed first, on the grid and in pixels
    for target in expl.targets:
        row, col = np.unravel_index(np.argmax(target.heatmap), target.heatmap.shape)
        x0, x1 = round(col * 64 / 56), round((col + 1) * 64 / 56)
        y0, y1 = round(row * 48 / 56), round((row + 1) * 48 / 56)
        assert f'row {row}, col {col} (x {x0}&ndash;{x1}, y {y0}&ndash;{y1} px)' in html
    assert html.count('<tr><td') == 2 * 5
    # the description wraps instead of running off the page in a <pre>
    assert '<pre>' not in html
    assert re.search(r'<p style="[^"]*white-space: normal[^"]*">Grad-CAM on layer', html)


def test_image_html_probabilities_signed_maps_and_eli5_options():
    expl = _image_explanation(grid=(3, 4), relu=False, probabilities=np.array([[0.2, 0.8]]))
    html = eli5.format_as_html(expl)
    assert 'y=cat</b> (probability 0.800, score 1.500)' in html
    weights = [float(w) for w in re.findall(r'<tr><td[^>]*>([-+][0-9.]+)</td>', html)]
    assert any(w < 0 for w in weights) and any(w > 0 for w in weights)
    # show_prediction / Jupyter style: sections and force_weights as eli5 reads them
    short = eli5.format_as_html(expl, show=fields.WEIGHTS, force_weights=False)
    assert len(_shown_images(short)) == 2
    assert 'Explained as' not in short and 'Strongest regions' not in short


def test_image_html_without_overlays_for_pages_that_show_the_picture():
    expl = _image_explanation(grid=(3, 4))
    html = image_explanation_html(expl, show=['targets'], overlays=False)
    assert '<img' not in html and 'y=cat</b> (score 1.500)' in html
    assert html.count('Strongest regions (3&times;4 grid)') == 2


def test_image_html_escapes_labels():
    expl = Explanation('model', image=_image(), targets=[
        TargetExplanation(target='<script>', score=1.0, heatmap=np.eye(3))])
    html = eli5.format_as_html(expl)
    assert '<script>' not in html and 'y=&lt;script&gt;' in html


def test_a_flat_map_says_so():
    expl = Explanation('model', image=_image(), targets=[
        TargetExplanation(target=0, score=1.0, heatmap=np.zeros((2, 2)))])
    assert 'no region stands out' in eli5.format_as_html(expl)


def _sklearn_explanation():
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    docs = ['good film', 'bad film', 'good acting', 'bad acting bad plot']
    vectorizer = CountVectorizer()
    model = LogisticRegression().fit(vectorizer.fit_transform(docs), [1, 0, 1, 0])
    return eli5.explain_prediction(model, 'good acting bad', vec=vectorizer)


@pytest.mark.parametrize('make', [
    _text_explanation,
    _sklearn_explanation,
    lambda: Explanation('model', targets=[], image=_image()),              # nothing to draw
    lambda: Explanation('model', image=_image(), targets=[                 # not a 2-D map
        TargetExplanation(target=0, score=1.0, heatmap=np.ones(3))]),
    lambda: Explanation('model', image=np.zeros((4, 4, 3)), targets=[      # not a PIL image
        TargetExplanation(target=0, score=1.0, heatmap=np.eye(3))]),
    lambda: Explanation('model', error='not supported'),
], ids=['gradcam-text', 'sklearn', 'image-no-targets', 'image-1d-heatmap', 'array-image',
        'error'])
@pytest.mark.parametrize('kwargs', [{}, dict(force_weights=False, show=fields.WEIGHTS)])
def test_other_explanations_get_eli5_html_byte_for_byte(make, kwargs):
    expl = make()
    assert eli5.format_as_html(expl, **kwargs) == eli5_format_as_html(expl, **kwargs)


def test_eli5_entry_points_use_our_html():
    assert eli5.format_as_html is format_as_html
    assert eli5.formatters.format_as_html is format_as_html
    assert importlib.import_module('eli5.ipython').format_as_html is format_as_html
    assert eli5_gradcam.formatters.format_as_html is format_as_html
