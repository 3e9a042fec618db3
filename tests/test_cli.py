"""The command line: ``eli5-gradcam demo`` and ``eli5-gradcam explain``."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2', OMP_NUM_THREADS='1')


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, '-m', 'eli5_gradcam', *map(str, args)],
                          capture_output=True, text=True, timeout=600, env=ENV, cwd=cwd)


def test_demo_explains_real_photos_and_text(tmp_path):
    pytest.importorskip('efficientnet_lite_pytorch')
    result = cli('demo', '-o', tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'report written to' in result.stdout
    assert result.stdout.splitlines() == [            # only its own line (issue 18)
        f'eli5-gradcam demo: report written to {tmp_path / "report.html"}']
    assert result.stderr == ''
    report = (tmp_path / 'report.html').read_text()
    assert 'Egyptian cat' in report and 'espresso' in report
    assert report.count('data:image/png;base64,') >= 16          # 4 photos x (input + 3)
    for photo, top1 in (('chelsea', 'Egyptian cat'), ('coffee', 'espresso'),
                        ('rocket', 'missile'), ('camera', 'tripod')):
        assert f'#1 {top1}: p=' in report             # photos the model gets right
        for rank in (1, 2, 3):
            with Image.open(tmp_path / f'{photo}_top{rank}.png') as image:
                assert image.size == (224, 224)
    assert 'background-color: hsl(120' in report                  # highlighted tokens
    assert report.count('<section>') == report.count('</section>') == 5
    text = report[report.index('<h2>Text'):]
    assert text.count('top features') == 4                        # one header per review
    assert text.count('<table class="eli5-weights"') == 4          # and one table


def test_help_and_bad_command():
    result = cli('--help')
    assert result.returncode == 0 and 'demo' in result.stdout and 'explain' in result.stdout
    result = cli('explain', '--help')
    for option in ('--target', '--top-targets', '--layer', '--method', '--no-relu',
                   '--counterfactual', '--labels', '--size', '--preprocess'):
        assert option in result.stdout
    result = cli('nope')
    assert result.returncode == 2 and 'invalid choice' in result.stderr


FACTORY = '''
import torch

def small():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(4, 4, 3, padding=1), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 3))

def not_a_model():
    return 42
'''


@pytest.fixture
def workspace(tmp_path):
    pytest.importorskip('torch')
    (tmp_path / 'mymodels.py').write_text(textwrap.dedent(FACTORY))
    folder = tmp_path / 'pictures'
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ('a.png', 'b.jpg'):
        Image.fromarray(rng.integers(0, 255, (20, 30, 3), dtype=np.uint8)).save(folder / name)
    np.save(tmp_path / 'doc.npy', rng.random((1, 3, 16, 16)).astype(np.float32))
    (tmp_path / 'labels.txt').write_text('red\ngreen\nblue\n')
    (tmp_path / 'broken.png').write_text('not really a png')
    return tmp_path


def test_explain_images_folder_and_npy(workspace):
    result = cli('explain', 'mymodels:small', 'pictures', 'doc.npy', '-o', 'out',
                 '--top-targets', '2', '--labels', 'labels.txt', '--size', '16', '16',
                 '--no-relu', cwd=workspace)
    assert result.returncode == 0, result.stderr[-2000:]
    out = workspace / 'out'
    for stem in ('a', 'b', 'doc'):
        data = json.loads((out / f'{stem}.json').read_text())
        assert len(data['targets']) == 2
        assert {t['target'] for t in data['targets']} <= {'red', 'green', 'blue'}
    with Image.open(out / 'a.png') as grid:
        assert grid.width >= 32                      # two captioned panels
    assert 'report.html' in result.stdout and (out / 'report.html').exists()


def test_explain_target_by_name_and_method(workspace):
    result = cli('explain', 'mymodels:small', 'pictures/a.png', '-o', 'out', '--target',
                 'blue', '0', '--labels', 'labels.txt', '--size', '16', '16',
                 '--method', 'layercam', cwd=workspace)
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads((workspace / 'out' / 'a.json').read_text())
    assert [t['target'] for t in data['targets']] == ['blue', 'red']
    assert data['method'] == 'LayerCAM'


@pytest.mark.parametrize('args, message', [
    (('mymodels:small', 'missing.png'), "input 'missing.png': no such file"),
    (('mymodels:small', 'broken.png'), 'is not an image Pillow can read'),
    (('mymodels:small', 'pictures', '--layer', 'nope'), 'nope'),
    (('nomodule:small', 'pictures'), "could not import 'nomodule'"),
    (('mymodels:not_a_model', 'pictures'), 'not a PyTorch or Keras model'),
    (('missing.keras', 'pictures'), "model file 'missing.keras' does not exist"),
    (('mymodels', 'pictures'), 'package.module:factory'),
    (('mymodels:small', 'pictures', '--labels', 'nolabels.txt'), 'labels file'),
])
def test_explain_errors_are_one_line(workspace, args, message):
    result = cli('explain', *args, '--size', '16', '16', cwd=workspace)
    assert result.returncode == 1
    assert 'Traceback' not in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if 'eli5-gradcam: error' in line]
    assert len(error_lines) == 1 and message in error_lines[0], result.stderr[-1500:]


def test_explain_a_saved_keras_model(tmp_path):
    keras = pytest.importorskip('keras')
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((16, 16, 3)),
                              keras.layers.Conv2D(4, 3, padding='same', activation='relu',
                                                  name='conv'),
                              keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(3, activation='softmax')])
    model.save(tmp_path / 'model.keras')
    picture = tmp_path / 'picture.png'
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 30, 3), dtype=np.uint8)
                    ).save(picture)
    result = cli('explain', tmp_path / 'model.keras', picture, '-o', tmp_path / 'out',
                 '--preprocess', 'unit', '--layer', 'conv', '--top-targets', '2')
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads((tmp_path / 'out' / 'picture.json').read_text())
    assert len(data['targets']) == 2 and data['targets'][0]['proba'] is not None
    assert "layer 'conv'" in data['description']
    with Image.open(tmp_path / 'out' / 'picture.png') as overlay:
        assert overlay.width >= 32          # resized to the model's 16x16, two panels
