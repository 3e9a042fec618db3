"""format_as_image on explanations that have no image (issue 18): say so, name what works."""
from __future__ import annotations

import numpy as np
import pytest
from eli5.base import (DocWeightedSpans, Explanation, TargetExplanation, WeightedSpans)

import eli5
import eli5_gradcam  # noqa: F401  (installs the formatter)


def test_a_signal_explanation_points_to_the_text_dict_and_dataframe_formats() -> None:
    expl = Explanation('model', targets=[TargetExplanation(
        target=0, heatmap=np.linspace(0, 1, 40))])
    with pytest.raises(ValueError) as info:
        eli5.format_as_image(expl)
    message = str(info.value)
    assert 'explains a signal (heatmap of shape (40,)), which has no image' in message
    for formatter in ('format_as_text', 'format_as_dict', 'format_as_dataframe'):
        assert formatter in message
    assert 'image=' not in message


def test_a_text_explanation_points_to_the_html_format() -> None:
    spans = WeightedSpans([DocWeightedSpans('good film', spans=[('good', [(0, 4)], 1.0)])])
    expl = Explanation('model', targets=[TargetExplanation(
        target=1, heatmap=np.array([1.0, 0.0]), weighted_spans=spans)])
    with pytest.raises(ValueError, match=r'explains a text.*format_as_html'):
        eli5.format_as_image(expl)


def test_an_image_explanation_without_its_image_still_says_image() -> None:
    expl = Explanation('model', targets=[TargetExplanation(target=0, heatmap=np.ones((2, 2)))])
    with pytest.raises(TypeError, match='Explain with image= or an image doc'):
        eli5.format_as_image(expl)
