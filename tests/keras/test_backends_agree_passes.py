"""Score-CAM, Ablation-CAM and Eigen-CAM give the same heatmaps on the TensorFlow,
PyTorch and JAX backends (<= 1e-4), on the models of ``test_backends_agree.py``.

As there: one test, in the TensorFlow-backend process, which runs this file as a
script under ``KERAS_BACKEND=torch`` and ``KERAS_BACKEND=jax`` and compares.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

keras = pytest.importorskip('keras')

from eli5_gradcam.keras import explain_prediction_keras  # noqa: E402
from test_backends_agree import image_cnn, signal_conv1d, text_conv1d  # noqa: E402

OTHER_BACKENDS = ('torch', 'jax')
TOLERANCE = 1e-4
WORKER_TIMEOUT_S = 300


def compute_heatmaps():
    """Heatmaps of every gradient-free method, fixed inputs and targets, relu on and off."""
    rng = np.random.default_rng(22)
    image = rng.random((1, 16, 16, 3)).astype('float32')
    ids = np.array([[3, 5, 7, 2, 9, 11, 4, 0, 0, 0]], dtype='int32')
    tokens = ['w%d' % i for i in range(7)] + ['<pad>'] * 3
    signal = rng.normal(size=(1, 40, 2)).astype('float32')
    cases = {
        'image': (image_cnn(), image, {}, [0, 1, 3], 'conv2',
                  ('scorecam', 'ablationcam', 'eigencam')),
        'text': (text_conv1d(), ids, dict(tokens=tokens, pad_value=0, padding='post'),
                 [0, 2], 'conv', ('ablationcam', 'eigencam')),
        'signal': (signal_conv1d(), signal, {}, [0, 1, 2], 'c2',
                   ('scorecam', 'ablationcam', 'eigencam')),
    }
    heatmaps = {}
    for name, (model, doc, extra, targets, layer, methods) in cases.items():
        for method in methods:
            for relu in (True, False):
                expl = explain_prediction_keras(model, doc, targets=targets, layer=layer,
                                                method=method, relu=relu, batch_size=3,
                                                progress=False, **extra)
                for target in expl.targets:
                    key = f'{name}/{method}/relu={relu}/target={target.target}'
                    heatmaps[key] = np.asarray(target.heatmap, dtype='float64')
        if 'scorecam' in methods:
            expl = explain_prediction_keras(model, doc, targets=targets, layer=layer,
                                            method='scorecam', scorecam_maps=2,
                                            progress=False, **extra)
            for target in expl.targets:
                heatmaps[f'{name}/faster/target={target.target}'] = np.asarray(
                    target.heatmap, dtype='float64')
    return heatmaps


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
            worst = 0.0
            for key, value in expected.items():
                np.testing.assert_allclose(results[key], value, rtol=0, atol=TOLERANCE,
                                           err_msg=f'{other} vs tensorflow: {key}')
                worst = max(worst, float(np.abs(results[key] - value).max()))
            print(f'{other} vs tensorflow: {len(expected)} heatmaps, max difference {worst:.1e}')
    # 3 methods x 2 relu x 3 targets (image), 2 x 2 x 2 (text), 3 x 2 x 3 (signal), faster
    assert len(expected) == 18 + 8 + 18 + 3 + 3


if __name__ == '__main__':
    np.savez(sys.argv[1], __backend__=np.array(keras.backend.backend()), **compute_heatmaps())
