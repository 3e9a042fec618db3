"""Bad input to the Keras adapter: a named error, never a framework's (issue 7).

Run once per backend, each in its own process.

* a table-driven bad-input matrix over every public argument of
  ``eli5.explain_prediction`` and ``eli5_gradcam.explain_predictions`` for Keras
  models: each case names the exception type and the argument its message must
  name; no framework exception reaches the caller;
* the same for ``explain_prediction_keras`` called directly (bad docs, bad
  arguments, a tokens/doc length mismatch), and an unbuilt or empty model: an
  ``Explanation`` with ``error`` from eli5's entry point, a ``ValueError`` from a
  batch.
"""
from __future__ import annotations

import warnings
from typing import List

import numpy as np
import pytest

keras = pytest.importorskip('keras')

import eli5  # noqa: E402

from bad_input_table import Case, assert_named_error, case_makers  # noqa: E402
from eli5_gradcam import FlatHeatmapWarning, explain_predictions  # noqa: E402
from eli5_gradcam.keras import explain_prediction_keras  # noqa: E402
from keras_helpers import Subclassed, seeded_weights  # noqa: E402
from keras_robustness_helpers import (IDS, IMAGE, PICTURE, TOKENS,  # noqa: E402
                                      cached_model)

layers = keras.layers


# ---- the bad-input matrix: eli5.explain_prediction and explain_predictions -----------------

DOCS = np.random.default_rng(4).random((5, 8, 8, 3)).astype('float32')
_case, _text, _batch = case_makers(IMAGE, IDS, TOKENS, DOCS)


