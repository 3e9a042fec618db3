"""The contenders of the quality comparison: our methods, LIME, SHAP, reference maps.

Each contender is a function ``explain(case) -> heatmap`` for one
:class:`quality_suites.Case` (a document and its target) of a suite; the
comparison times it (seconds per explanation) and scores the map.  LIME and
SHAP are called as their documentation shows, on the picture in display
space, with a ``predict`` that turns pictures into the model's input.
"""
from __future__ import annotations

import re
import warnings
from typing import Any, Callable, Dict, List, Optional

import numpy as np

import eli5
from eli5_gradcam import metrics
from eli5_gradcam.nn.gradcam import METHOD_TITLES

__all__ = ['image_contenders', 'text_contenders', 'reference_names', 'INPUT_MASKING']

Explain = Callable[[Any], np.ndarray]


def _cam(suite: Any, method: str, **options: Any) -> Explain:
    def explain(case: Any) -> np.ndarray:
        expl = eli5.explain_prediction(suite.model, suite.tensor(case), targets=[case.target],
                                       method=method, **suite.explain_options(case), **options)
        return np.asarray(expl.targets[0].heatmap, dtype=np.float64)
    return explain


def _lime_image(suite: Any, samples: int) -> Explain:
    from lime import lime_image

    def explain(case: Any) -> np.ndarray:
        explainer = lime_image.LimeImageExplainer(random_state=0)
        picture = suite.lime_picture(case)
        explanation = explainer.explain_instance(
            picture, suite.predict_pictures, labels=(case.target,), top_labels=None,
            hide_color=None, num_samples=samples, batch_size=suite.batch_size, random_seed=0)
        weights = np.zeros(int(explanation.segments.max()) + 1)
        for segment, weight in explanation.local_exp[case.target]:
            weights[segment] = weight
        return weights[explanation.segments]
    return explain


def _shap_image(suite: Any, evaluations: int) -> Explain:
    import shap

    def explain(case: Any, evaluations: int = evaluations) -> np.ndarray:
        picture = suite.picture(case)
        masker = shap.maskers.Image(f'blur({suite.shap_blur},{suite.shap_blur})',
                                    picture.shape)
        explainer = shap.Explainer(suite.predict_pictures, masker, algorithm='partition')
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            values = explainer(picture[np.newaxis], max_evals=evaluations,
                               batch_size=suite.batch_size, outputs=[case.target], silent=True)
        return np.asarray(values.values[0, ..., 0], dtype=np.float64).sum(axis=-1)
    explain(suite.cases[0], evaluations=20)      # untimed warm-up: numba compiles once
    return explain


def _references(shape_of: Callable[[Any], tuple], coarse: Any) -> Dict[str, Explain]:
    contenders: Dict[str, Explain] = {
        'random (per position)': lambda case: metrics.random_map(shape_of(case), seed=case.seed),
        'centre prior': lambda case: metrics.centre_map(shape_of(case)),
    }
    if coarse is not None:
        contenders['random (layer grid)'] = lambda case: metrics.random_map(
            coarse, seed=case.seed)
    return contenders


def reference_names() -> List[str]:
    """The reference maps' names in the tables."""
    return ['random (per position)', 'random (layer grid)', 'centre prior']


def image_contenders(suite: Any, *, lime_samples: int, shap_evaluations: int,
                     scorecam_maps: Optional[int] = None) -> Dict[str, Explain]:
    """Every method ``method=`` takes (as it is when this runs), LIME, SHAP, references;
    ``scorecam_maps`` makes Score-CAM Faster Score-CAM (the smoke run's)."""
    contenders: Dict[str, Explain] = {
        f'eli5-gradcam {METHOD_TITLES.get(name, name)}': _cam(
            suite, name, **({'scorecam_maps': scorecam_maps}
                            if name == 'scorecam' and scorecam_maps else {}))
        for name in METHOD_TITLES}          # the layer methods and the guided ones
    contenders[f'LIME ({lime_samples} samples)'] = _lime_image(suite, lime_samples)
    contenders[f'SHAP Partition ({shap_evaluations} evaluations)'] = _shap_image(
        suite, shap_evaluations)
    coarse = None if tuple(suite.layer_grid) == tuple(suite.image_shape) else suite.layer_grid
    contenders.update(_references(lambda case: suite.image_shape, coarse))
    return contenders


def _lime_text(suite: Any, samples: int) -> Explain:
    from lime.lime_text import LimeTextExplainer

    def explain(case: Any) -> np.ndarray:
        words = suite.words(case)
        explainer = LimeTextExplainer(class_names=suite.labels, bow=False,
                                      split_expression=r'\s+', random_state=0)
        explanation = explainer.explain_instance(
            ' '.join(words), suite.predict_texts, labels=(case.target,),
            num_features=len(words), num_samples=samples)
        indexed = explanation.domain_mapper.indexed_string
        heatmap = np.zeros(suite.length)
        for feature, weight in explanation.local_exp[case.target]:
            position = int(feature)
            if indexed.word(position) != words[position] or re.search(r'\s', words[position]):
                raise RuntimeError('LIME text features are not the words in order')
            heatmap[position] = weight
        return heatmap
    return explain


#: Methods that multiply the model's input by masks or differentiate it: not
#: for token-id inputs, which can be neither scaled nor differentiated (the
#: text suite's note says so).
INPUT_MASKING = ('scorecam', 'guided-gradcam', 'guided-backprop')


def text_contenders(suite: Any, *, lime_samples: int) -> Dict[str, Explain]:
    """Every method ``method=`` takes but those of :data:`INPUT_MASKING` (the
    suite's model takes token ids), LIME's text explainer, references."""
    contenders: Dict[str, Explain] = {
        f'eli5-gradcam {METHOD_TITLES.get(name, name)}': _cam(suite, name)
        for name in METHOD_TITLES if name not in INPUT_MASKING}
    contenders[f'LIME text ({lime_samples} samples)'] = _lime_text(suite, lime_samples)
    contenders.update(_references(lambda case: (suite.length,), None))
    return contenders
