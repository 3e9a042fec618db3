"""Execute the tutorial notebooks from a clean kernel and check what they show."""
import importlib.util
import os
import re
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip('nbformat')
nbclient = pytest.importorskip('nbclient')
pytest.importorskip('ipykernel')

NOTEBOOKS = Path(__file__).resolve().parents[2] / 'notebooks'
#: docs/notebook_figures.py: copies the figures the docs show out of the notebooks.
FIGURES_SCRIPT = NOTEBOOKS.parent / 'docs' / 'notebook_figures.py'

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


def highlighted_words(notebook):
    """The texts of the highlighted (green) spans of every HTML output."""
    return {word.strip() for item in mime_data(notebook, 'text/html')
            for word in re.findall(r'<span style="background-color: hsl\(120[^>]*>([^<]*)</span>',
                                   item)}


def check_huggingface(notebook):
    check_text(notebook)
    printed = stdout(notebook)
    accuracy = re.search(r'accuracy on 100 new reviews: (\d+)%', printed)
    assert accuracy and int(accuracy.group(1)) >= 95
    assert re.search(r"top word of 'I expected little, but the camera work was brilliant\.': "
                     r'brilliant\n', printed)
    on_top = re.search(r'sentiment word on top in (\d+) of 50 new reviews', printed)
    assert on_top and int(on_top.group(1)) >= 40
    # the original text, word pieces joined: 'Unwatchable' is one highlighted word
    assert {'brilliant', 'Unwatchable', 'boring'} <= highlighted_words(notebook)


def check_one_object_among_twins(notebook):
    """hirescam and layercam point at the square asked about; gradcam lights both."""
    check_image(notebook)
    printed = stdout(notebook)
    for method in ('hirescam', 'layercam'):
        assert re.search(method + r': peak on its own square \[True, True\], share of the map '
                         r'on the other square \[0\.0, 0\.0\]', printed), method
    shares = re.search(r'gradcam: peak on its own square \[\w+, \w+\], share of the map on '
                       r'the other square \[([0-9.]+), ([0-9.]+)\]', printed)
    assert shares and min(float(shares.group(1)), float(shares.group(2))) > 0.15
    assert 'gradcam gives the same map for either square: True' in printed


def check_detection(notebook):
    check_one_object_among_twins(notebook)
    quality = re.search(r'detector: recall ([0-9.]+), precision ([0-9.]+) on 100 new scenes',
                        stdout(notebook))
    assert quality and float(quality.group(1)) >= 0.9 and float(quality.group(2)) >= 0.9


def check_segmentation(notebook):
    check_one_object_among_twins(notebook)
    accuracy = re.search(r'segmenter: ([0-9.]+)% of object pixels get their class',
                         stdout(notebook))
    assert accuracy and float(accuracy.group(1)) >= 90


def check_similarity(notebook):
    check_text(notebook)
    printed = stdout(notebook)
    assert re.search(r"to 'Someone performs music with a guitar\.': top words \['guitar'",
                     printed)
    assert re.search(r"to 'The man stands on a stage and talks\.': top words \['stage', 'man'\]",
                     printed)
    cosines = [float(c) for c in re.findall(r'cosine ([0-9.]+) to', printed)]
    assert len(cosines) == 3 and cosines[0] > cosines[1] > cosines[2]
    assert {'guitar', 'stage'} <= highlighted_words(notebook)


CHECKS = {
    'pytorch_image.ipynb': check_pytorch_image,
    'pytorch_text.ipynb': check_text,
    'keras_image.ipynb': check_keras_image,
    'keras_text.ipynb': check_text,
    'metrics.ipynb': check_metrics,
    'huggingface.ipynb': check_huggingface,
    'detection.ipynb': check_detection,
    'segmentation.ipynb': check_segmentation,
    'similarity.ipynb': check_similarity,
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


def test_docs_figures_are_the_notebooks_outputs():
    spec = importlib.util.spec_from_file_location('notebook_figures', FIGURES_SCRIPT)
    figures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(figures)
    found = figures.all_figures()
    assert {'detection_twins.png', 'segmentation_twins.png', 'huggingface_review.html',
            'similarity_references.html'} <= set(found)
    for name, content in found.items():
        assert (figures.IMAGES / name).read_bytes() == content, (
            f"docs/images/{name} is not its notebook's output: "
            'run python docs/notebook_figures.py')
