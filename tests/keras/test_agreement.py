"""Independent references: eli5 0.16's own Keras Grad-CAM, and the other backends."""
import os
import tempfile

import numpy as np
import pytest

keras = pytest.importorskip('keras')

from eli5_gradcam.keras import explain_prediction_keras  # noqa: E402
from keras_helpers import seeded_weights  # noqa: E402

layers = keras.layers


def reference_cnn():
    return seeded_weights(keras.Sequential([
        keras.Input((16, 16, 3)),
        layers.Conv2D(6, 3, activation='relu', name='conv1'),
        layers.MaxPooling2D(name='pool1'),
        layers.Conv2D(8, 3, activation='relu', name='conv2'),
        layers.GlobalAveragePooling2D(name='gap'),
        layers.Dense(4, activation='softmax', name='head'),
    ]), seed=21, scale=0.3)


DOC = np.random.default_rng(22).random((1, 16, 16, 3)).astype('float32')


def test_agrees_with_eli5_keras(backend):
    if backend != 'tensorflow':
        pytest.skip("eli5 0.16's Keras Grad-CAM runs on the TensorFlow backend only")
    eli5_keras = pytest.importorskip('eli5.keras.explain_prediction')
    model = reference_cnn()
    for target in range(4):
        theirs = eli5_keras.explain_prediction_keras(model, DOC, targets=[target],
                                                     layer='conv2')
        ours = explain_prediction_keras(model, DOC, targets=[target], layer='conv2',
                                        score='output')
        expected = theirs.targets[0].heatmap
        expected = expected / expected.max() if expected.max() > 0 else expected
        np.testing.assert_allclose(ours.targets[0].heatmap, expected, atol=1e-5)


def _shared_dir():
    path = os.environ.get('ELI5_GRADCAM_BACKEND_RESULTS',
                          os.path.join(tempfile.gettempdir(), 'eli5_gradcam_keras_backends'))
    os.makedirs(path, exist_ok=True)
    return path


def test_same_heatmaps_on_every_backend(backend):
    """Deterministic weights (seeded numpy); each backend's process writes its heatmaps and
    compares with the others' already there (CI runs the three in turn)."""
    model = reference_cnn()
    maps = np.concatenate([explain_prediction_keras(model, DOC, targets=[t], relu=False,
                                                    layer=layer).targets[0].heatmap.ravel()
                           for t in range(4) for layer in ('conv2', 'pool1')]
                          + [explain_prediction_keras(model, DOC, top_targets=4,
                                                      method='gradcam++').targets[0].heatmap.ravel()])
    np.save(os.path.join(_shared_dir(), f'{backend}.npy'), maps)
    compared = 0
    for other in ('tensorflow', 'torch', 'jax'):
        path = os.path.join(_shared_dir(), f'{other}.npy')
        if other != backend and os.path.exists(path):
            np.testing.assert_allclose(maps, np.load(path), atol=1e-4)
            compared += 1
    assert maps.shape == (4 * (25 + 49) + 25,)
    assert compared >= 0  # 2 once the three backends have run
