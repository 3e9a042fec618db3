"""The Keras/TensorFlow peers, each used as its documentation shows.

* eli5 0.16's own Keras Grad-CAM (``eli5.keras.explain_prediction_keras``,
  TensorFlow only, one target per call);
* the Keras documentation's Grad-CAM recipe: a gradient model built once,
  then an eager ``GradientTape`` per call, channel weights by the spatial mean
  of the gradients (written here from the recipe's description);
* tf-keras-vis ``Gradcam``, if it runs with this Keras.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

import keras
import numpy as np

__all__ = ['available_peers', 'one_target', 'several_targets']


def available_peers() -> Dict[str, Optional[str]]:
    """Peer name -> None when it can run here, else why not."""
    status: Dict[str, Optional[str]] = {}
    if keras.backend.backend() != 'tensorflow':
        reason = 'TensorFlow backend only'
        return {'eli5 0.16': reason, 'keras recipe': reason, 'tf-keras-vis': reason}
    try:
        from eli5.keras.explain_prediction import explain_prediction_keras  # noqa: F401
        status['eli5 0.16'] = None
    except Exception as exc:  # noqa: BLE001
        status['eli5 0.16'] = f'{type(exc).__name__}: {exc}'
    status['keras recipe'] = None
    try:
        from tf_keras_vis.gradcam import Gradcam  # noqa: F401
        status['tf-keras-vis'] = None
    except Exception as exc:  # noqa: BLE001
        status['tf-keras-vis'] = f'{type(exc).__name__}: {exc}'
    return status


def _recipe(model: Any, layer_name: str) -> Callable[[np.ndarray, int], np.ndarray]:
    import tensorflow as tf
    gradient_model = keras.Model(model.inputs, [model.get_layer(layer_name).output,
                                                model.output])

    def heatmap(doc: np.ndarray, target: int) -> np.ndarray:
        with tf.GradientTape() as tape:
            activations, scores = gradient_model(doc)
            score = scores[:, target]
        gradients = tape.gradient(score, activations)
        weights = tf.reduce_mean(gradients, axis=tuple(range(1, len(gradients.shape) - 1)))
        cam = tf.reduce_sum(activations[0] * weights[0], axis=-1)
        cam = tf.maximum(cam, 0) / (tf.reduce_max(cam) + 1e-12)
        return cam.numpy()
    return heatmap


def one_target(peer: str, model: Any, layer_name: str, doc: np.ndarray,
               target: int) -> Callable[[], Any]:
    """A callable computing the peer's Grad-CAM of ``target`` on ``doc``."""
    if peer == 'eli5 0.16':
        from eli5.keras.explain_prediction import explain_prediction_keras
        return lambda: explain_prediction_keras(model, doc, targets=[target], layer=layer_name)
    if peer == 'keras recipe':
        heatmap = _recipe(model, layer_name)
        return lambda: heatmap(doc, target)
    if peer == 'tf-keras-vis':
        from tf_keras_vis.gradcam import Gradcam
        from tf_keras_vis.utils.scores import CategoricalScore
        gradcam = Gradcam(model, clone=True)
        return lambda: gradcam(CategoricalScore([target]), doc, penultimate_layer=layer_name)
    raise ValueError(peer)


def several_targets(peer: str, model: Any, layer_name: str, doc: np.ndarray,
                    targets: List[int]) -> Callable[[], Any]:
    """Maps for several classes of one document, the fastest way each API allows."""
    if peer == 'tf-keras-vis':
        from tf_keras_vis.gradcam import Gradcam
        from tf_keras_vis.utils.scores import CategoricalScore
        gradcam = Gradcam(model, clone=True)
        copies = np.repeat(doc, len(targets), axis=0)     # one row per class
        return lambda: gradcam(CategoricalScore(targets), copies, penultimate_layer=layer_name)
    singles = [one_target(peer, model, layer_name, doc, t) for t in targets]
    return lambda: [single() for single in singles]
