"""Robustness of the PyTorch adapter (issue 7).

* a table-driven bad-input matrix over every public argument of
  ``eli5.explain_prediction`` and ``eli5_gradcam.explain_predictions``: each
  case names the exception type and the argument its message must name, and
  no case may surface a framework exception;
* numerical edge cases that must give a result (float64 docs, a constant
  image, a dead layer);
* model-state invariants as hypothesis properties over random small models,
  after success, after a bad argument and after a ``BaseException`` injected
  mid-call;
* the same model explained from 4 threads at once;
* a soak test (``slow``; ``ELI5_GRADCAM_SOAK`` explanations, default 200).
"""
from __future__ import annotations

import concurrent.futures
import copy as copy_module
import gc
import os
import re
import warnings
from typing import Any, Dict, List, NamedTuple, Optional

import numpy as np
import pytest

torch = pytest.importorskip('torch')

import eli5  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from PIL import Image  # noqa: E402
from torch import nn  # noqa: E402

import eli5_gradcam  # noqa: E402
from eli5_gradcam import FlatHeatmapWarning, explain_predictions  # noqa: E402


# ---- tiny models -------------------------------------------------------------------------

def image_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))


class TextModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.embedding = nn.Embedding(10, 4)
        self.conv = nn.Conv1d(4, 5, 3, padding=1)
        self.fc = nn.Linear(5, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        features = self.conv(self.embedding(ids).transpose(1, 2))
        return self.fc(features.mean(dim=2))


class TupleModel(nn.Module):
    """Returns ``(scores, features)``: ``output=`` picks one."""

    def __init__(self) -> None:
        super().__init__()
        self.body = image_model(2)

    def forward(self, x: torch.Tensor) -> Any:
        return self.body(x), x.mean()


MODELS = {'image': image_model, 'text': TextModel, 'tuple': TupleModel}
IMAGE = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(3))
IDS = torch.tensor([[1, 2, 3, 4]])
TOKENS = list('abcd')
PICTURE = Image.new('RGB', (8, 8))


def _failing_reshape(tensor: torch.Tensor) -> torch.Tensor:
    raise ZeroDivisionError('a broken reshape')


# ---- the bad-input matrix: explain_prediction ----------------------------------------------

class Case(NamedTuple):
    id: str
    model: str
    doc: Any
    kwargs: Dict[str, Any]
    error: type
    names: str          # regex: the argument the message must name


def _case(id: str, error: type, names: str, doc: Any = IMAGE, model: str = 'image',
          **kwargs: Any) -> Case:
    return Case(id, model, doc, kwargs, error, names)


def _text(id: str, error: type, names: str, doc: Any = IDS, **kwargs: Any) -> Case:
    kwargs.setdefault('tokens', TOKENS)
    return Case(id, 'text', doc, kwargs, error, names)


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


def assert_named_error(info: Any, error: type, names: str) -> None:
    """The error is ours: the right builtin type, naming the argument, no framework class."""
    exc = info.value
    assert type(exc) is error, f'{type(exc).__module__}.{type(exc).__name__}: {exc}'
    assert type(exc).__module__ == 'builtins'
    assert re.search(names, str(exc)), f'{names!r} not in: {exc}'
    for cause in (exc.__cause__, exc.__context__):
        if cause is not None and str(cause):
            # a framework's (or the model's) message may be quoted, but the naming of
            # the argument must be our own words, outside the quoted text
            assert str(exc) != str(cause)
            assert re.search(names, str(exc).replace(str(cause), '')), (
                f'{names!r} only in the quoted cause: {exc}')


@pytest.mark.parametrize('case', EXPLAIN_CASES, ids=[case.id for case in EXPLAIN_CASES])
def test_bad_input_explain_prediction(case: Case) -> None:
    model = _model(case.model)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FlatHeatmapWarning)
        with pytest.raises(case.error) as info:
            eli5.explain_prediction(model, case.doc, **case.kwargs)
    assert_named_error(info, case.error, case.names)


# ---- the bad-input matrix: explain_predictions ---------------------------------------------

DOCS = torch.rand(5, 3, 8, 8, generator=torch.Generator().manual_seed(4))
BATCH_IDS = torch.tensor([[1, 2, 3, 4], [4, 3, 2, 1], [5, 5, 6, 6]])


def _batch(id: str, error: type, names: str, docs: Any = DOCS, model: str = 'image',
           **kwargs: Any) -> Case:
    kwargs.setdefault('progress', False)
    return Case(id, model, docs, kwargs, error, names)


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


