"""``eli5-gradcam explain-dataset``: a folder of images -> Parquet on an embedded Ray.

Run as a subprocess with no Ray running: the command starts a local Ray
instance sized to the machine, and stops it.
"""
import os
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

pytest.importorskip('ray')

FACTORY = '''
import torch

def small():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 3))
'''


def cli(*args, cwd):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2', OMP_NUM_THREADS='1',
               RAY_ADDRESS='', PYTHONPATH=os.pathsep.join(
                   [os.getcwd()] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep)
                                    if p]))
    return subprocess.run([sys.executable, '-m', 'eli5_gradcam', *map(str, args)],
                          capture_output=True, text=True, timeout=600, env=env, cwd=cwd)


def test_explain_dataset_writes_parquet_with_a_row_per_image_and_target(tmp_path):
    (tmp_path / 'factories.py').write_text(FACTORY)
    images = tmp_path / 'images'
    images.mkdir()
    rng = np.random.default_rng(0)
    for number in range(6):
        Image.fromarray(rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)).save(
            images / f'img{number}.png')
    (images / 'broken.png').write_bytes(b'not a png')
    (images / 'notes.txt').write_text('not an image: skipped')
    out = tmp_path / 'out.parquet'
    result = cli('explain-dataset', '--model', 'factories:small', '--images', images,
                 '--out', out, '--workers', '1', '--top-targets', '2', '--size', '16', '16',
                 '--batch-size', '4', cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert '7 images, 13 rows, 1 errors' in result.stdout
    table = pq.read_table(out).to_pandas()
    assert sorted(set(os.path.basename(p) for p in table['id'])) == (
        ['broken.png'] + [f'img{n}.png' for n in range(6)])
    broken = table[table['id'].str.endswith('broken.png')]
    assert broken['error'].iloc[0].startswith('ValueError: doc: cannot decode an image')
    good = table[table['error'].isna()]
    assert len(good) == 12 and set(good['layer']) == {'1'}
    assert all(list(shape) == [16, 16] for shape in good['heatmap_shape'])


def test_explain_dataset_help_and_a_bad_model_before_ray_starts(tmp_path, capsys):
    from eli5_gradcam.cli import main
    with pytest.raises(SystemExit):
        main(['explain-dataset', '--help'])
    shown = capsys.readouterr().out
    for option in ('--model', '--images', '--out', '--workers', '--address',
                   '--gpus-per-worker', '--batch-size', '--on-error', '--top-targets'):
        assert option in shown
    status = main(['explain-dataset', '--model', 'nowhere:small', '--images', str(tmp_path),
                   '--out', str(tmp_path / 'o.parquet')])
    error = capsys.readouterr().err
    assert status == 1
    assert "eli5-gradcam: error: could not import 'nowhere' for --model" in error
    assert 'Traceback' not in error
    import ray
    assert not ray.is_initialized()
