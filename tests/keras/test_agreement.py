"""Independent reference: eli5 0.16's own Keras Grad-CAM (agreement across backends:
test_backends_agree.py)."""
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

