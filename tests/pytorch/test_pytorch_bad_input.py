"""Bad input to the PyTorch adapter (issue 7): a named error, never a framework's.

A table-driven bad-input matrix over every public argument of
``eli5.explain_prediction`` and ``eli5_gradcam.explain_predictions``: each case
names the exception type (``TypeError`` or ``ValueError``) and the argument its
message must name, in our own words outside any quoted cause; no case may
surface a framework exception.
"""
from __future__ import annotations

import warnings
from typing import Any, List

import numpy as np
import pytest

torch = pytest.importorskip('torch')

import eli5  # noqa: E402
from torch import nn  # noqa: E402

from bad_input_table import Case, assert_named_error, case_makers  # noqa: E402
from eli5_gradcam import FlatHeatmapWarning, explain_predictions  # noqa: E402
from torch_robustness_helpers import (DOCS, IDS, IMAGE, MODELS, PICTURE,  # noqa: E402
                                      TOKENS)


def _failing_reshape(tensor: torch.Tensor) -> torch.Tensor:
    raise ZeroDivisionError('a broken reshape')


# ---- the bad-input matrix: explain_prediction ----------------------------------------------

_case, _text, _batch = case_makers(IMAGE, IDS, TOKENS, DOCS)


EXPLAIN_CASES: List[Case] = [
    # doc: type, rank/shape, empty, batch, values, dtype, layout, device
    _case('doc-none', TypeError, 'doc', doc=None),
    _case('doc-list', TypeError, 'doc', doc=[[1.0, 2.0]]),
    _case('doc-str', TypeError, 'doc', doc='an image'),
    _case('doc-str-array', TypeError, 'doc', doc=np.array([['a', 'b']])),
    _case('doc-object-array', TypeError, 'doc', doc=np.array([[None, 1]], dtype=object)),
    _case('doc-complex', TypeError, 'doc', doc=torch.rand(1, 3, 8, 8, dtype=torch.complex64)),
    _case('doc-scalar', ValueError, 'doc', doc=torch.tensor(1.0)),
    _case('doc-rank1', ValueError, 'doc', doc=torch.rand(8)),
    _case('doc-rank5', ValueError, 'doc', doc=torch.rand(1, 1, 3, 8, 8)),
    _case('doc-empty-spatial', ValueError, 'doc is empty', doc=torch.zeros(1, 3, 0, 0)),
    _case('doc-empty-batch', ValueError, 'doc', doc=torch.zeros(0, 3, 8, 8)),
    _case('doc-batch-2', ValueError, r'doc must hold one document.*explain_predictions',
          doc=torch.rand(2, 3, 8, 8)),
    _case('doc-nan', ValueError, r'doc holds \d+ NaN', doc=torch.full((1, 3, 8, 8), np.nan)),
    _case('doc-inf', ValueError, r'doc holds \d+ NaN or infinite',
          doc=torch.full((1, 3, 8, 8), np.inf)),
    _case('doc-both-infinities', ValueError, 'doc holds 6 NaN or infinite',
          doc=torch.tensor([[[[np.inf, -np.inf], [0.5, 0.5]]]]).expand(1, 3, 2, 2)),
    _case('doc-neg-inf-numpy', ValueError, 'doc holds 1 NaN or infinite',
          doc=np.where(np.arange(192).reshape(1, 3, 8, 8) == 5, -np.inf, 0.5)),
    _case('doc-wrong-channels', ValueError, 'doc: the model failed', doc=torch.rand(1, 5, 8, 8)),
    _case('doc-channels-last', ValueError, r'doc: .*channels-last.*permute',
          doc=IMAGE.permute(0, 2, 3, 1).contiguous()),
    _case('doc-bool', ValueError, 'doc: the model failed',
          doc=torch.ones(1, 3, 8, 8, dtype=torch.bool)),
    _case('doc-meta-device', ValueError, r"doc: cannot move a doc on device meta",
          doc=torch.rand(1, 3, 8, 8, device='meta')),
    _case('doc-image-rank3-with-image', ValueError, 'doc must be an NCHW image',
          doc=torch.rand(1, 3, 8), image=PICTURE),
    _text('doc-ids-as-floats', ValueError, r'doc: the model failed .*float', doc=IDS.float()),
    _text('doc-ids-out-of-vocabulary', ValueError, 'doc: token id 40 is outside the vocabulary',
          doc=torch.tensor([[1, 2, 3, 40]])),
    _text('doc-ids-negative', ValueError, 'doc: token id -1 is outside the vocabulary',
          doc=torch.tensor([[1, 2, 3, -1]])),
    # targets / top_targets / target_names
    _case('targets-name-without-names', ValueError, 'targets', targets=['cat']),
    _case('targets-float', TypeError, 'targets', targets=[1.5]),
    _case('targets-negative', ValueError, 'targets', targets=[-1]),
    _case('targets-out-of-range', ValueError, 'targets: index 3 is out of range', targets=[3]),
    _case('targets-empty', ValueError, 'targets is empty', targets=[]),
    _case('targets-dict', TypeError, 'targets', targets={0: 1}),
    _case('targets-set', TypeError, 'targets', targets={0}),
    _case('targets-none-inside', TypeError, 'targets', targets=[None]),
    _case('targets-nested', TypeError, 'targets', targets=[[0, 1]]),
    _case('targets-tensor', TypeError, 'targets', targets=torch.tensor([0])),
    _case('targets-and-top-targets', ValueError, 'targets or top_targets', targets=[0],
          top_targets=2),
    _case('top-targets-zero', ValueError, 'top_targets', top_targets=0),
    _case('top-targets-float', ValueError, 'top_targets', top_targets=1.5),
    _case('top-targets-str', ValueError, 'top_targets', top_targets='2'),
    _case('top-targets-bool', ValueError, 'top_targets', top_targets=True),
    _case('target-names-too-few', ValueError, 'target_names has 1 names', target_names=['a']),
    _case('target-names-str', TypeError, 'target_names', target_names='abc'),
    _case('target-names-int', TypeError, 'target_names', target_names=3),
    _case('target-names-bad-key', ValueError, 'target_names keys', target_names={5: 'x'}),
    _case('targets-unknown-name', ValueError, "targets: 'zebra' is not in target_names",
          targets=['zebra'], target_names=['a', 'b', 'c']),
    # layer
    _case('layer-float', TypeError, 'layer must be', layer=1.5),
    _case('layer-bool', TypeError, 'layer must be', layer=True),
    # a list of layers is fused (issue 15); these lists are not
    _case('layer-nested-list', TypeError, 'layer: a list of layers', layer=[['0']]),
    _case('layer-empty-list', ValueError, 'layer is an empty list', layer=[]),
    _case('layer-list-unknown', ValueError, "layer 'conv9' not found",
          layer=['0', 'conv9']),
    _case('layer-empty-name', ValueError, "layer '' is the model itself", layer=''),
    _case('layer-unknown', ValueError, "layer 'conv9' not found", layer='conv9'),
    _case('layer-no-spatial-extent', ValueError, "layer '6' has output shape", layer='6'),
    _case('layer-index-out-of-range', ValueError, 'layer index 99', layer=99),
    _case('layer-foreign-module', ValueError, 'layer: .*not part of the model',
          layer=nn.Conv2d(3, 4, 3)),
    # method / relu / counterfactual / score
    _case('method-none', TypeError, 'method', method=None),
    _case('method-int', TypeError, 'method', method=3),
    _case('method-unknown', ValueError, 'method must be one of', method='cam'),
    _case('relu-none', TypeError, 'relu', relu=None),
    _case('relu-str', TypeError, 'relu', relu='yes'),
    _case('relu-int', TypeError, 'relu', relu=1),
    _case('counterfactual-int', TypeError, 'counterfactual', counterfactual=0),
    _case('counterfactual-str', TypeError, 'counterfactual', counterfactual='no'),
    _case('score-none', TypeError, 'score', score=None),
    _case('score-unknown', ValueError, 'score must be one of', score='logits'),
    _case('score-list', TypeError, 'score', score=['auto']),
    _case('score-array', TypeError, 'score', score=np.array(['auto', 'output'])),
    # output
    _case('output-on-single-tensor', ValueError, 'output=', output='logits'),
    _case('output-list', TypeError, 'output must be', model='tuple', output=[0]),
    _case('output-index-out-of-range', ValueError, 'output=5', model='tuple', output=5),
    _case('output-unknown-name', ValueError, "output='nope'", model='tuple', output='nope'),
    _case('output-not-scores', ValueError, 'output: the explained model output has shape',
          model='tuple', output=1),
    # image
    _case('image-ndarray', TypeError, 'image must be a PIL', image=np.zeros((8, 8, 3))),
    _case('image-path', TypeError, 'image must be a PIL', image='picture.png'),
    _case('image-and-tokens', ValueError, 'image=.*tokens=', image=PICTURE, tokens=TOKENS),
    # tokens
    _text('tokens-string', TypeError, 'tokens must be a list', tokens='abcd'),
    _text('tokens-too-few', ValueError, 'tokens has 3 tokens but doc has 4', tokens=list('abc')),
    _text('tokens-too-many', ValueError, 'tokens has 5 tokens', tokens=list('abcde')),
    _text('tokens-ints', TypeError, 'tokens must all be str', tokens=[1, 2, 3, 4]),
    _text('tokens-none-inside', TypeError, 'tokens must all be str', tokens=['a', None, 'c', 'd']),
    _text('tokens-empty', ValueError, 'tokens is empty', tokens=[]),
    _text('tokens-2d', ValueError, 'tokens must be 1-D', tokens=[list('ab'), list('cd')]),
    _text('tokens-dict', TypeError, 'tokens must be a list', tokens={'a': 1}),
    _text('tokens-int', TypeError, 'tokens must be a list', tokens=5),
    # padding
    _text('pad-value-str', TypeError, 'pad_value must be a number', pad_value='<pad>'),
    _text('pad-value-list', TypeError, 'pad_value must be a number', pad_value=[0]),
    _text('pad-value-bool', TypeError, 'pad_value must be a number', pad_value=True),
    _text('pad-token-int', TypeError, 'pad_token must be a str', pad_token=0),
    _text('padding-unknown', ValueError, 'padding must be one of', padding='both'),
    _text('padding-list', TypeError, 'padding must be one of', padding=['pre']),
    _text('padding-int', TypeError, 'padding', padding=1),
    # interpolation_kind
    _text('interpolation-unknown', ValueError, 'interpolation_kind must be one of',
          interpolation_kind='spline'),
    _text('interpolation-none', TypeError, 'interpolation_kind', interpolation_kind=None),
    _text('interpolation-array', TypeError, 'interpolation_kind',
          interpolation_kind=np.array(['linear', 'cubic'])),
    # reshape
    _case('reshape-not-callable', TypeError, 'reshape must be a callable', reshape='grid'),
    _case('reshape-returns-numpy', ValueError, "reshape: on the output of layer '0'", layer='0',
          reshape=lambda tensor: tensor.detach().numpy()),
    _case('reshape-raises', ValueError, "reshape: on the output of layer '0'", layer='0',
          reshape=_failing_reshape),
    _case('reshape-flattens', ValueError, "reshape: on the output of layer '0'", layer='0',
          reshape=lambda tensor: tensor.flatten()),
    _case('reshape-auto-layer', ValueError, 'layer=None.*reshape=',
          reshape=lambda tensor: tensor.flatten()),
    # unknown keyword
    _case('unknown-keyword', TypeError, 'colour', colour='red'),
]


