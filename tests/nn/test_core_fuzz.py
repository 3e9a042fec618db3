"""Fuzzing the numpy core (issue 7): random shapes, dtypes and magnitudes of
activations and gradients never give NaN or Inf, and every documented range
holds, through ``compute_heatmaps``, ``normalize_heatmaps`` and ``explain_capture``."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from eli5_gradcam.nn import ExplainOptions
from eli5_gradcam.nn.explanation import Documents
from eli5_gradcam.nn import (FlatHeatmapWarning, LayerCapture, compute_heatmaps,
                             explain_capture, normalize_heatmaps)
from eli5_gradcam.nn.gradcam import PAIR_METHODS

DTYPES = [np.float16, np.float32, np.float64, np.int8, np.int32, np.int64]


def _elements(dtype: type) -> st.SearchStrategy:
    """Any finite value of ``dtype``: huge, tiny, subnormal, zero, negative."""
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return st.integers(int(info.min), int(info.max))
    width = {np.float16: 16, np.float32: 32, np.float64: 64}[dtype]
    return st.floats(allow_nan=False, allow_infinity=False, width=width)


@st.composite
def captures(draw, max_spatial_rank: int = 3):
    spatial = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=max_spatial_rank)))
    channels = draw(st.integers(1, 4))
    batch = draw(st.integers(1, 2))
    targets = draw(st.integers(1, 3))
    activation_dtype = draw(st.sampled_from(DTYPES))
    gradient_dtype = draw(st.sampled_from(DTYPES))
    activations = draw(arrays(activation_dtype, (batch,) + spatial + (channels,),
                              elements=_elements(activation_dtype)))
    gradients = draw(arrays(gradient_dtype, (batch, targets) + spatial + (channels,),
                            elements=_elements(gradient_dtype)))
    return activations, gradients


def _quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FlatHeatmapWarning)
        return function(*args, **kwargs)


fuzz = settings(max_examples=150, deadline=None)


@fuzz
@given(captures(), st.sampled_from(sorted(PAIR_METHODS)), st.booleans(), st.booleans())
def test_compute_heatmaps_is_finite_and_rectified(pair, method, relu, counterfactual):
    activations, gradients = pair
    with warnings.catch_warnings():
        warnings.simplefilter('error')           # no overflow/invalid RuntimeWarning leaks
        maps = compute_heatmaps(activations, gradients, method=method, relu=relu,
                                counterfactual=counterfactual)
    assert maps.dtype == np.float64
    assert maps.shape == gradients.shape[:-1]
    assert np.isfinite(maps).all()
    if relu:
        assert maps.min() >= 0.0


@fuzz
@given(captures(), st.sampled_from(sorted(PAIR_METHODS)), st.booleans())
def test_normalized_heatmaps_are_in_range(pair, method, relu):
    activations, gradients = pair
    maps = compute_heatmaps(activations, gradients, method=method, relu=relu)
    spatial_ndim = maps.ndim - 2
    normalized = _quiet(normalize_heatmaps, maps, spatial_ndim=spatial_ndim, relu=relu)
    assert normalized.shape == maps.shape and np.isfinite(normalized).all()
    assert normalized.min() >= (0.0 if relu else -1.0) and normalized.max() <= 1.0
    peaks = np.abs(normalized).reshape(normalized.shape[:2] + (-1,)).max(axis=-1)
    assert np.all((peaks == 0.0) | np.isclose(peaks, 1.0))    # flat -> 0, else reaches 1


@fuzz
@given(st.sampled_from(DTYPES), st.lists(st.integers(1, 5), min_size=1, max_size=3),
       st.data(), st.booleans())
def test_normalize_any_dtype_and_magnitude(dtype, shape, data, relu):
    heatmaps = data.draw(arrays(dtype, (2,) + tuple(shape), elements=_elements(dtype)))
    normalized = _quiet(normalize_heatmaps, heatmaps, spatial_ndim=len(shape), relu=relu)
    assert np.isfinite(normalized).all()
    assert normalized.min() >= (0.0 if relu else -1.0) and normalized.max() <= 1.0


def test_flat_maps_warn_and_are_zero():
    with pytest.warns(FlatHeatmapWarning):
        normalized = normalize_heatmaps(np.full((1, 1, 3, 3), 7.0), spatial_ndim=2)
    assert np.array_equal(normalized, np.zeros((1, 1, 3, 3)))


@settings(max_examples=60, deadline=None)
@given(captures(max_spatial_rank=2), st.sampled_from(sorted(PAIR_METHODS)), st.booleans(),
       st.booleans(), st.sampled_from([np.float16, np.float32, np.float64]))
def test_explain_capture_is_finite_for_any_capture(pair, method, relu, counterfactual,
                                                   score_dtype):
    activations, gradients = pair
    batch, n_targets = gradients.shape[:2]
    spatial_ndim = activations.ndim - 2
    scores = np.linspace(-1e4, 1e4, batch * 3).reshape(batch, 3).astype(score_dtype)
    capture = LayerCapture(activations=activations, gradients=gradients, scores=scores,
                           targets=np.tile(np.arange(n_targets) % 3, (batch, 1)),
                           layer_name='fuzz')
    tokens = None
    kind = 'other'
    if spatial_ndim == 1:
        kind = 'text'
        tokens = [[f't{i}' for i in range(activations.shape[1] + 2)]] * batch
    explanations = _quiet(explain_capture, capture, estimator='fuzz', kind=kind,
                          documents=Documents(tokens=tokens),
                          options=ExplainOptions(method=method, relu=relu,
                                                 counterfactual=counterfactual))
    assert len(explanations) == batch
    for expl in explanations:
        assert len(expl.targets) == n_targets
        for target in expl.targets:
            heatmap = np.asarray(target.heatmap)
            assert np.isfinite(heatmap).all()
            assert heatmap.min() >= (0.0 if relu else -1.0) and heatmap.max() <= 1.0
            assert np.isfinite(target.score)
