"""Robustness of the Keras adapter (issue 7), once per backend in its own process.

* a table-driven bad-input matrix over every public argument of
  ``eli5.explain_prediction`` and ``eli5_gradcam.explain_predictions`` for Keras
  models: each case names the exception type and the argument its message must
  name; no framework exception reaches the caller;
* inputs that must work (float64 docs, integral float ids, a constant image, a
  dead layer);
* layer-state invariants (``__dict__`` by identity, ``trainable``, weights) as
  hypothesis properties over random small models, after success, a bad argument
  and a ``BaseException`` raised inside the model mid-call;
* a soak test (``slow``; ``ELI5_GRADCAM_SOAK`` / 4 explanations, default 50).
"""
from __future__ import annotations

import gc
import os
import re
import warnings
from typing import Any, Dict, List, NamedTuple

import numpy as np
import pytest

keras = pytest.importorskip('keras')

import eli5  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from PIL import Image  # noqa: E402

from eli5_gradcam import FlatHeatmapWarning, explain_predictions  # noqa: E402
from keras_helpers import seeded_weights  # noqa: E402

layers = keras.layers
BACKEND = keras.backend.backend()


def image_model(seed: int = 0) -> Any:
    return seeded_weights(keras.Sequential([
        keras.Input((8, 8, 3)), layers.Conv2D(4, 3, activation='relu', name='conv1'),
        layers.Conv2D(4, 3, name='conv2'), layers.GlobalAveragePooling2D(name='pool'),
        layers.Dense(3, activation='softmax', name='head')]), seed=seed)


def text_model() -> Any:
    return seeded_weights(keras.Sequential([
        keras.Input((4,), dtype='int32'), layers.Embedding(10, 4, name='embedding'),
        layers.Conv1D(5, 2, padding='same', name='conv'), layers.GlobalMaxPooling1D(),
        layers.Dense(2, name='head')]), seed=1)


def two_output_model() -> Any:
    inputs = keras.Input((8, 8, 3))
    features = layers.Conv2D(4, 3, name='conv')(inputs)
    pooled = layers.GlobalAveragePooling2D()(features)
    return seeded_weights(keras.Model(inputs, [layers.Dense(3, name='a')(pooled),
                                               layers.Dense(2, name='b')(pooled)]), seed=2)


MODELS = {'image': image_model, 'text': text_model, 'two': two_output_model}
_CACHE: Dict[str, Any] = {}


def _model(name: str) -> Any:
    if name not in _CACHE:
        _CACHE[name] = MODELS[name]()
    return _CACHE[name]


IMAGE = np.random.default_rng(3).random((1, 8, 8, 3)).astype('float32')
IDS = np.array([[1, 2, 3, 4]])
TOKENS = list('abcd')
PICTURE = Image.new('RGB', (8, 8))


class Case(NamedTuple):
    id: str
    model: str
    doc: Any
    kwargs: Dict[str, Any]
    error: type
    names: str


def _case(id: str, error: type, names: str, doc: Any = IMAGE, model: str = 'image',
          **kwargs: Any) -> Case:
    return Case(id, model, doc, kwargs, error, names)


def _text(id: str, error: type, names: str, doc: Any = IDS, **kwargs: Any) -> Case:
    kwargs.setdefault('tokens', TOKENS)
    return Case(id, 'text', doc, kwargs, error, names)


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


def assert_named_error(info: Any, error: type, names: str) -> None:
    exc = info.value
    assert type(exc) is error, f'{type(exc).__module__}.{type(exc).__name__}: {exc}'
    assert type(exc).__module__ == 'builtins'
    assert re.search(names, str(exc)), f'{names!r} not in: {exc}'
    assert 'Traceback' not in str(exc) and '(most recent call last)' not in str(exc)
    for cause in (exc.__cause__, exc.__context__):
        if cause is not None and str(cause):
            # the naming of the argument must be our own words, outside the quoted cause
            assert str(exc) != str(cause)
            assert re.search(names, str(exc).replace(str(cause), '')), (
                f'{names!r} only in the quoted cause: {exc}')


@pytest.mark.parametrize('case', EXPLAIN_CASES, ids=[case.id for case in EXPLAIN_CASES])
def test_bad_input_explain_prediction(case: Case) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FlatHeatmapWarning)
        with pytest.raises(case.error) as info:
            eli5.explain_prediction(_model(case.model), case.doc, **case.kwargs)
    assert_named_error(info, case.error, case.names)


