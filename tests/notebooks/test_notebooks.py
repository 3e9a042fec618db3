"""Execute the tutorial notebooks from a clean kernel and check what they show."""
import os
import re
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip('nbformat')
nbclient = pytest.importorskip('nbclient')
pytest.importorskip('ipykernel')

NOTEBOOKS = Path(__file__).resolve().parents[2] / 'notebooks'

#: A highlighted token in eli5's HTML: a span with a green (positive) background.
HIGHLIGHTED_TOKEN = 'background-color: hsl(120'

#: Appended to the executed copy (never saved): which Python ran the kernel.
KERNEL_PREFIX_CELL = "import sys; print('kernel prefix:', sys.prefix)"


def execute(name):
    """Run a notebook in a fresh 'python3' kernel with notebooks/ as working dir."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(KERNEL_PREFIX_CELL))
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name='python3',
                                     resources={'metadata': {'path': str(NOTEBOOKS)}})
    client.execute()
    return notebook


def outputs(notebook):
    return [output for cell in notebook.cells if cell.cell_type == 'code'
            for output in cell.get('outputs', [])]


def mime_data(notebook, mime):
    return [output['data'][mime] for output in outputs(notebook)
            if mime in output.get('data', {})]


def stdout(notebook):
    return ''.join(output.get('text', '') for output in outputs(notebook)
                   if output.get('output_type') == 'stream' and output.get('name') == 'stdout')


def check_image(notebook):
    assert mime_data(notebook, 'image/png'), 'no image/png output'


def check_text(notebook):
    html = mime_data(notebook, 'text/html')
    assert html, 'no text/html output'
    assert any(HIGHLIGHTED_TOKEN in item for item in html), 'no highlighted tokens in the HTML'


def check_pytorch_image(notebook):
    check_image(notebook)
    found = re.search(r"top prediction for chelsea: '([^']+)'", stdout(notebook))
    assert found, 'the notebook does not print the top prediction for chelsea'
    assert found.group(1) == 'Egyptian cat'


def check_keras_image(notebook):
    """The shapes, and eli5 0.16's Keras image tutorial walked step by step (issue 18)."""
    check_image(notebook)
    printed = stdout(notebook)
    # eli5 0.16's image_from_path: a (1, H, W, 3) float array in [0, 255]
    assert re.search(r'image_array_from_path: \(1, 48, 48, 3\) float32 values 0\.\.\d+',
                     printed)
    assert 'image: (48, 48) RGBA | heatmap: (12, 12)' in printed        # expl.image, heatmap
    for layer, side in (('conv1', 48), ('conv2', 24), ('conv3', 12)):   # three layers
        assert f'{layer}: heatmap ({side}, {side})' in printed
    assert "trained CNN: layer 'conv3'" in printed                      # two models
    assert "MobileNetV2, random weights: layer 'out_relu'" in printed
    sources = ''.join(cell.source for cell in notebook.cells if cell.cell_type == 'code')
    for step in ('eli5.show_prediction(model, doc, target_names=CLASSES)', 'targets=[index]',
                 'expl.image', 'expl.targets[0].heatmap', 'colormap=matplotlib.cm.inferno'):
        assert step in sources


def check_metrics(notebook):
    check_image(notebook)                                   # the curves
    printed = stdout(notebook)
    found = re.search(r'Grad-CAM +deletion AUC ([0-9.]+) +insertion AUC ([0-9.]+)', printed)
    assert found, 'the notebook does not print the deletion and insertion AUCs'
    assert 0.0 <= float(found.group(1)) <= 1.0 and 0.0 <= float(found.group(2)) <= 1.0
    assert 'Grad-CAM             pointing game hit: True' in printed
    adapter = re.search(r'through the callable ([0-9.]+), through the adapter ([0-9.]+)',
                        printed)
    assert adapter and abs(float(adapter.group(1)) - float(adapter.group(2))) < 1e-3


CHECKS = {
    'pytorch_image.ipynb': check_pytorch_image,
    'pytorch_text.ipynb': check_text,
    'keras_image.ipynb': check_keras_image,
    'keras_text.ipynb': check_text,
    'metrics.ipynb': check_metrics,
}


@pytest.mark.parametrize('name', sorted(CHECKS))
def test_notebook_runs_and_shows_explanations(name):
    notebook = execute(name)
    errors = [output for output in outputs(notebook) if output.get('output_type') == 'error']
    assert not errors
    # The kernel is this interpreter's environment, not some other 'python3'.
    prefix = re.search(r'kernel prefix: (.+)', stdout(notebook))
    assert prefix and os.path.realpath(prefix.group(1).strip()) == os.path.realpath(sys.prefix)
    CHECKS[name](notebook)


def test_every_notebook_is_tested():
    assert sorted(path.name for path in NOTEBOOKS.glob('*.ipynb')) == sorted(CHECKS)
