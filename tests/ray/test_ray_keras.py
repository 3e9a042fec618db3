"""explain_dataset with a Keras 3 model (the Ray suite runs it on the TensorFlow backend).

The workers inherit ``KERAS_BACKEND`` from this process; ``_ci/suite.sh ray``
sets ``tensorflow``.
"""
import numpy as np
import pytest
import ray

import eli5_gradcam
import ray_models
from eli5_gradcam.ray import explain_dataset

keras = pytest.importorskip('keras')
pytestmark = pytest.mark.usefixtures('ray_local')

DOCS = np.random.default_rng(4).random((64, 12, 12, 3)).astype(np.float32)


def test_keras_rows_equal_sequential_explain_predictions():
    dataset = ray.data.from_items([{'name': f'doc{i}', 'pixels': DOCS[i]} for i in range(64)])
    rows = explain_dataset(dataset, ray_models.keras_cnn, column='pixels', id_column='name',
                           num_workers=2, batch_size=16, targets=[0, 2]).take_all()
    assert len(rows) == 64 * 2
    by_key = {(row['name'], row['target']): row for row in rows}
    reference = eli5_gradcam.explain_predictions(ray_models.keras_cnn(), DOCS, batch_size=32,
                                                 progress=False, targets=[0, 2])
    for number, expl in enumerate(reference):
        for target in expl.targets:
            row = by_key[(f'doc{number}', target.target)]
            heatmap = np.reshape(row['heatmap'], row['heatmap_shape'])
            assert heatmap.shape == target.heatmap.shape == (8, 8)
            np.testing.assert_allclose(heatmap, target.heatmap, rtol=0, atol=1e-6)
            assert row['score'] == pytest.approx(target.score, rel=1e-5, abs=1e-6)
            assert row['proba'] == pytest.approx(target.proba, rel=1e-5, abs=1e-6)
            assert (row['layer'], row['method'], row['error']) == ('conv2', 'gradcam', None)
            assert row['target_name'] is None