DOCS = np.random.default_rng(4).random((5, 8, 8, 3)).astype('float32')


def _batch(id: str, error: type, names: str, docs: Any = DOCS, model: str = 'image',
           **kwargs: Any) -> Case:
    kwargs.setdefault('progress', False)
    return Case(id, model, docs, kwargs, error, names)


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
            list(explain_predictions(_model(case.model), case.doc, **case.kwargs))
    assert_named_error(info, case.error, case.names)


BAD_INPUT_CASES = len(EXPLAIN_CASES) + len(BATCH_CASES)


# ---- inputs that must work -----------------------------------------------------------------

def _quiet_explain(model: Any, doc: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FlatHeatmapWarning)
        return eli5.explain_prediction(model, doc, **kwargs)


def test_float64_docs_and_integral_float_ids_work() -> None:
    model = _model('image')
    reference = _quiet_explain(model, IMAGE, relu=False, targets=[0, 2])
    for doc in (IMAGE.astype('float64'), IMAGE.tolist()):
        expl = _quiet_explain(model, doc, relu=False, targets=[0, 2])
        for got, want in zip(expl.targets, reference.targets):
            np.testing.assert_allclose(got.heatmap, want.heatmap, atol=1e-5)
    ids = _quiet_explain(_model('text'), IDS, tokens=TOKENS, relu=False)
    floats = _quiet_explain(_model('text'), IDS.astype('float32'), tokens=TOKENS, relu=False)
    np.testing.assert_allclose(floats.targets[0].heatmap, ids.targets[0].heatmap, atol=1e-6)


def test_constant_image_and_dead_layer_give_results() -> None:
    constant = _quiet_explain(_model('image'), np.full((1, 8, 8, 3), 0.5, 'float32'))
    assert np.isfinite(constant.targets[0].heatmap).all()
    dead = keras.Sequential([keras.Input((8, 8, 3)), layers.Conv2D(2, 3, name='conv'),
                             layers.GlobalAveragePooling2D(),
                             layers.Dense(2, kernel_initializer='zeros')])
    with pytest.warns(FlatHeatmapWarning):
        expl = eli5.explain_prediction(dead, IMAGE, targets=[0, 1])
    for target in expl.targets:
        assert np.array_equal(target.heatmap, np.zeros((6, 6)))


# ---- layer-state invariants (hypothesis) ---------------------------------------------------

class Interrupt(BaseException):
    """Like ``KeyboardInterrupt``: not an ``Exception``."""


class Tripwire(layers.Layer):
    """An identity layer that raises :class:`Interrupt` on its ``armed``-th call."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.calls = [0]
        self.armed = [0]

    def call(self, inputs: Any) -> Any:
        self.calls[0] += 1
        if self.calls[0] == self.armed[0]:
            raise Interrupt('interrupted mid-explanation')
        return inputs


def layer_state(model: Any) -> List[Any]:
    """Each layer's ``__dict__`` (keys, and values by identity), ``trainable`` and weights."""
    state = []
    for layer in model._flatten_layers(include_self=True, recursive=True):
        attributes = sorted((key, id(value)) for key, value in layer.__dict__.items()
                            if not key.startswith('_tracker'))
        state.append((layer.name, attributes, layer.trainable, 'call' in layer.__dict__))
    return state


def assert_same(model: Any, before: List[Any], weights: List[np.ndarray]) -> None:
    assert layer_state(model) == before
    after = model.get_weights()
    assert len(after) == len(weights)
    for old, new in zip(weights, after):
        np.testing.assert_array_equal(old, new)


@st.composite
def random_models(draw: Any) -> Dict[str, Any]:
    """A random small model's recipe; :func:`build` makes it outside the strategy, since
    building Keras layers draws on the ``random`` module (hypothesis warns about that)."""
    depth = draw(st.integers(1, 2))
    classes = draw(st.integers(2, 3))
    names = [f'conv{index}' for index in range(depth)]
    convs = [(draw(st.integers(1, 4)), draw(st.booleans())) for _ in names]
    activation = draw(st.sampled_from([None, 'softmax']))
    seed = draw(st.integers(0, 100))
    frozen = [draw(st.booleans()) for _ in range(depth * 2 + 4)]
    options: Dict[str, Any] = ({'top_targets': draw(st.integers(1, classes))}
                               if draw(st.booleans()) else
                               {'targets': [draw(st.integers(0, classes - 1))]})
    return dict(recipe=(classes, names, convs, activation, seed, frozen),
                layer=draw(st.sampled_from([None] + names)), options=options,
                relu=draw(st.booleans()))


