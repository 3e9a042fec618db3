"""GradCAMTarget: eli5's tables of a target, built when first read, equal to eager ones."""
import copy
import pickle

import attr
import eli5
import numpy as np
from eli5.base import TargetExplanation

from eli5_gradcam.nn.features import fewer_feature_weights
from eli5_gradcam.nn.target_explanation import (STRONGEST_TOKENS, GradCAMTarget,
                                                memoised_layout, position_feature_weights,
                                                position_target, text_target)
from eli5_gradcam.nn.text import token_feature_weights, token_layout, weighted_spans

TOKENS = ['the', 'acting', 'was', 'good', 'acting']
HEATMAP = np.array([0.1, 1.0, -0.2, 0.5, 0.3])


def _eager_text_tables():
    features = token_feature_weights(TOKENS, HEATMAP)
    spans = weighted_spans(TOKENS, HEATMAP, other=fewer_feature_weights(features,
                                                                        STRONGEST_TOKENS))
    return features, spans


def test_text_tables_equal_the_eager_ones_and_are_built_once():
    calls = []

    def layout():
        calls.append(1)
        return token_layout(TOKENS)

    target = text_target('pos', HEATMAP, TOKENS, layout, proba=0.7, score=1.5)
    assert calls == []                                    # nothing built yet
    features, spans = _eager_text_tables()
    assert target.feature_weights == features and target.weighted_spans == spans
    assert len(calls) == 2                                # one build (it reads the layout twice)
    target.feature_weights, target.weighted_spans       # noqa: B018  (read again: kept)
    assert len(calls) == 2
    eager = TargetExplanation('pos', features, 0.7, 1.5, spans, HEATMAP)
    assert repr(target) == repr(eager).replace('TargetExplanation', 'GradCAMTarget')


def test_memoised_layout_is_computed_once():
    layout = memoised_layout(TOKENS)
    assert layout() is layout() and layout() == token_layout(TOKENS)


def test_position_tables_and_copies():
    heatmap = np.arange(12.0).reshape(3, 4) - 4
    target = position_target(3, heatmap, proba=None, score=2.0)
    assert target.weighted_spans is None
    assert target.feature_weights == position_feature_weights(heatmap)
    for other in (pickle.loads(pickle.dumps(target)), copy.deepcopy(target),
                  attr.evolve(target, score=3.0)):
        assert type(other) is GradCAMTarget
        assert (other.target, other.feature_weights, other.weighted_spans) == (
            target.target, target.feature_weights, None)
        np.testing.assert_array_equal(other.heatmap, heatmap)
    assert attr.evolve(target, score=3.0).score == 3.0


def test_pickled_before_reading_carries_the_tables():
    target = text_target('pos', HEATMAP, TOKENS, memoised_layout(TOKENS), proba=None,
                         score=0.0)
    again = pickle.loads(pickle.dumps(target))
    assert again.feature_weights == _eager_text_tables()[0]


def test_assigning_a_table_keeps_the_other():
    target = text_target('pos', HEATMAP, TOKENS, memoised_layout(TOKENS), proba=None,
                         score=0.0)
    target.feature_weights = None
    assert target.feature_weights is None
    assert target.weighted_spans == _eager_text_tables()[1]


def test_eli5_formatters_read_the_built_tables():
    target = text_target('pos', HEATMAP, TOKENS, memoised_layout(TOKENS), proba=None,
                         score=0.0)
    expl = eli5.base.Explanation('model', targets=[target])
    html = eli5.format_as_html(expl)
    assert 'acting [2]' in eli5.format_as_text(expl) and 'acting' in html
    assert eli5.formatters.as_dict.format_as_dict(expl)['targets'][0]['feature_weights'][
        'pos'][0]['feature'] == 'acting'
