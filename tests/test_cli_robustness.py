"""``eli5-gradcam explain`` on bad input (issue 7): one readable error line, a
non-zero exit status, never a traceback.  Complements ``test_cli.py``."""
from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import textwrap
import warnings
from typing import NamedTuple

import numpy as np
import pytest
from PIL import Image

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2', OMP_NUM_THREADS='1')

FACTORY = '''
import torch

def small():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 3))

def raises_key_error():
    raise KeyError('weights.bin')

def needs_an_argument(path):
    return path
'''


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    pytest.importorskip('torch')
    root = tmp_path_factory.mktemp('cli')
    (root / 'mymodels.py').write_text(textwrap.dedent(FACTORY))
    (root / 'syntaxmodels.py').write_text('def small(:\n    pass\n')
    (root / 'failingimport.py').write_text("raise RuntimeError('no GPU here')\n")
    (root / 'pictures').mkdir()
    Image.fromarray(np.zeros((10, 10, 3), np.uint8)).save(root / 'pictures' / 'a.png')
    (root / 'empty_folder').mkdir()
    (root / 'only_text').mkdir()
    (root / 'only_text' / 'notes.txt').write_text('no images here')
    (root / 'corrupt.npy').write_bytes(b'\x93NUMPY garbage')
    np.save(root / 'objects.npy', np.array([None, 1], dtype=object), allow_pickle=True)
    np.save(root / 'strings.npy', np.array([['a']]))
    np.save(root / 'nan.npy', np.full((1, 3, 16, 16), np.nan, np.float32))
    np.save(root / 'channels.npy', np.zeros((1, 5, 16, 16), np.float32))
    np.save(root / 'flat.npy', np.zeros(3, np.float32))
    (root / 'zero_bytes.png').write_bytes(b'')
    (root / 'truncated.png').write_bytes(b'\x89PNG\r\n\x1a\n\x00\x00')
    (root / 'broken.keras').write_text('not a zip file')
    (root / 'two_labels.txt').write_text('cat\ndog\n')
    return root


class Result(NamedTuple):
    returncode: int
    stderr: str


def cli(*args, cwd):
    """Run ``eli5-gradcam explain`` in this process (a subprocess per case would cost
    seconds of imports each); ``test_subprocess_error_is_one_line`` checks the real one."""
    from eli5_gradcam.cli import main
    stderr = io.StringIO()
    previous = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stderr(stderr), warnings.catch_warnings():
            warnings.simplefilter('ignore')
            try:
                status = main(['explain', *map(str, args)])
            except SystemExit as exc:              # argparse
                status = int(exc.code or 0)
    finally:
        os.chdir(previous)
    return Result(status, stderr.getvalue())


def test_subprocess_error_is_one_line(workspace):
    result = subprocess.run([sys.executable, '-m', 'eli5_gradcam', 'explain',
                             'mymodels:raises_key_error', 'pictures'],
                            capture_output=True, text=True, timeout=300, env=ENV, cwd=workspace)
    assert_one_line_error(result, "KeyError: 'weights.bin'")


def assert_one_line_error(result, message, status=1):
    assert result.returncode == status, result.stderr[-1500:]
    assert 'Traceback' not in result.stderr, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if 'error:' in line]
    assert len(errors) == 1, result.stderr[-1500:]
    assert message in errors[0], errors[0]