# ---- inputs that must work -----------------------------------------------------------------

def _quiet_explain(model: Any, doc: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FlatHeatmapWarning)
        return eli5.explain_prediction(model, doc, **kwargs)


@pytest.mark.parametrize('doc', [IMAGE.double(), IMAGE.double().numpy(), IMAGE.half(),
                                 IMAGE.numpy()],
                         ids=['float64-tensor', 'float64-numpy', 'float16-tensor', 'float32-numpy'])
def test_float_docs_of_any_precision_follow_the_model(doc: Any) -> None:
    model = image_model()
    reference = _quiet_explain(model, IMAGE, relu=False, targets=[0, 1])
    expl = _quiet_explain(model, doc, relu=False, targets=[0, 1])
    assert expl.error is None
    for got, want in zip(expl.targets, reference.targets):
        np.testing.assert_allclose(got.heatmap, want.heatmap, atol=2e-3)


def test_numpy_bool_flags_and_integer_batch_size_work() -> None:
    model = image_model()
    expl = _quiet_explain(model, IMAGE, relu=np.bool_(False), counterfactual=np.bool_(False))
    assert expl.targets[0].heatmap.shape == (8, 8)
    results = list(explain_predictions(model, DOCS, batch_size=np.int64(2), progress=False,
                                       relu=False))
    assert len(results) == 5


@pytest.mark.parametrize('docs', [[], torch.zeros(0, 3, 8, 8)], ids=['list', 'tensor'])
def test_no_documents_give_no_explanations(docs: Any) -> None:
    assert list(explain_predictions(image_model(), docs, progress=False)) == []


def test_constant_image_gives_a_result() -> None:
    expl = _quiet_explain(image_model(), torch.full((1, 3, 8, 8), 0.5), relu=False)
    heatmap = expl.targets[0].heatmap
    assert heatmap.shape == (8, 8) and np.isfinite(heatmap).all()
    assert np.abs(heatmap).max() <= 1.0


def test_dead_layer_gives_zero_heatmap_and_a_warning() -> None:
    model = image_model()
    with torch.no_grad():
        model[6].weight.zero_()             # the scores no longer depend on the layer
    with pytest.warns(FlatHeatmapWarning):
        expl = eli5.explain_prediction(model, IMAGE, targets=[0, 2])
    for target in expl.targets:
        assert target.heatmap.shape == (8, 8)
        assert np.array_equal(target.heatmap, np.zeros((8, 8)))


def test_more_top_targets_than_outputs_gives_every_output() -> None:
    expl = _quiet_explain(image_model(), IMAGE, top_targets=100)
    assert sorted(t.target for t in expl.targets) == [0, 1, 2]


# ---- state invariants (hypothesis) ---------------------------------------------------------

class Interrupt(BaseException):
    """Like ``KeyboardInterrupt``: not an ``Exception``, so nothing may swallow it."""


def full_state(model: nn.Module) -> Dict[str, Any]:
    """Everything explaining must leave as it was, hooks by identity."""
    return {
        'training': [(name, m.training) for name, m in model.named_modules()],
        'requires_grad': [(name, p.requires_grad) for name, p in model.named_parameters()],
        'grads': [(name, None if p.grad is None else (id(p.grad), p.grad.clone()))
                  for name, p in model.named_parameters()],
        'hooks': [(name, [(key, id(hook)) for key, hook in getattr(m, attr).items()])
                  for name, m in model.named_modules()
                  for attr in ('_forward_hooks', '_forward_pre_hooks', '_backward_hooks',
                               '_backward_pre_hooks')],
        'weights': {name: t.detach().clone() for name, t in model.state_dict().items()},
        'grad_mode': (torch.is_grad_enabled(), torch.is_inference_mode_enabled()),
    }


def assert_same_full_state(before: Dict[str, Any], after: Dict[str, Any]) -> None:
    assert after['training'] == before['training']
    assert after['requires_grad'] == before['requires_grad']
    assert after['hooks'] == before['hooks']
    assert after['grad_mode'] == before['grad_mode']
    for (name, old), (_, new) in zip(before['grads'], after['grads']):
        if old is None:
            assert new is None, name
        else:
            assert new is not None and new[0] == old[0], name     # the same tensor object
            assert torch.equal(new[1], old[1]), name
    assert after['weights'].keys() == before['weights'].keys()
    for name, value in before['weights'].items():
        assert torch.equal(after['weights'][name], value), name


