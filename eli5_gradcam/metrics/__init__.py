"""Is the explanation any good?  Faithfulness and localisation metrics for any map.

Every metric takes the model, the document and a map: an eli5 explanation
from :func:`eli5.explain_prediction`, or any array (LIME's, SHAP's, a
random one), so different explainers are scored the same way.  The model
is reached through the same adapters as the explanations (PyTorch, Keras on
every backend, tf_keras) or is any ``predict(batch) -> scores`` callable.
Layer-resolution maps are upsampled to the document; perturbed documents
are scored ``batch_size`` at a time.

=============================  ========================================  =====================
Metric                         What it measures                          Better
=============================  ========================================  =====================
:func:`deletion`               score as top-ranked pixels are removed    lower AUC
:func:`insertion`              score as top-ranked pixels are revealed   higher AUC
:func:`confidence_change`      score on the document times its map       lower average drop
:func:`road`                   score after imputing the top / bottom p%  low MoRF, high LeRF
:func:`pointing_game`          the maximum on the object (15 px)         hit
:func:`energy_pointing_game`   share of the map on the object            higher
=============================  ========================================  =====================

:func:`random_map` and :func:`centre_map` are the references every number
should be compared with.

>>> from eli5_gradcam import metrics                              # doctest: +SKIP
>>> expl = eli5.explain_prediction(model, doc)                    # doctest: +SKIP
>>> metrics.deletion(model, doc, expl).auc                         # doctest: +SKIP
>>> metrics.deletion(model, doc, metrics.random_map((224, 224))).auc  # doctest: +SKIP
"""
from .confidence import ConfidenceChange, confidence_change
from .deletion import DEFAULT_STEPS, PerturbationCurve, deletion, insertion
from .imputation import impute
from .options import ScoreOptions
from .pointing import (POINTING_TOLERANCE, PointingResult, box_mask, energy_pointing_game,
                       pointing_game)
from .reference import centre_map, random_map
from .road import ROAD_PERCENTAGES, ROADResult, road

__all__ = [
    'deletion', 'insertion', 'PerturbationCurve', 'DEFAULT_STEPS',
    'confidence_change', 'ConfidenceChange',
    'road', 'ROADResult', 'ROAD_PERCENTAGES', 'impute',
    'pointing_game', 'energy_pointing_game', 'PointingResult', 'box_mask',
    'POINTING_TOLERANCE',
    'random_map', 'centre_map', 'ScoreOptions',
]