CASES = [
    # inputs
    (('mymodels:small', 'empty_folder'), 'holds no images or .npy files'),
    (('mymodels:small', 'only_text'), 'holds no images or .npy files'),
    (('mymodels:small', 'corrupt.npy'), "input 'corrupt.npy' is not a readable .npy array"),
    (('mymodels:small', 'objects.npy'), "input 'objects.npy' is not a readable .npy array"),
    (('mymodels:small', 'strings.npy'), 'doc must hold numbers'),
    (('mymodels:small', 'nan.npy'), 'doc holds 768 NaN or infinite value(s)'),
    (('mymodels:small', 'channels.npy'), 'doc: the model failed'),
    (('mymodels:small', 'flat.npy'), 'doc must have a batch axis'),
    (('mymodels:small', 'zero_bytes.png'), "input 'zero_bytes.png' is not an image"),
    (('mymodels:small', 'truncated.png'), "input 'truncated.png' is not an image"),
    # models
    (('mymodels:raises_key_error', 'pictures'),
     "raises_key_error() failed: KeyError: 'weights.bin'"),
    (('mymodels:needs_an_argument', 'pictures'), 'needs_an_argument() failed: TypeError'),
    (('mymodels:nothing', 'pictures'), "'mymodels' has no callable 'nothing'"),
    (('syntaxmodels:small', 'pictures'), "could not import 'syntaxmodels'"),
    (('failingimport:small', 'pictures'), "could not import 'failingimport'"),
    (('broken.keras', 'pictures'), "could not load the Keras model 'broken.keras'"),
    ((':small', 'pictures'), 'package.module:factory'),
    # option values
    (('mymodels:small', 'pictures', '--target', '9'), 'targets: index 9 is out of range'),
    (('mymodels:small', 'pictures', '--target', 'cat'), "targets: 'cat' is a name"),
    (('mymodels:small', 'pictures', '--labels', 'two_labels.txt'),
     'target_names has 2 names but the model has 3 outputs'),
    (('mymodels:small', 'pictures', '--layer', '4'), "layer '4' has output shape"),
    (('mymodels:small', 'pictures', '--layer', ''), "layer '' is the model itself"),
]


@pytest.mark.parametrize('args, message', CASES, ids=[' '.join(c[0]) for c in CASES])
def test_bad_input_is_one_readable_line(workspace, args, message):
    assert_one_line_error(cli(*args, '--size', '16', '16', '-o', 'out', cwd=workspace), message)


OPTION_CASES = [
    (('--size', 'a', 'b'), "argument --size: invalid int value: 'a'"),
    (('--size', '0', '16'), 'argument --size: must be between 1 and'),
    (('--size', '-3', '5'), 'argument --size: '),
    (('--size', '100000', '100000'), 'argument --size: must be between 1 and 8192'),
    (('--size', '16'), 'argument --size: expected 2 arguments'),
    (('--top-targets', '0'), 'argument --top-targets: must be a non-zero int'),
    (('--top-targets', 'x'), "argument --top-targets: invalid int value: 'x'"),
    (('--top-targets', '2', '--target', '1'), 'not allowed with argument'),
    (('--method', 'cam'), "argument --method: invalid choice: 'cam'"),
    (('--preprocess', 'zscore'), "argument --preprocess: invalid choice: 'zscore'"),
    (('--no-such-option',), 'unrecognized arguments: --no-such-option'),
]


@pytest.mark.parametrize('args, message', OPTION_CASES, ids=[' '.join(c[0]) for c in OPTION_CASES])
def test_bad_option_values_are_refused_before_any_work(workspace, args, message):
    result = cli('mymodels:small', 'pictures', '-o', 'out', *args, cwd=workspace)
    assert_one_line_error(result, message, status=2)


def test_missing_model_and_inputs_arguments(workspace):
    assert_one_line_error(cli(cwd=workspace), 'the following arguments are required',
                          status=2)
    assert_one_line_error(cli('mymodels:small', cwd=workspace),
                          'the following arguments are required: INPUT', status=2)


@pytest.mark.skipif(os.name != 'posix' or os.geteuid() == 0,
                    reason='file permissions do not apply to root')
def test_unreadable_image(workspace):
    path = workspace / 'secret.png'
    Image.new('RGB', (4, 4)).save(path)
    path.chmod(0)
    try:
        assert_one_line_error(cli('mymodels:small', 'secret.png', '-o', 'out', cwd=workspace),
                              "input 'secret.png' is not an image")
    finally:
        path.chmod(0o644)


BAD_INPUT_CASES = len(CASES) + len(OPTION_CASES) + 3
