"""Text: resizing to tokens, padding, and eli5's highlighting."""
import re
from itertools import chain

import eli5
import numpy as np
import pytest
from eli5.formatters.text_helpers import prepare_weighted_spans

import eli5_gradcam  # noqa: F401
from eli5_gradcam.nn import ExplainOptions
from eli5_gradcam.nn.explanation import Documents
from eli5_gradcam.nn import LayerCapture, explain_capture
from eli5_gradcam.nn.padding import padding_mask, strip_padding
from eli5_gradcam.nn.text import (as_tokens, is_char_tokens, resize_heatmap, token_feature_names,
                                  token_feature_weights, token_layout, weighted_spans)
from eli5_gradcam.nn.features import fewer_feature_weights, ranked_feature_weights


def test_resize_identity_and_constant():
    np.testing.assert_array_equal(resize_heatmap(np.array([0.1, 0.5]), 2), [0.1, 0.5])
    np.testing.assert_array_equal(resize_heatmap(np.array([0.7]), 4), [0.7] * 4)


def test_resize_more_tokens_than_positions_linear():
    # positions at 0 and 1 of the sequence; tokens at 0, 1/3, 2/3, 1
    np.testing.assert_allclose(resize_heatmap(np.array([0.0, 3.0]), 4), [0, 1, 2, 3])


def test_resize_fewer_tokens_than_positions():
    np.testing.assert_allclose(resize_heatmap(np.array([0.0, 1.0, 2.0, 3.0, 4.0]), 3),
                               [0.0, 2.0, 4.0])


def test_resize_nearest_and_batched_axes():
    heatmaps = np.array([[0.0, 1.0], [1.0, 0.0]])
    resized = resize_heatmap(heatmaps, 4, 'nearest')
    assert resized.shape == (2, 4)
    np.testing.assert_array_equal(resized[0], [0, 0, 1, 1])
    with pytest.raises(ValueError, match='interpolation_kind'):
        resize_heatmap(heatmaps, 3, 'spline9')


TOKENS = ['<pad>', '<pad>', 'a', 'good', '<pad>', 'film', '<pad>']
IDS = np.array([[0, 0, 5, 9, 0, 7, 0]])


@pytest.mark.parametrize('padding, expected', [
    ('pre', [True, True, False, False, False, False, False]),
    ('post', [False, False, False, False, False, False, True]),
    (None, [True, True, False, False, False, False, True]),
])
def test_padding_mask_by_token_and_by_value(padding, expected):
    by_token = padding_mask(TOKENS, pad_token='<pad>', padding=padding)
    by_value = padding_mask(TOKENS, doc=IDS, pad_value=0, padding=padding)
    np.testing.assert_array_equal(by_token, expected)
    np.testing.assert_array_equal(by_value, expected)


def test_strip_padding_keeps_inner_pad_like_tokens():
    mask = padding_mask(TOKENS, pad_token='<pad>', padding=None)
    tokens, heatmap = strip_padding(TOKENS, np.arange(7.0)[np.newaxis], mask)
    assert tokens == ['a', 'good', '<pad>', 'film']
    np.testing.assert_array_equal(heatmap, [[2, 3, 4, 5]])


def test_padding_errors():
    with pytest.raises(ValueError, match='padding must be'):
        padding_mask(TOKENS, pad_token='<pad>', padding='middle')
    with pytest.raises(ValueError, match='pad_value'):
        padding_mask(TOKENS, doc=IDS[:, :3], pad_value=0)
    with pytest.raises(TypeError, match='pad_token'):
        padding_mask(TOKENS, pad_token=0)


