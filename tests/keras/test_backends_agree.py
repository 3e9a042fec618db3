"""The same weights give the same heatmaps on the TensorFlow, PyTorch and JAX backends.

One test, in the TensorFlow-backend process: it computes the TensorFlow heatmaps itself
and runs this file as a script under ``KERAS_BACKEND=torch`` and ``KERAS_BACKEND=jax``
(``python test_backends_agree.py OUT.npz``), each writing its heatmaps to a ``.npz`` in
the test's ``tmp_path``.  The weights come from a seeded numpy RNG through
``set_weights``, so every process builds identical models; nothing is shared between
test runs.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

keras = pytest.importorskip('keras')

from eli5_gradcam.keras import explain_prediction_keras  # noqa: E402
from keras_helpers import seeded_weights  # noqa: E402

layers = keras.layers

OTHER_BACKENDS = ('torch', 'jax')
TOLERANCE = 1e-4
WORKER_TIMEOUT_S = 300
# Weights are set from numpy below; zero initialisers skip Keras' random initialisation,
# which costs seconds on JAX (an XLA compile per weight shape).
ZEROS = dict(kernel_initializer='zeros')


def image_cnn():
    return seeded_weights(keras.Sequential([
        keras.Input((16, 16, 3)),
        layers.Conv2D(6, 3, activation='relu', name='conv1', **ZEROS),
        layers.MaxPooling2D(name='pool1'),
        layers.Conv2D(8, 3, activation='relu', name='conv2', **ZEROS),
        layers.GlobalAveragePooling2D(name='gap'),
        layers.Dense(4, activation='softmax', name='head', **ZEROS),
    ]), seed=21, scale=0.3)


def text_conv1d():
    return seeded_weights(keras.Sequential([
        keras.Input((10,), dtype='int32'),
        layers.Embedding(20, 8, embeddings_initializer='zeros', name='embedding'),
        layers.Conv1D(6, 3, padding='same', activation='relu', name='conv', **ZEROS),
        layers.GlobalMaxPooling1D(),
        layers.Dense(3, activation='softmax', name='head', **ZEROS),
    ]), seed=23)


def signal_conv1d():
    return seeded_weights(keras.Sequential([
        keras.Input((40, 2)),
        layers.Conv1D(4, 5, activation='relu', name='c1', **ZEROS),
        layers.Conv1D(4, 5, strides=2, activation='relu', name='c2', **ZEROS),
        layers.GlobalAveragePooling1D(),
        layers.Dense(3, name='head', **ZEROS),
    ]), seed=24)


def compute_heatmaps():
    """Heatmaps of the three models for fixed inputs, targets, layers, relu on and off."""
    rng = np.random.default_rng(22)
    image = rng.random((1, 16, 16, 3)).astype('float32')
    ids = np.array([[3, 5, 7, 2, 9, 11, 4, 0, 0, 0]], dtype='int32')
    tokens = ['w%d' % i for i in range(7)] + ['<pad>'] * 3
    signal = rng.normal(size=(1, 40, 2)).astype('float32')
    cases = {
        'image': (image_cnn(), image, {}, [0, 1, 2, 3], ('conv2', 'pool1', 'conv1')),
        'text': (text_conv1d(), ids, dict(tokens=tokens, pad_value=0, padding='post'),
                 [0, 1, 2], ('conv', 'embedding')),
        'signal': (signal_conv1d(), signal, {}, [0, 1, 2], ('c2', 'c1')),
    }
    heatmaps = {}
    for name, (model, doc, extra, targets, layer_names) in cases.items():
        for layer in layer_names:
            for relu in (True, False):
                expl = explain_prediction_keras(model, doc, targets=targets, layer=layer,
                                                relu=relu, **extra)
                assert [t.target for t in expl.targets] == targets
                for target in expl.targets:
                    key = f'{name}/{layer}/relu={relu}/target={target.target}'
                    heatmaps[key] = np.asarray(target.heatmap, dtype='float64')
        expl = explain_prediction_keras(model, doc, top_targets=2, method='gradcam++', **extra)
        for rank, target in enumerate(expl.targets):
            heatmaps[f'{name}/gradcam++/rank={rank}'] = np.asarray(target.heatmap, 'float64')
            heatmaps[f'{name}/gradcam++/rank={rank}/target'] = np.array(target.target)
    model, doc = cases['image'][:2]
    for case, options in ISSUE_15_CASES.items():
        expl = explain_prediction_keras(model, doc, targets=[0, 1], **options)
        for target in expl.targets:
            heatmaps[f'image/{case}/target={target.target}'] = np.asarray(target.heatmap,
                                                                          'float64')
    return heatmaps


#: Guided methods, several layers and smoothing (issue 15), on the image model.
ISSUE_15_CASES = {
    'guided-gradcam': dict(method='guided-gradcam'),
    'guided-backprop': dict(method='guided-backprop', relu=False),
    'guided-gradcam-counterfactual': dict(method='guided-gradcam', layer='conv1',
                                          counterfactual=True, relu=False),
    'layers': dict(layer=['conv2', 'conv1'], method='layercam'),
    'eigen': dict(smooth='eigen', method='xgradcam'),
    'aug': dict(smooth='aug', method='hirescam', relu=False),
}


def _launch(backend, out_path):
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL='2', OMP_NUM_THREADS='1')
    return subprocess.Popen([sys.executable, os.path.abspath(__file__), str(out_path)],
                            cwd=os.path.dirname(os.path.abspath(__file__)), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.filterwarnings('ignore::eli5_gradcam.nn.FlatHeatmapWarning')
def test_same_heatmaps_on_every_backend(backend, tmp_path):
    if backend != 'tensorflow':
        pytest.skip('runs in the TensorFlow-backend process, which launches the torch and jax '
                    'backends itself in subprocesses')
    for module in ('torch', 'jax'):
        pytest.importorskip(module, reason=f'{module} is needed to compare Keras backends')
    workers = {other: _launch(other, tmp_path / f'{other}.npz') for other in OTHER_BACKENDS}
    expected = compute_heatmaps()       # TensorFlow, while the others run
    for other, worker in workers.items():
        try:
            log, _ = worker.communicate(timeout=WORKER_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            worker.kill()
            log, _ = worker.communicate()
            pytest.fail(f'KERAS_BACKEND={other} worker timed out:\n{log[-3000:]}')
        assert worker.returncode == 0, f'KERAS_BACKEND={other} worker failed:\n{log[-3000:]}'
        with np.load(tmp_path / f'{other}.npz') as results:
            assert str(results['__backend__']) == other
            assert sorted(k for k in results.files if k != '__backend__') == sorted(expected)
            for key, value in expected.items():
                np.testing.assert_allclose(results[key], value, rtol=0, atol=TOLERANCE,
                                           err_msg=f'{other} vs tensorflow: {key}')
    assert len(expected) == 2 * (3 * 4 + 2 * 3 + 2 * 3) + 3 * 4 + 2 * len(ISSUE_15_CASES)


if __name__ == '__main__':
    np.savez(sys.argv[1], __backend__=np.array(keras.backend.backend()), **compute_heatmaps())
