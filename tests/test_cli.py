"""The command line: ``eli5-gradcam demo`` writes images and a report."""
import os
import subprocess
import sys

from PIL import Image


def test_demo_writes_report_and_images(tmp_path):
    result = subprocess.run([sys.executable, '-m', 'eli5_gradcam', 'demo', '-o', str(tmp_path)],
                            capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2'))
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'report written to' in result.stdout
    report = (tmp_path / 'report.html').read_text()
    assert '<img src="overlay_relu.png">' in report and 'Grad-CAM' in report
    for name in ('overlay_relu.png', 'overlay_signed.png'):
        with Image.open(tmp_path / name) as image:
            assert image.width > 224 and image.height > 224


def test_help_and_bad_command():
    result = subprocess.run([sys.executable, '-m', 'eli5_gradcam', '--help'],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and 'demo' in result.stdout
    result = subprocess.run([sys.executable, '-m', 'eli5_gradcam', 'nope'],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and 'invalid choice' in result.stderr
