"""The extra passes of Score-CAM and Ablation-CAM, driven by the core, on a numpy model.

``NumpyAdapter`` implements the adapter protocol for a tiny model written
here in numpy: documents ``x`` of shape ``(batch, length)``, a layer
``A[b, l, k] = relu(x[b, l] * w[k] + c[k])`` and scores
``y[b, o] = sum_{l, k} A[b, l, k] v[k, o]``.  Its channel scores are computed
again below with plain loops, one channel at a time.  The model can be told
to fail the way real models fail when only the layers above the explained
one run on a batch of ablated copies.
"""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from eli5_gradcam.nn import ExplainOptions, FlatHeatmapWarning, LayerCapture
from eli5_gradcam.nn import passes
from eli5_gradcam.nn.driver import capture_documents, explain_documents
from eli5_gradcam.nn.explanation import explain_capture
from eli5_gradcam.nn.masks import min_max_masks
from eli5_gradcam.nn.perturbation import CHANNEL_SCORE_METHODS, most_varied_channels

W = np.array([1.0, -1.0, 0.5, 2.0, 0.0])       # channel 4 is dead (constant 0.3)
C = np.array([0.0, 0.5, -0.2, -1.0, 0.3])
V = np.array([[1.0, -2.0], [0.5, 1.0], [-1.0, 0.0], [2.0, 0.5], [1.0, 1.0]])   # (K, outputs)


def layer(x):
    return np.maximum(x[..., None] * W + C, 0.0)                 # (n, L, K)


def head(activations):
    return np.einsum('nlk,ko->no', activations, V)


class ModelFault(RuntimeError):
    """Raised by the model's code (this test file is not eli5_gradcam's)."""


class NumpyAdapter:
    channels_first = True
    unsupported = ()

    def __init__(self, above=None, whole=None):
        self.above, self.whole = above, whole      # failure modes, see _ablated
        self.requests = []

    def name(self, model):
        return 'numpy'

    def check_model(self, model, options):
        pass

    def documents(self, model, docs, options):
        return docs, docs.shape

    def as_numpy(self, batch):
        return batch

    def padding(self, batch):
        return None

    def offsets(self, batch):
        return None

    def capture(self, model, batch, kind, options):
        activations = layer(batch)
        scores = head(activations)
        return LayerCapture(activations=activations, gradients=None, scores=scores,
                            targets=np.tile(np.array(options.targets), (len(batch), 1)),
                            layer_name='layer')

    def masked_scores(self, model, batch, item, masks, kind, options):
        self.requests.append(('masked', len(masks)))
        return head(layer(batch[item:item + 1] * masks))

    def ablated_scores(self, model, batch, item, channels, kind, options, *, whole):
        self.requests.append(('whole' if whole else 'above', list(channels)))
        mode = self.whole if whole else self.above
        if mode == 'raise':
            raise ModelFault('sizes of tensors must match')
        keep = np.ones((len(channels), len(W)))
        rows = np.flatnonzero(channels >= 0)
        keep[rows, channels[rows]] = 0.0
        scores = head(layer(batch[item:item + 1]) * keep[:, None, :])
        if mode == 'mix':
            scores = scores - scores.mean(axis=0)      # rows of the batch mixed
        if mode == 'shape':
            scores = scores[:1]
        return scores


DOCS = np.array([[0.2, 1.0, -0.5, 0.7, 0.0, 1.5], [1.0, -1.0, 0.3, 0.3, 2.0, -0.4]])
TARGETS = [0, 1]


def expected_scorecam(docs=DOCS):
    result = np.empty((len(docs), len(TARGETS), len(W)))
    for item, doc in enumerate(docs):
        activations = layer(doc[None])[0]                      # (L, K)
        for channel in range(len(W)):
            mask = min_max_masks(activations[:, channel], 1)
            result[item, :, channel] = head(layer((doc * mask)[None]))[0, TARGETS]
    return result


def expected_ablation(docs=DOCS):
    result = np.empty((len(docs), len(TARGETS), len(W)))
    for item, doc in enumerate(docs):
        for channel in range(len(W)):
            activations = layer(doc[None])
            activations[..., channel] = 0.0
            result[item, :, channel] = head(activations)[0, TARGETS]
    return result


def _capture(adapter, **options):
    return capture_documents(adapter, None, DOCS, ExplainOptions(targets=TARGETS,
                                                                 progress=False, **options))


@pytest.mark.parametrize('batch_size', [None, 1, 2, 5, 64])
def test_scorecam_channel_scores_by_loops(batch_size):
    adapter = NumpyAdapter()
    capture = _capture(adapter, method='scorecam', batch_size=batch_size)
    assert capture.gradients is None
    np.testing.assert_allclose(capture.channel_scores, expected_scorecam(), rtol=1e-6)  # float32 masks
    assert all(count <= (batch_size or 32) for _, count in adapter.requests)