def build(drawn: Dict[str, Any]) -> Dict[str, Any]:
    """The model and its tripwire, from a :func:`random_models` recipe."""
    classes, names, convs, activation, seed, frozen = drawn['recipe']
    stack: List[Any] = [keras.Input((6, 6, 3))]
    for index, (name, (filters, batch_norm)) in enumerate(zip(names, convs)):
        stack.append(layers.Conv2D(filters, 3, padding='same', activation='relu', name=name))
        if batch_norm:
            stack.append(layers.BatchNormalization(name=f'bn{index}'))
    tripwire = Tripwire(name='tripwire')
    stack += [tripwire, layers.Dropout(0.5), layers.GlobalAveragePooling2D(),
              layers.Dense(classes, activation=activation)]
    model = seeded_weights(keras.Sequential(stack), seed=seed)
    for layer, freeze in zip(model.layers, frozen):
        if freeze:
            layer.trainable = False
    return dict(drawn, model=model, tripwire=tripwire)


keras_settings = settings(max_examples=6, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
DOC = np.random.default_rng(5).random((1, 6, 6, 3)).astype('float32')


@keras_settings
@given(random_models())
def test_layer_state_unchanged_after_success_and_bad_argument(drawn: Dict[str, Any]) -> None:
    drawn = build(drawn)
    model = drawn['model']
    model(DOC)                                  # the user's own call builds what Keras caches
    before, weights = layer_state(model), model.get_weights()
    expl = _quiet_explain(model, DOC, layer=drawn['layer'], relu=drawn['relu'],
                          **drawn['options'])
    assert all(np.isfinite(t.heatmap).all() for t in expl.targets)
    assert_same(model, before, weights)
    with pytest.raises(ValueError, match='targets'):
        eli5.explain_prediction(model, DOC, targets=[99])
    assert_same(model, before, weights)


@keras_settings
@given(random_models(), st.integers(1, 2))
def test_layer_state_unchanged_after_an_interrupt_mid_call(drawn: Dict[str, Any],
                                                           on_call: int) -> None:
    """The model raises a ``BaseException`` in the adapter's first pass (the probe) or its
    second (the differentiated pass); it goes through and the layers are as before."""
    drawn = build(drawn)
    model = drawn['model']
    model(DOC)
    tripwire = drawn['tripwire']
    before, weights = layer_state(model), model.get_weights()
    tripwire.calls[0] = 0
    tripwire.armed[0] = on_call
    try:
        with pytest.raises(Interrupt):
            _quiet_explain(model, DOC, layer=drawn['layer'], **drawn['options'])
    finally:
        tripwire.armed[0] = 0
    assert_same(model, before, weights)
    _quiet_explain(model, DOC, layer=drawn['layer'], **drawn['options'])   # still works
    assert_same(model, before, weights)


# ---- soak ----------------------------------------------------------------------------------

SOAK_CALLS = max(int(os.environ.get('ELI5_GRADCAM_SOAK', '200')) // 4, 10)


@pytest.mark.slow
def test_soak_memory_stays_flat() -> None:
    psutil = pytest.importorskip('psutil')
    model = image_model(seed=6)
    docs = np.random.default_rng(6).random((4, 8, 8, 3)).astype('float32')

    def one(index: int) -> None:
        _quiet_explain(model, docs[index % 4:index % 4 + 1], top_targets=2)
        try:
            eli5.explain_prediction(model, docs[:1], targets=[99])
        except ValueError:
            pass
    for index in range(10):
        one(index)
    gc.collect()
    start = psutil.Process().memory_info().rss / 2 ** 20
    for index in range(SOAK_CALLS):
        one(index)
    gc.collect()
    end = psutil.Process().memory_info().rss / 2 ** 20
    print(f'soak ({BACKEND}): {SOAK_CALLS} x 2 calls, RSS {start:.1f} -> {end:.1f} MB '
          f'(growth {end - start:.2f} MB)')
    assert end - start < 20
