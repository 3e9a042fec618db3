"""format_as_text: the "... N more positive ..." line comes after the table it counts."""
import eli5
import eli5.formatters
import numpy as np
import pytest
from eli5.base import Explanation, FeatureWeight, FeatureWeights, TargetExplanation
from eli5.formatters import fields
from eli5.formatters.text import format_as_text as eli5_format_as_text
from PIL import Image

from eli5_gradcam.formatters import format_as_text
from eli5_gradcam.nn import ExplainOptions, LayerCapture, explain_capture
from eli5_gradcam.nn.explanation import Documents


def _image_explanation(relu=True):
    rng = np.random.default_rng(2)
    activations = rng.random((1, 56, 56, 4))
    gradients = rng.random((1, 1, 56, 56, 4)) - (0.0 if relu else 0.5)
    capture = LayerCapture(activations, gradients, np.array([[0.3, 0.7]]), np.array([[1]]),
                           'conv', probabilities=None)
    expl, = explain_capture(capture, estimator='Model', kind='image',
                            options=ExplainOptions(relu=relu),
                            documents=Documents(images=[Image.new('RGB', (64, 64))]))
    return expl


def _text_explanation(n_tokens=30):
    activations = np.eye(n_tokens)[np.newaxis]
    gradients = np.broadcast_to(np.linspace(0.1, 1.0, n_tokens)[None, None, None],
                                (1, 1, n_tokens, n_tokens))
    capture = LayerCapture(activations, gradients, np.array([[0.3, 0.7]]), np.array([[1]]),
                           'embedding', probabilities=np.array([[0.4, 0.6]]))
    expl, = explain_capture(capture, estimator='TextModel', kind='text',
                            documents=Documents(tokens=[[f'w{i}' for i in range(n_tokens)]]),
                            options=ExplainOptions(target_names=['neg', 'pos']))
    return expl


def _target_blocks(text):
    """Each target's lines: from its 'y=... top features' header to the blank line."""
    lines = text.split('\n')
    starts = [i for i, line in enumerate(lines) if line.endswith(' top features')]
    return [lines[start:lines.index('', start)] for start in starts]


@pytest.mark.parametrize('make, listed, more', [
    (_image_explanation, 10, 56 * 56 - 10),
    (_text_explanation, 20, 10),
])
def test_more_positive_line_comes_after_the_table(make, listed, more):
    expl = make()
    assert not expl.targets[0].feature_weights.neg        # relu=True: nothing negative
    text = eli5.format_as_text(expl)
    block, = _target_blocks(text)
    header, columns, rule, *rows, last = block
    assert header.startswith('y=') and columns.split() == ['Weight', 'Feature']
    assert set(rule) <= {'-', ' '}
    assert len(rows) == listed and all(row.lstrip().startswith('+') for row in rows)
    assert last.strip() == f'\u2026 {more} more positive \u2026'
    assert text.count('more positive') == 1
    assert text.startswith('Explained as: Grad-CAM\nGrad-CAM on layer')


def test_only_the_misplaced_lines_move():
    """Everything else is eli5's output: error, method, description, other targets."""
    only_positive = FeatureWeights(pos=[FeatureWeight('a', 0.9), FeatureWeight('b', 0.5)],
                                   neg=[], pos_remaining=7, neg_remaining=2)
    signed = FeatureWeights(pos=[FeatureWeight('c', 0.4)], neg=[FeatureWeight('d', -0.8)],
                            pos_remaining=3, neg_remaining=4)
    expl = Explanation('model', method='Grad-CAM', description='How.', error='Partly failed',
                       targets=[TargetExplanation('x', feature_weights=only_positive, score=1.0),
                                TargetExplanation('y', feature_weights=signed, score=0.5)])
    theirs = eli5_format_as_text(expl).split('\n')
    first = theirs.index("y='x' (score=1.000) top features")
    moved = theirs[first + 1:first + 3]                   # eli5 puts them above the table
    assert [line.split()[1:4] for line in moved] == [['7', 'more', 'positive'],
                                                    ['2', 'more', 'negative']]
    blank = theirs.index('', first)
    expected = theirs[:first + 1] + theirs[first + 3:blank] + moved + theirs[blank:]
    assert eli5.format_as_text(expl) == '\n'.join(expected)
    for show in (fields.WEIGHTS, fields.INFO, ('targets', 'method')):
        ours = eli5.format_as_text(expl, show=show)
        assert ours.startswith('Error: Partly failed') and ours.count('Partly failed') == 1
        assert ('Explained as' in ours) == ('method' in show)
        assert ('y=' in ours) == ('targets' in show)


def _sklearn_explanation():
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    docs = ['good film', 'bad film', 'good acting', 'bad acting bad plot']
    vectorizer = CountVectorizer()
    model = LogisticRegression().fit(vectorizer.fit_transform(docs), [1, 0, 1, 0])
    return eli5.explain_prediction(model, 'good acting bad', vec=vectorizer)


@pytest.mark.parametrize('make', [
    lambda: _image_explanation(relu=False),       # negative features listed: eli5 is right
    lambda: _text_explanation(n_tokens=5),        # every feature listed
    _sklearn_explanation,
    lambda: Explanation('model', error='not supported'),
], ids=['signed-image', 'short-text', 'sklearn', 'error'])
def test_other_explanations_get_eli5_text_byte_for_byte(make):
    expl = make()
    for kwargs in ({}, dict(show=fields.WEIGHTS, highlight_spaces=True)):
        assert eli5.format_as_text(expl, **kwargs) == eli5_format_as_text(expl, **kwargs)


def test_eli5_entry_points_use_our_text():
    assert eli5.format_as_text is format_as_text
    assert eli5.formatters.format_as_text is format_as_text
