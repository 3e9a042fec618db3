"""explain_capture and the image helpers: every kind, every eli5 formatter."""
import json

import eli5
import numpy as np
import pytest
from PIL import Image

import eli5_gradcam  # noqa: F401
from eli5_gradcam.nn import ExplainOptions, LayerCapture, doc_to_image, explain_capture, image_from_path, input_kind
from eli5_gradcam.nn.explanation import Documents
from eli5_gradcam.nn.image import looks_like_image, resize_heatmap_to


def _capture(spatial, targets=((1, 0),), channels=3, seed=0, probabilities=True):
    rng = np.random.default_rng(seed)
    batch = len(targets)
    activations = rng.random((batch,) + spatial + (channels,))
    gradients = rng.normal(size=(batch, len(targets[0])) + spatial + (channels,))
    scores = rng.normal(size=(batch, 3))
    probs = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True) if probabilities else None
    return LayerCapture(activations, gradients, scores, np.array(targets), 'block5',
                        'softmax' if probabilities else None, probabilities, probs)


def test_image_explanation_fields_and_formatters():
    capture = _capture((4, 5))
    docs = np.random.default_rng(1).random((1, 3, 20, 25))       # NCHW
    expl, = explain_capture(capture, estimator='Net', kind='image',
                            documents=Documents(docs=docs, channels_first=True),
                            options=ExplainOptions(target_names=['cat', 'dog', 'owl']))
    assert expl.estimator == 'Net' and expl.method == 'Grad-CAM'
    assert "layer 'block5'" in expl.description and 'logit' in expl.description
    assert expl.image.size == (25, 20) and expl.image.mode == 'RGBA'
    assert [t.target for t in expl.targets] == ['dog', 'cat']
    for target, index in zip(expl.targets, (1, 0)):
        assert target.heatmap.shape == (4, 5)
        assert target.score == pytest.approx(capture.scores[0, index])
        assert target.proba == pytest.approx(capture.probabilities[0, index])
    text = eli5.format_as_text(expl)
    assert "y='dog'" in text and 'row ' in text
    html = eli5.format_as_html(expl)
    assert 'dog' in html and 'probability' in html
    json.dumps(eli5.format_as_dict(expl))
    frame = eli5.format_as_dataframe(expl)
    assert set(frame['target']) <= {'dog', 'cat'} and len(frame) > 0
    assert eli5.format_as_image(expl).size[0] > 25                # a grid of 2


def test_given_image_wins_and_other_kind_keeps_layer_resolution():
    capture = _capture((4, 5), targets=((2,),))
    picture = Image.new('L', (8, 6))
    expl, = explain_capture(capture, estimator='Net', kind='image',
                            documents=Documents(images=[picture]))
    assert expl.image.size == (8, 6) and expl.image.mode == 'RGBA'
    signal = _capture((11,), targets=((0,),))
    expl, = explain_capture(signal, estimator='Net', kind='other',
                            options=ExplainOptions(relu=False))
    assert expl.image is None and expl.targets[0].heatmap.shape == (11,)
    assert 'position' in eli5.format_as_text(expl)


def test_batch_gives_one_explanation_per_document():
    capture = _capture((3, 3), targets=((0, 1), (2, 0)))
    explanations = explain_capture(capture, estimator='Net', kind='other')
    assert len(explanations) == 2
    assert [t.target for t in explanations[1].targets] == [2, 0]


def test_kind_mismatches_are_clear_errors():
    with pytest.raises(ValueError, match='needs a layer with a 2-D'):
        explain_capture(_capture((7,)), estimator='Net', kind='image')
    with pytest.raises(ValueError, match='sequence'):
        explain_capture(_capture((3, 3)), estimator='Net', kind='text',
                        documents=Documents(tokens=[['a']]))
    with pytest.raises(ValueError, match='kind must be one of'):
        explain_capture(_capture((3,)), estimator='Net', kind='video')


def test_input_kind():
    assert input_kind((1, 10), tokens=['a'] * 10) == 'text'
    assert input_kind((1, 3, 32, 32)) == 'image'
    assert input_kind((1, 32, 32, 3)) == 'image'
    assert input_kind((1, 28, 28)) == 'other'          # rank 3: signals look the same
    assert input_kind((1, 100, 6)) == 'other'
    assert input_kind((1, 100)) == 'other'
    assert input_kind((1, 100), image=Image.new('RGB', (4, 4))) == 'image'
    with pytest.raises(ValueError, match='not both'):
        input_kind((1, 3), image=Image.new('RGB', (4, 4)), tokens=['a'])
    with pytest.raises(TypeError, match='image must be a PIL'):
        input_kind((1, 3), image=np.zeros((4, 4)))


@pytest.mark.parametrize('doc, size, mode_pixel', [
    (np.full((1, 4, 6, 3), 0.5), (6, 4), (128, 128, 128, 255)),      # [0, 1] floats
    (np.full((1, 3, 4, 6), 200.0), (6, 4), (200, 200, 200, 255)),     # [0, 255], NCHW
    (np.full((4, 6), 7, dtype=np.uint8), (6, 4), (7, 7, 7, 255)),      # grey uint8
    (np.full((1, 4, 6, 1), 1.0), (6, 4), (255, 255, 255, 255)),
])
def test_doc_to_image(doc, size, mode_pixel):
    image = doc_to_image(doc)
    assert image.size == size and image.getpixel((0, 0)) == mode_pixel


def test_doc_to_image_stretches_normalised_inputs_and_rejects_others():
    doc = np.linspace(-2, 2, 48).reshape(1, 4, 4, 3)
    pixels = np.asarray(doc_to_image(doc))
    assert pixels[..., :3].min() == 0 and pixels[..., :3].max() == 255
    with pytest.raises(ValueError, match='one image'):
        doc_to_image(np.zeros((2, 4, 4, 3)))
    with pytest.raises(ValueError, match='does not look like an image'):
        doc_to_image(np.zeros((5, 5, 7)))
    assert looks_like_image((1, 224, 224, 3)) and not looks_like_image((1, 50, 4))


def test_image_from_path(tmp_path):
    path = tmp_path / 'pic.png'
    Image.new('RGBA', (30, 20), (1, 2, 3, 255)).save(path)
    image = image_from_path(path, image_shape=(10, 15))
    assert image.mode == 'RGB' and image.size == (15, 10)
    with pytest.raises(ValueError, match='no such file'):
        image_from_path(tmp_path / 'missing.png')
    (tmp_path / 'bad.png').write_text('not an image')
    with pytest.raises(ValueError, match='not an image'):
        image_from_path(tmp_path / 'bad.png')
    with pytest.raises(TypeError, match='path must be'):
        image_from_path(3)


def test_resize_heatmap_to():
    resized = resize_heatmap_to(np.eye(3), (6, 9))
    assert resized.shape == (9, 6) and 0 <= resized.min() and resized.max() <= 1
