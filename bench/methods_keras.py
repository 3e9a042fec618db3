"""Keras rows of the gradient-free methods (one backend per process).

Run by ``keras_bench.py`` (``--sections methods``), as ``methods_torch.py``:

* Eigen-CAM: ResNet-50 ``conv5_block3_out`` against one compiled forward pass;
* Ablation-CAM: ResNet-50 ``conv5_block3_out`` (2,048 channels), batch size 32
  and the default batch (no Keras library offers Ablation-CAM to compare with);
* Score-CAM: ResNet-50 ``conv2_block3_out`` (256 channels), batch size 32, and
  Faster Score-CAM (an eighth of the maps); tf-keras-vis ``Scorecam`` (and its
  ``max_N``, Faster Score-CAM) on the TensorFlow backend.  tf-keras-vis weights
  each map by the target's softmax probability on the masked input, where the
  paper, pytorch-grad-cam, torchcam and eli5-gradcam take a softmax over the
  maps' scores: its maps are not expected to agree (printed all the same).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Sequence

import numpy as np

import eli5

import eli5_gradcam  # noqa: F401
import floors_keras
import keras_models
from methods_common import BATCH, FASTER_FRACTION, agreement, ours, scorecam_rows
from report_methods import METHOD_TABLES
from timing import interleaved

__all__ = ['methods_section']


def _top(model: Any, doc: np.ndarray) -> int:
    import keras
    return int(np.argmax(keras.ops.convert_to_numpy(model(doc, training=False))[0]))


def _tf_keras_vis(model: Any, layer: str, doc: np.ndarray, target: int,
                  max_n: Any) -> Callable[[], Any]:
    from tf_keras_vis.scorecam import Scorecam
    from tf_keras_vis.utils.scores import CategoricalScore
    scorecam = Scorecam(model, clone=True)
    return lambda: scorecam(CategoricalScore([target]), doc, penultimate_layer=layer,
                            batch_size=BATCH, max_N=max_n, expand_cam=False)


def _scorecam(model: Any, doc: np.ndarray, layer: str, peers: Dict[str, Any], rounds: int,
              warmup: int) -> Dict[str, Any]:
    target = _top(model, doc)
    channels = int(model.get_layer(layer).output.shape[-1])
    contenders, result, full = scorecam_rows(model, doc, layer, target, channels)
    maps = max(1, channels // FASTER_FRACTION)     # Faster Score-CAM's, as in scorecam_rows
    if peers.get('tf-keras-vis') is None:
        try:
            peer = _tf_keras_vis(model, layer, doc, target, None)
            result['agreement']['tf-keras-vis (probability weights)'] = agreement(
                full, np.asarray(peer())[0])
            contenders['tf-keras-vis'] = peer
            contenders[f'tf-keras-vis, max_N={maps}'] = _tf_keras_vis(model, layer, doc,
                                                                      target, maps)
        except Exception as exc:  # noqa: BLE001 - a peer may fail in any way
            result['peer_error'] = f'tf-keras-vis: {type(exc).__name__}: {exc}'[:200]
    result['times'] = interleaved(contenders, rounds, warmup=warmup)
    return result


def methods_section(peers: Dict[str, Any], quick: bool, rounds: int,
                    tables: Sequence[str] = METHOD_TABLES) -> Dict[str, Any]:
    """Eigen-CAM, Ablation-CAM and Score-CAM tables (see the module docstring);
    ``tables``: which of them to measure."""
    rng = np.random.default_rng(0)
    if quick:
        model, size = keras_models.small_cnn(), 64
        layers = {'eigencam': 'conv3', 'ablationcam': 'conv3', 'scorecam': 'conv2'}
        name, heavy_rounds, warmup = 'small CNN (quick)', 2, 1
    else:
        model, size = keras_models.resnet50(), 224
        layers = {'eigencam': 'conv5_block3_out', 'ablationcam': 'conv5_block3_out',
                  'scorecam': 'conv2_block3_out'}
        name, heavy_rounds, warmup = 'ResNet-50', 3, 0     # minutes per call: no warm-up
    doc = rng.random((1, size, size, 3)).astype('float32')
    target = _top(model, doc)
    forward = floors_keras.forward(model)

    def eigen() -> Dict[str, Any]:
        return {'times': interleaved({
            'forward': lambda: forward(doc),
            'eli5-gradcam': ours(model, doc, layers['eigencam'], target, method='eigencam')},
            rounds)}

    def ablation() -> Dict[str, Any]:
        return {'target': target, 'times': interleaved({
            f'eli5-gradcam (batch {BATCH})': ours(model, doc, layers['ablationcam'], target,
                                                   method='ablationcam', batch_size=BATCH),
            'eli5-gradcam (default batch)': ours(model, doc, layers['ablationcam'], target,
                                                  method='ablationcam')}, heavy_rounds,
            warmup=warmup)}

    runs = {'eigencam': eigen, 'ablationcam': ablation,
            'scorecam': lambda: _scorecam(model, doc, layers['scorecam'], peers, heavy_rounds,
                                          warmup)}
    return {'model': name, 'layers': layers, 'batch_size': BATCH,
            **{table: runs[table]() for table in tables}}
