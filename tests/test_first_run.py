"""A new user's first run (issue 18): quiet commands, image loaders for eli5's tutorial and
for ``image=``, squash or crop."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import eli5_gradcam
from eli5_gradcam._quiet import filtered_stderr, is_our_command
from eli5_gradcam.cli.inputs import load_document
from eli5_gradcam.nn.image import fit_image

# TF_CPP_MIN_LOG_LEVEL deliberately unset: the command must be quiet without it.
ENV = {k: v for k, v in os.environ.items() if k != 'TF_CPP_MIN_LOG_LEVEL'}
ENV['OMP_NUM_THREADS'] = '1'


def _striped(path: Path) -> Path:
    """A 40x20 picture: red left and right quarters, a blue centre 20x20."""
    pixels = np.zeros((20, 40, 3), dtype=np.uint8)
    pixels[:, :10] = pixels[:, 30:] = (255, 0, 0)
    pixels[:, 10:30] = (0, 0, 255)
    Image.fromarray(pixels).save(path)
    return path


@pytest.mark.parametrize('argv, orig_argv, ours', [
    (['/venv/bin/eli5-gradcam', 'demo'], ['/venv/bin/python', '/venv/bin/eli5-gradcam'], True),
    (['-m'], ['python', '-m', 'eli5_gradcam', 'demo'], True),
    (['-m'], ['python', '-X', 'utf8', '-u', '-m', 'eli5_gradcam'], True),
    (['-m'], ['python', '-m', 'pytest', 'tests'], False),
    (['-c'], ['python', '-c', 'import eli5_gradcam'], False),
    (['train.py'], ['python', 'train.py', '-m', 'eli5_gradcam'], False),
    ([''], ['python'], False),
])
def test_only_our_own_command_is_quietened(argv, orig_argv, ours) -> None:
    assert is_our_command(argv, orig_argv) is ours


def test_noise_lines_are_dropped_and_the_rest_written_back() -> None:
    code = textwrap.dedent('''
        import os
        from eli5_gradcam._quiet import filtered_stderr    # a user's program: not quietened
        os.write(2, b"start\\n")
        with filtered_stderr():
            os.write(2, b"I0000 port.cc:153] oneDNN custom operations are on. ...\\n")
            os.write(2, b"a real warning\\n")
            os.write(2, b"W cudart_stub.cc:31] Could not find cuda drivers on your machine\\n")
        os.write(2, b"after\\n")
    ''')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            env=ENV, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stderr.split('start\n', 1)[1] == 'a real warning\nafter\n'


def test_the_cli_prints_only_its_own_lines(tmp_path: Path) -> None:
    pytest.importorskip('torch')
    (tmp_path / 'mymodels.py').write_text(textwrap.dedent('''
        import torch

        def small():
            torch.manual_seed(0)
            return torch.nn.Sequential(
                torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
                torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 3))
    '''))
    picture = _striped(tmp_path / 'striped.png')
    result = subprocess.run(
        [sys.executable, '-m', 'eli5_gradcam', 'explain', 'mymodels:small', str(picture),
         '-o', 'out', '--size', '16', '16', '--crop'],
        capture_output=True, text=True, env=ENV, cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr == ''
    assert result.stdout == f'eli5-gradcam explain: report written to out{os.sep}report.html\n'
    with Image.open(tmp_path / 'out' / 'striped.png') as overlay:
        assert overlay.size == (16, 16)


def test_squash_or_crop(tmp_path: Path) -> None:
    picture = Image.open(_striped(tmp_path / 'striped.png')).convert('RGB')
    squashed = np.asarray(fit_image(picture, (10, 10)))
    cropped = np.asarray(fit_image(picture, (10, 10), crop=True))
    assert squashed.shape == cropped.shape == (10, 10, 3)
    assert squashed[:, 0, 0].min() > 200                 # the red edges, squeezed in
    assert cropped[..., 0].max() < 60 and cropped[..., 2].min() > 200   # the blue centre
    tall = fit_image(picture, (30, 10), crop=True)        # taller than the picture
    assert tall.size == (10, 30)
    with pytest.raises(ValueError, match='image_shape'):
        fit_image(picture, (0, 10))


def test_cli_size_squashes_and_crop_keeps_the_centre(tmp_path: Path) -> None:
    path = _striped(tmp_path / 'striped.png')
    squashed = load_document(path, size=(8, 8), preprocess='none', channels_first=True)
    cropped = load_document(path, size=(8, 8), preprocess='none', channels_first=True,
                            crop=True)
    assert squashed.array.shape == cropped.array.shape == (1, 3, 8, 8)
    assert squashed.array[0, 0, :, 0].min() > 200        # red at the left edge
    assert cropped.array[0, 0].max() < 60                # no red left
    assert cropped.image.size == (8, 8)


def test_image_array_from_path_is_eli5_016s_keras_array(tmp_path: Path) -> None:
    path = _striped(tmp_path / 'striped.png')
    doc = eli5_gradcam.image_array_from_path(path, image_shape=(20, 40))
    assert doc.shape == (1, 20, 40, 3) and doc.dtype == np.float32
    np.testing.assert_array_equal(doc[0], np.asarray(Image.open(path), dtype=np.float32))
    assert doc.max() == 255.0
    cropped = eli5_gradcam.image_array_from_path(path, image_shape=(10, 10), crop=True)
    assert cropped.shape == (1, 10, 10, 3) and cropped[0, ..., 0].max() < 60
    picture = eli5_gradcam.image_from_path(path, image_shape=(10, 10), crop=True)
    np.testing.assert_array_equal(np.asarray(picture, dtype=np.float32), cropped[0])
    assert 'image_array_from_path' in eli5_gradcam.__all__