def test_as_tokens():
    assert as_tokens([['a', 'b']]) == ['a', 'b']
    assert as_tokens(np.array(['x', 'y'])) == ['x', 'y']
    given = ['a', 'b']
    assert as_tokens(given) == given and as_tokens(given) is not given   # a copy
    assert as_tokens(('a', 'b')) == ['a', 'b']

    class Token(str):
        pass
    assert as_tokens([Token('a'), 'b']) == ['a', 'b']
    assert all(type(token) is str for token in as_tokens([Token('a'), np.str_('b')]))
    with pytest.raises(TypeError, match='not a single string'):
        as_tokens('hello world')
    with pytest.raises(TypeError, match='must all be str'):
        as_tokens(['a', 3])
    with pytest.raises(ValueError, match='empty'):
        as_tokens([])


def test_weighted_spans_words_and_chars():
    spans = weighted_spans(['good', 'film'], np.array([0.5, -0.25]))
    doc, = spans.docs_weighted_spans
    assert doc.document == 'good film'
    assert doc.spans == [('good', [(0, 4)], 0.5), ('film', [(5, 9)], -0.25)]
    chars = list('hi you')
    assert is_char_tokens(chars)
    doc, = weighted_spans(chars, np.linspace(-1, 1, 6)).docs_weighted_spans
    assert doc.document == 'hi you'
    assert [s[1] for s in doc.spans] == [[(i, i + 1)] for i in range(6)]


def test_weighted_spans_skip_empty_tokens_and_reuse_a_layout():
    tokens = ['a', '', 'bc', 'd']
    layout = token_layout(tokens)
    assert layout.document == 'a  bc d' and layout.kept == [0, 2, 3]
    weights = np.array([0.1, 0.9, -0.3, 0.5])
    for given in (None, layout):
        doc, = weighted_spans(tokens, weights, layout=given).docs_weighted_spans
        assert doc.document == 'a  bc d'
        assert doc.spans == [('a', [(0, 1)], 0.1), ('bc', [(3, 5)], -0.3),
                             ('d', [(6, 7)], 0.5)]
        for token, ((start, end),), _ in doc.spans:
            assert doc.document[start:end] == token
    assert token_layout(['x', 'y']).kept is None


@pytest.mark.parametrize('seed', range(5))
def test_fewer_feature_weights_equal_ranking_with_a_smaller_top(seed):
    weights = np.random.default_rng(seed).normal(size=40).round(1)   # ties included
    names = [f'f{i}' for i in range(40)].__getitem__
    for top in (0, 1, 3, 7, 25):
        assert fewer_feature_weights(ranked_feature_weights(weights, names, 20),
                                     min(top, 20)) == ranked_feature_weights(
                                         weights, names, min(top, 20))


def test_token_feature_weights_order():
    weights = token_feature_weights(['a', 'b', 'c', 'd'], np.array([0.2, -0.9, 1.0, -0.1]))
    assert [fw.feature for fw in weights.pos] == ['c', 'a']
    assert [fw.feature for fw in weights.neg] == ['b', 'd']


def _text_explanation(tokens, positions=3, relu=False, **kwargs):
    activations = np.eye(positions)[np.newaxis]                    # channel k fires at k
    gradients = np.linspace(-1.0, 1.0, positions)[np.newaxis, np.newaxis, np.newaxis]
    gradients = np.broadcast_to(gradients, (1, 1, positions, positions))
    capture = LayerCapture(activations, gradients, np.array([[0.3, 0.7]]),
                           np.array([[1]]), 'embedding', 'softmax', True,
                           np.array([[0.4, 0.6]]))
    expl, = explain_capture(capture, estimator='TextModel', kind='text',
                            documents=Documents(tokens=[tokens]),
                            options=ExplainOptions(relu=relu, target_names=['neg', 'pos'],
                                                   **kwargs))
    return expl


def _span_hues(html):
    """token -> hue of its highlight (120 green = positive, 0 red = negative)."""
    found = re.findall(r'background-color: hsl\((\d+)[^"]*"[^>]*>([^<]+)</span>', html)
    return {token.strip(): int(hue) for hue, token in found}