EXPLAIN_CASES: List[Case] = [
    _case('doc-none', TypeError, 'doc must be', doc=None),
    _case('doc-str', TypeError, 'doc must be', doc='an image'),
    # a dict is keyed by the model's input names (see test_keras_multi_input)
    _case('doc-dict', ValueError, r"doc: \['x'\] is not an input of the model", doc={'x': IMAGE}),
    _case('doc-ragged-list', TypeError, 'doc must be', doc=[[1.0], [1.0, 2.0]]),
    _case('doc-str-array', TypeError, 'doc must be', doc=np.array([['a']])),
    _case('doc-object-array', TypeError, 'doc must be', doc=np.array([[None]], dtype=object)),
    _case('doc-complex', TypeError, 'doc must be', doc=IMAGE.astype(complex)),
    _case('doc-rank1', ValueError, 'doc must have a batch axis', doc=np.zeros(8, 'float32')),
    _case('doc-no-batch-axis', ValueError, r'one HWC image without its batch axis: pass '
          r'doc\[None\]', doc=IMAGE[0]),
    _case('doc-wrong-size', ValueError, 'doc has shape', doc=np.zeros((1, 9, 9, 3), 'float32')),
    _case('doc-channels-first', ValueError, 'doc .*channels-first',
          doc=np.moveaxis(IMAGE, -1, 1).copy()),
    _case('doc-empty', ValueError, 'doc is empty', doc=np.zeros((1, 0, 8, 3), 'float32')),
    _case('doc-empty-batch', ValueError, 'doc is empty', doc=np.zeros((0, 8, 8, 3), 'float32')),
    _case('doc-batch-2', ValueError, 'doc must hold one document',
          doc=np.zeros((2, 8, 8, 3), 'float32')),
    _case('doc-nan', ValueError, r'doc holds \d+ NaN', doc=np.full((1, 8, 8, 3), np.nan)),
    _case('doc-inf', ValueError, 'doc holds 1 NaN or infinite',
          doc=np.where(np.arange(192).reshape(1, 8, 8, 3) == 7, np.inf, 0.5)),
    _text('doc-ids-fractional', ValueError, 'doc: the model takes integer input',
          doc=IDS + 0.5),
    _text('doc-ids-wrong-length', ValueError, 'doc has shape', doc=np.array([[1, 2, 3]]),
          tokens=list('abc')),
    _case('targets-name-without-names', ValueError, 'targets', targets=['cat']),
    _case('targets-float', TypeError, 'targets', targets=[1.5]),
    _case('targets-out-of-range', ValueError, 'targets: index 3 is out of range', targets=[3]),
    _case('targets-negative', ValueError, 'targets: index -1', targets=[-1]),
    _case('targets-empty', ValueError, 'targets is empty', targets=[]),
    _case('targets-dict', TypeError, 'targets', targets={0: 1}),
    _case('targets-and-top-targets', ValueError, 'targets or top_targets', targets=[0],
          top_targets=1),
    _case('top-targets-zero', ValueError, 'top_targets', top_targets=0),
    _case('top-targets-float', ValueError, 'top_targets', top_targets=1.5),
    _case('target-names-too-few', ValueError, 'target_names has 2 names',
          target_names=['a', 'b']),
    _case('target-names-str', TypeError, 'target_names', target_names='abc'),
    _case('target-names-bad-key', ValueError, 'target_names keys', target_names={7: 'x'}),
    _case('layer-float', TypeError, 'layer must be', layer=1.5),
    _case('layer-bool', TypeError, 'layer must be', layer=False),
    # a list of layers is fused (issue 15); these lists are not
    _case('layer-nested-list', TypeError, 'layer: a list of layers', layer=[['conv1']]),
    _case('layer-empty-list', ValueError, 'layer is an empty list', layer=[]),
    _case('layer-list-unknown', ValueError, "layer 'conv9' not found",
          layer=['conv1', 'conv9']),
    _case('layer-unknown', ValueError, "layer 'conv9' not found", layer='conv9'),
    _case('layer-index-out-of-range', ValueError, 'layer: index 9', layer=9),
    _case('layer-no-spatial-extent', ValueError, "layer 'head'", layer='head'),
    _case('layer-pooling', ValueError, "layer 'pool'", layer='pool'),
    _case('layer-foreign', ValueError, 'not part of the model', layer=layers.Conv2D(2, 3)),
    _case('method-none', TypeError, 'method', method=None),
    _case('method-unknown', ValueError, 'method must be one of', method='cam'),
    _case('relu-none', TypeError, 'relu', relu=None),
    _case('relu-int', TypeError, 'relu', relu=1),
    _case('counterfactual-str', TypeError, 'counterfactual', counterfactual='yes'),
    _case('score-unknown', ValueError, 'score must be one of', score='logits'),
    _case('score-none', TypeError, 'score', score=None),
    _case('output-on-single-output', ValueError, r'^output=1 selects part of a model output',
          output=1),
    _case('output-name-on-single-output', ValueError, r"^output='x'", output='x'),
    _case('output-missing-on-two', ValueError, 'the model returns 2 outputs.*output=',
          model='two'),
    _case('output-index-out-of-range', ValueError, 'output=5 is out of range', model='two',
          output=5),
    _case('output-unknown-name', ValueError, "output='c' is not a name", model='two',
          output='c'),
    _case('output-list', TypeError, 'output must be', model='two', output=[0]),
    _case('image-ndarray', TypeError, 'image must be a PIL', image=IMAGE[0]),
    _case('image-and-tokens', ValueError, 'image=.*tokens=', image=PICTURE, tokens=TOKENS),
    _text('tokens-string', TypeError, 'tokens must be a list', tokens='abcd'),
    _text('tokens-too-few', ValueError, 'tokens has 3 tokens but doc has 4', tokens=list('abc')),
    _text('tokens-ints', TypeError, 'tokens must all be str', tokens=[1, 2, 3, 4]),
    _text('tokens-empty', ValueError, 'tokens is empty', tokens=[]),
    _text('tokens-dict', TypeError, 'tokens must be a list', tokens={'a': 1}),
    _text('pad-value-str', TypeError, 'pad_value must be a number', pad_value='<pad>'),
    _text('pad-token-int', TypeError, 'pad_token must be a str', pad_token=0),
    _text('padding-unknown', ValueError, 'padding must be one of', padding='both'),
    _text('padding-array', TypeError, 'padding', padding=np.array(['pre', 'post'])),
    _text('interpolation-unknown', ValueError, 'interpolation_kind must be one of',
          interpolation_kind='spline'),
    _text('interpolation-list', TypeError, 'interpolation_kind', interpolation_kind=['linear']),
    _case('reshape-is-torch-only', TypeError, 'reshape', reshape=lambda t: t),
    # Every backend, JAX included (it would clamp the index silently): the same named error.
    _text('doc-ids-out-of-vocabulary', ValueError, 'doc: token id 40 is outside the vocabulary',
          doc=np.array([[1, 2, 3, 40]])),
]


@pytest.mark.parametrize('case', EXPLAIN_CASES, ids=[case.id for case in EXPLAIN_CASES])
def test_bad_input_explain_prediction(case: Case) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FlatHeatmapWarning)
        with pytest.raises(case.error) as info:
            eli5.explain_prediction(cached_model(case.model), case.doc, **case.kwargs)
    assert_named_error(info, case.error, case.names)


