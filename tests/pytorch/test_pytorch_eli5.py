"""Through eli5's own entry points, after ``import eli5_gradcam``."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip('torch')

import eli5  # noqa: E402
from IPython.display import HTML  # noqa: E402
from PIL import Image  # noqa: E402

import eli5_gradcam  # noqa: E402,F401
from eli5_gradcam.pytorch import explain_prediction_pytorch  # noqa: E402
from torch_architectures import ResNetStyle, TextCNN, seeded  # noqa: E402

IMAGE = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(7))
IDS = torch.tensor([[3, 1, 4, 1, 5, 9, 0, 0]])
TOKENS = ['the', 'cat', 'sat', 'on', 'a', 'mat', '<pad>', '<pad>']


def test_explain_prediction_dispatches_to_the_adapter() -> None:
    model = seeded(ResNetStyle)
    expl = eli5.explain_prediction(model, IMAGE, targets=[1, 2], relu=False)
    direct = explain_prediction_pytorch(model, IMAGE, targets=[1, 2], relu=False)
    assert expl.estimator == 'ResNetStyle' and expl.error is None
    for a, b in zip(expl.targets, direct.targets):
        np.testing.assert_array_equal(a.heatmap, b.heatmap)


def test_format_as_image_and_show_prediction_for_images() -> None:
    model = seeded(ResNetStyle)
    picture = Image.fromarray((IMAGE[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8))
    expl = eli5.explain_prediction(model, IMAGE, image=picture, relu=False)
    drawn = eli5.format_as_image(expl)
    assert isinstance(drawn, Image.Image) and drawn.size == (16, 16)
    shown = eli5.show_prediction(model, IMAGE, relu=False)
    assert isinstance(shown, Image.Image) and shown.size == (16, 16)
    assert "layer 'layer2.0'" in eli5.format_as_text(expl)


def test_show_prediction_for_text_highlights_the_tokens() -> None:
    model = seeded(TextCNN)
    html = eli5.show_prediction(model, IDS, tokens=TOKENS, pad_value=0, padding='post',
                                relu=False)
    assert isinstance(html, HTML)
    for token in TOKENS[:6]:
        assert token in html.data
    assert '&lt;pad&gt;' not in html.data and '<pad>' not in html.data
    expl = eli5.explain_prediction(model, IDS, tokens=TOKENS, pad_token='<pad>', relu=False)
    assert len(expl.targets[0].weighted_spans.docs_weighted_spans[0].spans) == 6


def test_importing_eli5_gradcam_does_not_import_torch() -> None:
    code = 'import sys, eli5_gradcam; print("torch" in sys.modules)'
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip().splitlines()[-1] == 'False'