@pytest.mark.parametrize('batch_size', [None, 1, 2, 3, 64])
def test_ablation_channel_scores_by_loops(batch_size):
    adapter = NumpyAdapter()
    capture = _capture(adapter, method='ablationcam', batch_size=batch_size)
    np.testing.assert_allclose(capture.channel_scores, expected_ablation(), rtol=1e-12)
    # the layers above the explained one took the batch: never re-run whole
    assert {mode for mode, _ in adapter.requests} == {'above'}
    assert adapter.requests[0][1][0] == -1          # the first batch has a reference row
    assert sorted(c for _, channels in adapter.requests for c in channels if c >= 0) == (
        sorted(list(range(len(W))) * len(DOCS)))


def test_faster_scorecam_masks_the_most_varied_channels_only():
    adapter = NumpyAdapter()
    capture = _capture(adapter, method='scorecam', scorecam_maps=2)
    chosen = most_varied_channels(layer(DOCS), 2)
    full = expected_scorecam()
    for item in range(len(DOCS)):
        evaluated = ~np.isnan(capture.channel_scores[item, 0])
        assert sorted(np.flatnonzero(evaluated)) == sorted(chosen[item])
        np.testing.assert_allclose(capture.channel_scores[item][:, evaluated],
                                   full[item][:, evaluated], rtol=1e-6)
    assert sum(count for _, count in adapter.requests) == 2 * len(DOCS)
    everything = _capture(NumpyAdapter(), method='scorecam', scorecam_maps=len(W))
    np.testing.assert_allclose(everything.channel_scores, full, rtol=1e-6)


@pytest.mark.parametrize('above', ['raise', 'mix', 'shape'])
def test_ablation_falls_back_to_whole_runs(above):
    adapter = NumpyAdapter(above=above)
    capture = _capture(adapter, method='ablationcam', batch_size=3)
    np.testing.assert_allclose(capture.channel_scores, expected_ablation(), rtol=1e-12)
    modes = [mode for mode, _ in adapter.requests]
    assert modes[0] == 'above' and set(modes[1:]) == {'whole'}


def test_ablation_that_cannot_run_names_the_layer():
    adapter = NumpyAdapter(above='raise', whole='mix')
    with pytest.raises(ValueError, match=r"method='ablationcam': layer 'layer' cannot be re-run"
                                         r".*ModelFault: sizes of tensors must match"
                                         r".*mixes the rows"):
        _capture(adapter, method='ablationcam')


def test_library_faults_are_not_taken_for_the_models():
    class Broken(NumpyAdapter):
        def ablated_scores(self, *args, **kwargs):
            from eli5_gradcam.nn.masks import upsample_maps
            return upsample_maps(np.zeros(3), None)       # a fault inside eli5_gradcam

    with pytest.raises(TypeError):
        _capture(Broken(), method='ablationcam')


def test_explanations_from_the_passes():
    options = ExplainOptions(targets=TARGETS, method='ablationcam', progress=False)
    explanations = explain_documents(NumpyAdapter(), None, DOCS, options)
    assert len(explanations) == 2
    assert 'Ablation-CAM' in explanations[0].description
    assert 'when each channel is zeroed' in explanations[0].description


@pytest.mark.parametrize('progress', [True, False])
def test_progress_bar(progress, capsys, monkeypatch):
    monkeypatch.setattr(passes, 'PROGRESS_DELAY_S', 0.0)
    capture_documents(NumpyAdapter(), None, DOCS, ExplainOptions(
        targets=TARGETS, method='scorecam', batch_size=2, progress=progress))
    shown = 'Score-CAM passes' in capsys.readouterr().err
    assert shown == progress


@settings(max_examples=80, deadline=None)
@given(st.data(), st.sampled_from(CHANNEL_SCORE_METHODS), st.booleans(), st.booleans())
def test_channel_methods_finite_and_in_range(data, method, relu, counterfactual):
    """Any activations and channel scores, huge or tiny, NaN for unevaluated
    Score-CAM channels: finite maps in the documented range."""
    counterfactual = counterfactual and method == 'ablationcam'
    batch, targets = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 3))
    spatial = tuple(data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=2)))
    channels = data.draw(st.integers(1, 4))
    finite = st.floats(allow_nan=False, allow_infinity=False, width=32)
    activations = data.draw(arrays(np.float32, (batch,) + spatial + (channels,), elements=finite))
    scores = data.draw(arrays(np.float64, (batch, targets, channels), elements=finite))
    if method == 'scorecam' and channels > 1:
        scores[..., 0] = np.nan
    capture = LayerCapture(activations=activations, gradients=None,
                           scores=np.zeros((batch, 3)),
                           targets=np.tile(np.arange(targets) % 3, (batch, 1)),
                           layer_name='fuzz', channel_scores=scores)
    with warnings.catch_warnings():
        warnings.simplefilter('error', RuntimeWarning)       # no overflow leaks
        warnings.simplefilter('ignore', FlatHeatmapWarning)
        explanations = explain_capture(capture, estimator='fuzz', kind='other', options=(
            ExplainOptions(method=method, relu=relu, counterfactual=counterfactual)))
    for expl in explanations:
        for target in expl.targets:
            heatmap = np.asarray(target.heatmap)
            assert np.isfinite(heatmap).all()
            assert heatmap.min() >= (0.0 if relu else -1.0) and heatmap.max() <= 1.0