BATCH_CASES: List[Case] = [
    _batch('batch-size-zero', ValueError, 'batch_size', batch_size=0),
    _batch('batch-size-float', TypeError, 'batch_size', batch_size=2.5),
    _batch('progress-str', TypeError, 'progress', progress='no'),
    _batch('docs-none', TypeError, 'docs must be', docs=None),
    _batch('docs-int', TypeError, 'docs must be', docs=3),
    _batch('docs-mixed-shapes', ValueError, 'docs: .*same shape',
           docs=[np.zeros((8, 8, 3)), np.zeros((9, 9, 3))]),
    _batch('docs-nan', ValueError, 'doc holds', docs=np.full((2, 8, 8, 3), np.nan)),
    _batch('docs-wrong-size', ValueError, 'doc has shape', docs=np.zeros((2, 9, 9, 3))),
    _batch('images-too-few', ValueError, 'images: got 1 entries for 5', images=[PICTURE]),
    _batch('images-int', TypeError, 'images must be a list', images=3),
    _batch('tokens-too-many', ValueError, 'tokens: got 3 entries for 2', model='text',
           docs=np.array([[1, 2, 3, 4], [4, 3, 2, 1]]), tokens=[TOKENS] * 3),
    _batch('tokens-flat', TypeError, 'tokens must hold one token list per document',
           model='text', docs=np.array([[1, 2, 3, 4], [4, 3, 2, 1]]), tokens=list('ab')),
    _batch('doc-keyword', TypeError, 'not doc=', doc=IMAGE),
    _batch('method-unknown', ValueError, 'method', method='cam'),
]


@pytest.mark.parametrize('case', BATCH_CASES, ids=[case.id for case in BATCH_CASES])
def test_bad_input_explain_predictions(case: Case) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FlatHeatmapWarning)
        with pytest.raises(case.error) as info:
            list(explain_predictions(cached_model(case.model), case.doc, **case.kwargs))
    assert_named_error(info, case.error, case.names)


BAD_INPUT_CASES = len(EXPLAIN_CASES) + len(BATCH_CASES)


# ---- explain_prediction_keras directly ---------------------------------------------------

@pytest.mark.parametrize('doc, error, match', [
    ('a string', TypeError, 'doc'),
    (np.array([['a']]), TypeError, 'doc'),
    (np.zeros((12, 12, 3), 'float32'), ValueError, r'one HWC image without its batch axis'),
    (np.zeros((1, 10, 10, 3), 'float32'), ValueError, 'doc has shape'),
    (np.zeros((1, 3, 12, 12), 'float32'), ValueError, 'channels-first'),
    (np.zeros((2, 12, 12, 3), 'float32'), ValueError, 'one document'),
])
def test_bad_docs(cnn, doc, error, match):
    with pytest.raises(error, match=match):
        explain_prediction_keras(cnn, doc)


def test_bad_arguments(cnn, image_doc):
    with pytest.raises(ValueError, match='targets: index 3 is out of range'):
        explain_prediction_keras(cnn, image_doc, targets=[3])
    with pytest.raises(ValueError, match="layer 'conv9' not found.*conv2, conv1"):
        explain_prediction_keras(cnn, image_doc, layer='conv9')
    with pytest.raises(ValueError, match='layer: index 7'):
        explain_prediction_keras(cnn, image_doc, layer=7)
    with pytest.raises(TypeError, match='layer must be'):
        explain_prediction_keras(cnn, image_doc, layer=1.5)
    with pytest.raises(ValueError, match='not part of the model'):
        explain_prediction_keras(cnn, image_doc, layer=layers.Conv2D(2, 3))
    with pytest.raises(ValueError, match='score'):
        explain_prediction_keras(cnn, image_doc, score='logits')
    with pytest.raises(ValueError, match='method'):
        explain_prediction_keras(cnn, image_doc, method='cam')
    with pytest.raises(ValueError, match='2-D'):
        explain_prediction_keras(cnn, image_doc, layer='pool')
    with pytest.raises(ValueError, match='target_names'):
        explain_prediction_keras(cnn, image_doc, target_names=['a', 'b'])


def test_tokens_length_mismatch():
    model = seeded_weights(keras.Sequential([
        keras.Input((6,), dtype='int32'), layers.Embedding(10, 4),
        layers.Conv1D(3, 2, padding='same', name='conv'), layers.GlobalMaxPooling1D(),
        layers.Dense(2)]), seed=20)
    with pytest.raises(ValueError, match='tokens has 5 tokens but doc has 6'):
        explain_prediction_keras(model, np.array([[1, 2, 3, 4, 5, 6]]), tokens=list('abcde'))


def test_unbuilt_or_empty_model_is_not_supported(image_doc):
    """eli5's convention: a model that cannot be explained gives an Explanation with error."""
    for model in (Subclassed(), keras.Sequential()):
        expl = eli5.explain_prediction(model, image_doc)
        assert expl.targets is None and 'is not supported' in expl.error
    assert 'not built' in eli5.explain_prediction(Subclassed(), image_doc).error
    expl = eli5.explain_prediction(keras.Sequential(), np.zeros((0,)))      # as eli5's suite
    assert 'is not supported' in expl.error
    dense = keras.Sequential([keras.Input((4,)), layers.Dense(2)])
    expl = eli5.explain_prediction(dense, np.zeros((1, 4), 'float32'))
    assert 'is not supported' in expl.error and 'layer=None' in expl.error
    from eli5_gradcam.keras import explain_batch_keras
    with pytest.raises(ValueError, match='not built'):                     # a batch raises
        explain_batch_keras(Subclassed(), image_doc)
