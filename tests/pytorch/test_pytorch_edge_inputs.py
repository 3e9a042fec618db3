"""Edge-case inputs to the PyTorch adapter that must give a result, not an error (issue 7).

Float docs of any precision follow the model's dtype; numpy booleans and integers
work as flags and batch sizes; no documents give no explanations; a constant
image gives a finite map; a dead layer gives an all-zero heatmap and a
``FlatHeatmapWarning``; more ``top_targets`` than outputs give every output.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip('torch')

import eli5  # noqa: E402

from eli5_gradcam import FlatHeatmapWarning, explain_predictions  # noqa: E402
from torch_robustness_helpers import (DOCS, IMAGE, image_model,  # noqa: E402
                                      quiet_explain)


@pytest.mark.parametrize('doc', [IMAGE.double(), IMAGE.double().numpy(), IMAGE.half(),
                                 IMAGE.numpy()],
                         ids=['float64-tensor', 'float64-numpy', 'float16-tensor', 'float32-numpy'])
def test_float_docs_of_any_precision_follow_the_model(doc: Any) -> None:
    model = image_model()
    reference = quiet_explain(model, IMAGE, relu=False, targets=[0, 1])
    expl = quiet_explain(model, doc, relu=False, targets=[0, 1])
    assert expl.error is None
    for got, want in zip(expl.targets, reference.targets):
        np.testing.assert_allclose(got.heatmap, want.heatmap, atol=2e-3)


def test_numpy_bool_flags_and_integer_batch_size_work() -> None:
    model = image_model()
    expl = quiet_explain(model, IMAGE, relu=np.bool_(False), counterfactual=np.bool_(False))
    assert expl.targets[0].heatmap.shape == (8, 8)
    results = list(explain_predictions(model, DOCS, batch_size=np.int64(2), progress=False,
                                       relu=False))
    assert len(results) == 5


@pytest.mark.parametrize('docs', [[], torch.zeros(0, 3, 8, 8)], ids=['list', 'tensor'])
def test_no_documents_give_no_explanations(docs: Any) -> None:
    assert list(explain_predictions(image_model(), docs, progress=False)) == []


def test_constant_image_gives_a_result() -> None:
    expl = quiet_explain(image_model(), torch.full((1, 3, 8, 8), 0.5), relu=False)
    heatmap = expl.targets[0].heatmap
    assert heatmap.shape == (8, 8) and np.isfinite(heatmap).all()
    assert np.abs(heatmap).max() <= 1.0


def test_finite_doc_whose_sum_overflows_is_accepted() -> None:
    # the finiteness check sums the doc first: a sum that overflows float16
    # (192 x 60000 > 65504) must fall back to the element-wise check, not refuse
    model = image_model().half()
    doc = torch.full((1, 3, 8, 8), 60000.0, dtype=torch.float16)
    assert not bool(torch.isfinite(doc.sum()))
    expl = quiet_explain(model, doc)
    assert expl.error is None


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
    expl = quiet_explain(image_model(), IMAGE, top_targets=100)
    assert sorted(t.target for t in expl.targets) == [0, 1, 2]
