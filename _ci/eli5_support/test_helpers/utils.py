"""Stand-in for eli5's ``tests/utils.py``, which the eli5 0.16.0 sdist omits.

Written for eli5-gradcam's conformance suite from how eli5's tests call these
helpers; ``_ci/eli5_conformance.py`` copies it next to the extracted tests.
Formatters are looked up on the ``eli5`` module at call time, so a rebinding
(what ``import eli5_gradcam`` does to ``eli5.format_as_dict``) is what runs.
"""
import json
import os

import numpy as np
from hypothesis.extra.numpy import arrays
from hypothesis.strategies import integers

import eli5

#: Settings that make SGD estimators deterministic and quiet.
SGD_KWARGS = {'random_state': 42, 'max_iter': 1000, 'tol': 1e-3}


def rnd_len_arrays(dtype, min_len=0, max_len=3, elements=None):
    """Hypothesis strategy: 1-d arrays of ``dtype`` with a random length."""
    return integers(min_len, max_len).flatmap(
        lambda n: arrays(dtype, n, elements=elements))


def format_as_all(res, clf, **kwargs):
    """Format ``res`` as a JSON-encodable dict, text and HTML; return (text, html)."""
    json.dumps(eli5.format_as_dict(res))
    text = eli5.format_as_text(res, **kwargs)
    html = eli5.format_as_html(res, **kwargs)
    write_html(clf, html, text)
    return text, html


def strip_blanks(html):
    """``html`` without spaces and line breaks."""
    return html.replace(' ', '').replace('\n', '')


def write_html(clf, html, text, postfix=''):
    """Save a rendering under ``.html/`` in the working directory, for inspection."""
    os.makedirs('.html', exist_ok=True)
    name = '{}{}.html'.format(type(clf).__name__, postfix)
    with open(os.path.join('.html', name), 'w', encoding='utf8') as f:
        f.write('<pre>{}</pre><hr/>{}'.format(text, html))


def _names(name):
    # An unhashed feature is a list of {'name': ..., 'sign': ...} candidates.
    if isinstance(name, list):
        return [candidate['name'] for candidate in name]
    return [name]


def get_all_features(feature_weights, with_weights=False):
    """Feature names in ``feature_weights`` (a set), or name -> weight (a dict)."""
    if with_weights:
        return {n: fw.weight for fw in feature_weights for n in _names(fw.feature)}
    return {n for fw in feature_weights for n in _names(fw.feature)}


def get_names_coefs(feature_weights):
    """(name, weight) pairs, one per candidate name of each feature."""
    return [(n, fw.weight) for fw in feature_weights for n in _names(fw.feature)]


def check_targets_scores(explanation, atol=1e-8):
    """Each target's feature weights sum to its score (or probability)."""
    for target in explanation.targets:
        weights = target.feature_weights
        assert not weights.pos_remaining and not weights.neg_remaining
        total = sum(fw.weight for fw in weights.pos) + sum(fw.weight for fw in weights.neg)
        expected = target.score if target.score is not None else target.proba
        assert np.isclose(expected, total, atol=atol), (expected, total)