@st.composite
def random_models(draw: Any) -> Dict[str, Any]:
    """A small random CNN in a random state, with user hooks, a layer and targets."""
    depth = draw(st.integers(1, 3))
    widths = [draw(st.integers(1, 5)) for _ in range(depth)]
    classes = draw(st.integers(1, 4))
    torch.manual_seed(draw(st.integers(0, 2 ** 16)))
    layers: List[nn.Module] = []
    conv_names = []
    channels = 3
    for width in widths:
        conv_names.append(str(len(layers)))
        layers.append(nn.Conv2d(channels, width, 3, padding=1))
        if draw(st.booleans()):
            layers.append(nn.BatchNorm2d(width))
        layers.append(nn.ReLU(inplace=draw(st.booleans())))
        if draw(st.booleans()):
            layers.append(nn.Dropout(0.5))
        channels = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, classes)]
    if classes > 1 and draw(st.booleans()):
        layers.append(nn.Softmax(dim=1))
    model = nn.Sequential(*layers)
    modules = list(model.modules())
    for module in modules:
        module.training = draw(st.booleans())
    for parameter in model.parameters():
        parameter.requires_grad_(draw(st.booleans()))
        if draw(st.booleans()):
            parameter.grad = torch.full_like(parameter, 0.25)
    hooked = modules[draw(st.integers(1, len(modules) - 1))]
    hooked.register_forward_hook(lambda module, args, output: None)
    hooked.register_forward_pre_hook(lambda module, args: None)
    if draw(st.booleans()):
        hooked.register_full_backward_hook(lambda module, grad_in, grad_out: None)
    layer = draw(st.sampled_from([None] + conv_names))
    if draw(st.booleans()):
        options: Dict[str, Any] = {'top_targets': draw(st.integers(1, classes))}
    else:
        options = {'targets': draw(st.lists(st.integers(0, classes - 1), min_size=1,
                                            max_size=3))}
    size = draw(st.integers(2, 6))
    doc = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(size))
    return dict(model=model, layer=layer, options=options, doc=doc,
                method=draw(st.sampled_from(['gradcam', 'gradcam++', 'layercam', 'hirescam'])),
                relu=draw(st.booleans()), modules=modules)


invariant_settings = settings(max_examples=25, deadline=None,
                              suppress_health_check=[HealthCheck.too_slow])


def differentiable(model: nn.Module, doc: torch.Tensor) -> bool:
    """Whether the user could differentiate ``model`` on ``doc`` themselves (a full
    backward hook on a module whose output a later ``ReLU(inplace=True)`` modifies
    makes PyTorch refuse any backward through it)."""
    copy = copy_module.deepcopy(model).eval()
    with torch.enable_grad():
        try:
            copy(doc.clone().requires_grad_(True))
        except RuntimeError:
            return False
    return True


@invariant_settings
@given(random_models())
def test_model_state_unchanged_after_success(drawn: Dict[str, Any]) -> None:
    model = drawn['model']
    before = full_state(model)
    kwargs = dict(layer=drawn['layer'], method=drawn['method'], relu=drawn['relu'],
                  **drawn['options'])
    if not differentiable(model, drawn['doc']):
        # PyTorch refuses a backward through that hooked module; the explanation
        # records no graph upstream of its layer, so it fails only when the hooked
        # module is downstream of the layer, and then with a named error.
        try:
            expl = _quiet_explain(model, drawn['doc'], **kwargs)
        except ValueError as exc:
            assert 'doc: the model failed' in str(exc)
            assert_same_full_state(before, full_state(model))
            return
    else:
        expl = _quiet_explain(model, drawn['doc'], **kwargs)
    assert_same_full_state(before, full_state(model))
    for target in expl.targets:
        assert np.isfinite(target.heatmap).all()
        assert target.heatmap.min() >= (0.0 if drawn['relu'] else -1.0)
        assert target.heatmap.max() <= 1.0


@invariant_settings
@given(random_models(), st.sampled_from(['targets', 'layer', 'method', 'tokens']))
def test_model_state_unchanged_after_a_bad_argument(drawn: Dict[str, Any], bad: str) -> None:
    model = drawn['model']
    kwargs: Dict[str, Any] = {'targets': [99], 'layer': 'no-such-layer',
                              'method': 'no-such-method', 'tokens': ['a']}
    before = full_state(model)
    with pytest.raises((ValueError, TypeError)):
        eli5.explain_prediction(model, drawn['doc'], **{bad: kwargs[bad]})
    assert_same_full_state(before, full_state(model))