def _model(name: str) -> Any:
    if name == 'lambda':
        return lambda x: x
    return MODELS[name]()


@pytest.mark.parametrize('case', EXPLAIN_CASES, ids=[case.id for case in EXPLAIN_CASES])
def test_bad_input_explain_prediction(case: Case) -> None:
    model = _model(case.model)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FlatHeatmapWarning)
        with pytest.raises(case.error) as info:
            eli5.explain_prediction(model, case.doc, **case.kwargs)
    assert_named_error(info, case.error, case.names)


# ---- the bad-input matrix: explain_predictions ---------------------------------------------

BATCH_IDS = torch.tensor([[1, 2, 3, 4], [4, 3, 2, 1], [5, 5, 6, 6]])


BATCH_CASES: List[Case] = [
    _batch('batch-size-zero', ValueError, 'batch_size', batch_size=0),
    _batch('batch-size-negative', ValueError, 'batch_size', batch_size=-3),
    _batch('batch-size-float', TypeError, 'batch_size', batch_size=2.0),
    _batch('batch-size-str', TypeError, 'batch_size', batch_size='2'),
    _batch('batch-size-bool', TypeError, 'batch_size', batch_size=True),
    _batch('progress-str', TypeError, 'progress', progress='no'),
    _batch('progress-none', TypeError, 'progress', progress=None),
    _batch('docs-none', TypeError, 'docs must be', docs=None),
    _batch('docs-str', TypeError, 'docs must be', docs='pictures/'),
    _batch('docs-int', TypeError, 'docs must be', docs=5),
    _batch('docs-dict-unknown-keys', ValueError, "none of its keys \\['x'\\]", docs={'x': DOCS}),
    _batch('docs-set', TypeError, 'docs must be', docs={1, 2}),
    _batch('docs-generator', TypeError, 'docs must be', docs=(d for d in DOCS)),
    _batch('docs-mixed-shapes', ValueError, 'docs: .*same shape',
           docs=[torch.rand(3, 8, 8), torch.rand(3, 9, 9)]),
    _batch('docs-rank1', ValueError, 'doc must have a batch axis', docs=torch.rand(5)),
    _batch('docs-nan', ValueError, 'doc holds', docs=torch.full((2, 3, 8, 8), np.nan)),
    _batch('images-too-few', ValueError, 'images: got 2 entries for 5', images=[PICTURE] * 2),
    _batch('images-too-many', ValueError, 'images: got 9 entries for 5', images=[PICTURE] * 9),
    _batch('images-not-pil', TypeError, 'image must be a PIL', images=[np.zeros((8, 8, 3))] * 5),
    _batch('images-str', TypeError, 'images must be a list', images='abcde'),
    _batch('images-int', TypeError, 'images must be a list', images=3),
    _batch('tokens-too-few', ValueError, 'tokens: got 2 entries for 3', model='text',
           docs=BATCH_IDS, tokens=[TOKENS] * 2),
    _batch('tokens-too-many', ValueError, 'tokens: got 5 entries for 3', model='text',
           docs=BATCH_IDS, tokens=[TOKENS] * 5),
    _batch('tokens-flat-list', TypeError, 'tokens must hold one token list per document',
           model='text', docs=BATCH_IDS, tokens=list('abc')),
    _batch('tokens-str', TypeError, 'tokens must be a list', model='text', docs=BATCH_IDS,
           tokens='abc'),
    _batch('tokens-wrong-length', ValueError, 'tokens has 2 tokens', model='text',
           docs=BATCH_IDS, tokens=[list('ab')] * 3),
    _batch('doc-keyword', TypeError, 'not doc=', doc=IMAGE),
    _batch('image-keyword', TypeError, 'not image=', image=PICTURE),
    _batch('model-not-a-model', TypeError, 'model must be', model='lambda'),
    _batch('method-unknown', ValueError, 'method', method='cam'),
    _batch('targets-out-of-range', ValueError, 'targets: index 9', targets=[9]),
    _batch('unknown-keyword', TypeError, 'colour', colour='red'),
]


@pytest.mark.parametrize('case', BATCH_CASES, ids=[case.id for case in BATCH_CASES])
def test_bad_input_explain_predictions(case: Case) -> None:
    model = object() if case.model == 'lambda' else _model(case.model)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FlatHeatmapWarning)
        with pytest.raises(case.error) as info:
            list(explain_predictions(model, case.doc, **case.kwargs))
    assert_named_error(info, case.error, case.names)


#: For the README's report: how many bad inputs the matrix tries.
BAD_INPUT_CASES = len(EXPLAIN_CASES) + len(BATCH_CASES)