def test_html_highlights_tokens_with_signed_colours():
    expl = _text_explanation(['bad', 'plot', 'great'], positions=3)
    weights = expl.targets[0].heatmap
    np.testing.assert_allclose(weights, [-1.0, 0.0, 1.0])
    html = eli5.format_as_html(expl)
    assert "y=pos" in html and 'probability' in html
    hues = _span_hues(html)
    assert hues['great'] == 120 and hues['bad'] == 0


def test_text_more_and_fewer_tokens_than_positions_with_padding():
    tokens = ['xy'] * 5 + ['<pad>'] * 3                # 8 tokens over 3 positions
    expl = _text_explanation(tokens, positions=3, pad_token='<pad>', padding='post')
    target, = expl.targets
    assert target.heatmap.shape == (5,)
    assert target.weighted_spans.docs_weighted_spans[0].document == 'xy xy xy xy xy'
    assert np.abs(target.heatmap).max() == 1.0          # renormalised after stripping
    expl = _text_explanation(['only', 'two'], positions=3)
    assert expl.targets[0].heatmap.shape == (2,)


def test_text_char_tokens_and_text_formatter():
    expl = _text_explanation(list('abc de'), positions=3)
    assert expl.targets[0].weighted_spans.docs_weighted_spans[0].document == 'abc de'
    text = eli5.format_as_text(expl)
    assert "y='pos'" in text and 'Grad-CAM' in text


def test_show_prediction_style_html_has_a_header_per_target():
    # eli5.show_prediction formats with force_weights=False: each target still
    # needs its "y=... (probability ..., score ...)" header and its own text.
    expl = _text_explanation(['bad', 'plot', 'great'], positions=3)
    second = _text_explanation(['bad', 'plot', 'great'], positions=3)
    expl.targets.append(second.targets[0])
    expl.targets[1].target = 'neg'
    html = eli5.format_as_html(expl, force_weights=False, show=['targets'])
    assert 'y=pos' in html and 'y=neg' in html
    assert html.count('<p style="margin-bottom: 2.5em') == 2


def test_token_feature_names_are_distinct_and_read_naturally():
    assert token_feature_names(['good', 'acting', 'bad', 'acting', 'acting']) == [
        'good', 'acting', 'bad', 'acting [2]', 'acting [3]']
    assert token_feature_names(list('abc')) == list('abc')
    # a token that already reads like a suffixed name keeps its name; the
    # repeat skips past it
    assert token_feature_names(['a', 'a', 'a [2]']) == ['a', 'a [3]', 'a [2]']


def test_repeated_token_is_highlighted_at_its_own_weight():
    tokens = ['good', 'acting', 'bad', 'acting']
    expl = _text_explanation(tokens, positions=4)
    target, = expl.targets
    weights = target.heatmap
    np.testing.assert_allclose(weights, [-1.0, -1 / 3, 1 / 3, 1.0])
    # the colours eli5 computes for each character of the document
    (prepared,), = prepare_weighted_spans(expl.targets)
    doc = target.weighted_spans.docs_weighted_spans[0]
    assert doc.document == 'good acting bad acting'
    for (_, ((start, end),), _), token, weight in zip(doc.spans, tokens, weights):
        assert doc.document[start:end] == token
        np.testing.assert_allclose(prepared.char_weights[start:end], weight)
    # the table names both positions, each at its own weight
    listed = {fw.feature: fw.weight for fw in chain(target.feature_weights.pos,
                                                    target.feature_weights.neg)}
    assert listed == pytest.approx({'good': -1.0, 'acting': -1 / 3, 'bad': 1 / 3,
                                    'acting [2]': 1.0})
    html = eli5.format_as_html(expl)
    assert re.findall(r'title="(-?[0-9.]+)"[^>]*>acting</span>', html) == ['-0.333', '1.000']
    text = eli5.format_as_text(expl)
    assert re.search(r'\+1\.000 +acting \[2\]', text)