@invariant_settings
@given(random_models(), st.integers(1, 2), st.data())
def test_model_state_unchanged_after_an_interrupt_mid_call(drawn: Dict[str, Any], on_call: int,
                                                           data: Any) -> None:
    """A ``BaseException`` raised by the model in the adapter's first or second forward
    pass (the layer-choosing trace, then the explained pass) goes through unchanged and
    leaves the model as it was."""
    model = drawn['model']
    modules = drawn['modules']
    victim = modules[data.draw(st.integers(1, len(modules) - 1))]
    calls = [0]

    def interrupting(module: nn.Module, args: Any, output: Any) -> None:
        calls[0] += 1
        if calls[0] == on_call:
            raise Interrupt('interrupted mid-explanation')
    can_differentiate = differentiable(model, drawn['doc'])
    handle = victim.register_forward_hook(interrupting)
    try:
        before = full_state(model)
        try:
            _quiet_explain(model, drawn['doc'], layer=drawn['layer'], **drawn['options'])
        except Interrupt:
            pass
        except ValueError as exc:
            # PyTorch refuses to differentiate this model at all (see differentiable):
            # a named error about doc, raised before the interrupt could fire
            assert not can_differentiate and str(exc).startswith('doc: the model failed'), exc
        else:
            raise AssertionError('the interrupt did not go through')
        # a fresh model has no cached plan, so there are two passes and the hook fires
        assert calls[0] == on_call or not can_differentiate
        assert_same_full_state(before, full_state(model))
        if can_differentiate:
            _quiet_explain(model, drawn['doc'], layer=drawn['layer'], **drawn['options'])
            assert_same_full_state(before, full_state(model))    # and it still works
    finally:
        handle.remove()


# ---- concurrency ---------------------------------------------------------------------------

def test_same_model_from_four_threads_equals_sequential() -> None:
    torch.manual_seed(5)
    model = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.Dropout(0.5),
                          nn.Conv2d(6, 6, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Linear(6, 4)).train()
    docs = [torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(i))
            for i in range(24)]

    def explain(index: int) -> np.ndarray:
        expl = _quiet_explain(model, docs[index], targets=[index % 4], relu=False)
        return np.stack([t.heatmap for t in expl.targets])
    sequential = [explain(i) for i in range(len(docs))]
    before = full_state(model)
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(explain, range(len(docs))))
    for got, want in zip(threaded, sequential):
        np.testing.assert_array_equal(got, want)
    assert_same_full_state(before, full_state(model))
    assert all(module.training for module in model.modules())


def test_user_forward_in_another_thread_is_not_hijacked() -> None:
    """Our temporary hooks ignore forward passes that other threads run meanwhile."""
    model = image_model()
    doc = IMAGE.clone().requires_grad_(True)
    gradients_seen: List[Optional[torch.Tensor]] = []

    def user_training_step() -> None:
        for _ in range(20):
            output = model(doc).sum()
            (gradient,) = torch.autograd.grad(output, doc)
            gradients_seen.append(gradient)

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        user = pool.submit(user_training_step)
        explained = [pool.submit(_quiet_explain, model, IMAGE) for _ in range(20)]
        user.result()
        for future in explained:
            future.result()
    assert all(g is not None and g.abs().sum() > 0 for g in gradients_seen)


# ---- soak ----------------------------------------------------------------------------------

def _rss_mb() -> float:
    psutil = pytest.importorskip('psutil')
    return float(psutil.Process().memory_info().rss) / 2 ** 20


SOAK_CALLS = int(os.environ.get('ELI5_GRADCAM_SOAK', '200'))


@pytest.mark.slow
def test_soak_memory_stays_flat() -> None:
    model = image_model()
    text = TextModel()
    docs = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(8))

    def one(index: int) -> None:
        _quiet_explain(model, docs[index % 4:index % 4 + 1], top_targets=2)
        _quiet_explain(text, IDS, tokens=TOKENS)
        try:
            eli5.explain_prediction(model, IMAGE, targets=[99])
        except ValueError:
            pass
    for index in range(20):          # warm-up: plan caches, allocator pools
        one(index)
    gc.collect()
    samples = [_rss_mb()]
    for index in range(SOAK_CALLS):
        one(index)
        if index % 50 == 49:
            gc.collect()
            samples.append(_rss_mb())
    gc.collect()
    samples.append(_rss_mb())
    growth = samples[-1] - samples[0]
    print(f'soak: {SOAK_CALLS} x 3 calls, RSS {samples[0]:.1f} -> {samples[-1]:.1f} MB '
          f'(growth {growth:.2f} MB)')
    assert growth < 20, samples
