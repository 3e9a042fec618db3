"""Keras benchmark (one backend per process): compiled floors, eli5-gradcam, peers.

Run by ``bench/run.py`` with ``KERAS_BACKEND`` set; prints one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Callable, Dict, List

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras  # noqa: E402

import floors_keras  # noqa: E402
import keras_models  # noqa: E402
import methods_keras  # noqa: E402
from report_methods import METHOD_TABLES  # noqa: E402
import peers_keras  # noqa: E402
from timing import interleaved, rss_mib  # noqa: E402

import eli5  # noqa: E402

import eli5_gradcam  # noqa: E402,F401


def _cases() -> List[Dict[str, Any]]:
    rng = np.random.default_rng(0)
    return [
        dict(name='ResNet-50', model=keras_models.resnet50(), layer='conv5_block3_out',
             doc=rng.random((1, 224, 224, 3)).astype('float32'), kwargs={}, image=True),
        dict(name='text CNN', model=keras_models.text_cnn(), layer='conv',
             doc=rng.integers(1, 20000, (1, 400)).astype('int32'),
             kwargs=dict(tokens=[f't{i}' for i in range(400)]), image=False),
        dict(name='1-D signal CNN', model=keras_models.signal_cnn(), layer='relu2',
             doc=rng.random((1, 2000, 12)).astype('float32'), kwargs={}, image=False),
    ]


def _top(model: Any, doc: np.ndarray, count: int) -> List[int]:
    scores = np.asarray(keras.ops.convert_to_numpy(model(doc, training=False)))[0]
    return [int(i) for i in np.argsort(-scores)[:count]]


def _contenders(case: Dict[str, Any], targets: List[int], peers: Dict[str, Any],
                several: bool) -> Dict[str, Callable[[], object]]:
    model, doc = case['model'], case['doc']
    gradient = floors_keras.forward_and_gradient(model, case['layer'])
    first = np.array([targets[0]], dtype='int32')
    contenders: Dict[str, Callable[[], object]] = {}
    if not several:
        step = floors_keras.forward(model)
        contenders['forward'] = lambda: step(doc)
    contenders['floor'] = lambda: gradient(doc, first)
    contenders['eli5-gradcam'] = lambda: eli5.explain_prediction(
        model, doc, layer=case['layer'], targets=targets if several else targets[:1],
        **case['kwargs'])
    for peer, error in peers.items():
        if error is not None or (peer == 'eli5 0.16' and not case['image']):
            continue
        contenders[peer] = (peers_keras.several_targets(peer, model, case['layer'], doc,
                                                        targets) if several else
                            peers_keras.one_target(peer, model, case['layer'], doc,
                                                   targets[0]))
    return contenders


def _guided(case: Dict[str, Any], rounds: int) -> Dict[str, Any]:
    """Guided Grad-CAM (issue 15) against a forward pass plus a full input backward."""
    model, doc = case['model'], case['doc']
    target = _top(model, doc, 1)[0]
    gradient = floors_keras.forward_and_input_gradient(model)
    first = np.array([target], dtype='int32')
    contenders: Dict[str, Callable[[], object]] = {
        'floor': lambda: gradient(doc, first),
        'eli5-gradcam': lambda: eli5.explain_prediction(
            model, doc, layer=case['layer'], targets=[target], method='guided-gradcam'),
    }
    return interleaved(contenders, rounds)


def _batch(case: Dict[str, Any], batch: int, rounds: int) -> Dict[str, Any]:
    model = case['model']
    docs = np.random.default_rng(1).random((batch, 224, 224, 3)).astype('float32')
    gradient = floors_keras.forward_and_gradient(model, case['layer'])
    tops = np.asarray(keras.ops.convert_to_numpy(model(docs, training=False))).argmax(axis=1)
    tops = tops.astype('int32')
    contenders: Dict[str, Callable[[], object]] = {
        'floor': lambda: gradient(docs, tops),
        'eli5-gradcam': lambda: list(eli5_gradcam.explain_predictions(
            model, docs, batch_size=batch, progress=False, layer=case['layer'])),
    }
    return interleaved(contenders, rounds, warmup=1)


def _soak(case: Dict[str, Any], calls: int) -> Dict[str, float]:
    model, doc = case['model'], case['doc']
    for _ in range(20):
        eli5.explain_prediction(model, doc, layer=case['layer'], **case['kwargs'])
    before = rss_mib()
    peak = before
    for number in range(calls):
        eli5.explain_prediction(model, doc, layer=case['layer'], **case['kwargs'])
        if number % 50 == 0:
            peak = max(peak, rss_mib())
    after = rss_mib()
    return {'calls': calls, 'rss_before_mib': before, 'rss_after_mib': after,
            'growth_mib': after - before, 'peak_mib': max(peak, after)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--quick', action='store_true')
    parser.add_argument('--rounds', type=int, default=7)
    parser.add_argument('--batch', type=int, default=64)
    parser.add_argument('--soak', type=int, default=1000)
    parser.add_argument('--sections', nargs='+', choices=['core', 'methods'],
                        default=['core', 'methods'])
    parser.add_argument('--methods', nargs='+', choices=METHOD_TABLES,
                        default=list(METHOD_TABLES))
    args = parser.parse_args()
    rounds = 2 if args.quick else args.rounds
    peers = peers_keras.available_peers()
    results: Dict[str, Any] = {'framework': f'keras-{keras.backend.backend()}',
                               'keras': keras.__version__, 'peers': peers}
    if 'methods' in args.sections:
        results['methods'] = methods_keras.methods_section(peers, args.quick, rounds,
                                                             args.methods)
    if 'core' in args.sections:
        _core(args, peers, rounds, results)
    print(json.dumps(results))


def _core(args: Any, peers: Dict[str, Any], rounds: int, results: Dict[str, Any]) -> None:
    """The Grad-CAM tables: one target, five targets, a batch, memory."""
    cases = _cases()
    results.update({'one': {}, 'five': {}})
    for case in cases:
        targets = _top(case['model'], case['doc'], 5)
        results['one'][case['name']] = interleaved(
            _contenders(case, targets, peers, several=False), rounds)
        results['five'][case['name']] = interleaved(
            _contenders(case, targets, peers, several=True), rounds)
    results['guided'] = {cases[0]['name']: _guided(cases[0], rounds)}
    batch = 4 if args.quick else args.batch
    results['batch'] = {'size': batch, 'times': _batch(cases[0], batch,
                                                       1 if args.quick else 3)}
    soak_case = cases[0] if not args.quick else cases[2]
    results['soak'] = {'model': soak_case['name'],
                       **_soak(soak_case, 10 if args.quick else args.soak)}


if __name__ == '__main__':
    main()
