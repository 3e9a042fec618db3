"""PyTorch benchmark: floors, eli5-gradcam and the peers, interleaved in one process.

Run by ``bench/run.py``; prints one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Callable, Dict, List

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import methods_torch  # noqa: E402
from report_methods import METHOD_TABLES  # noqa: E402
import peers_torch  # noqa: E402
import torch_models  # noqa: E402
from timing import interleaved, rss_mib  # noqa: E402

import eli5  # noqa: E402

import eli5_gradcam  # noqa: E402,F401


def _hooked_gradients(model: torch.nn.Module, layer: torch.nn.Module, doc: torch.Tensor,
                      pick: Callable[[torch.Tensor], torch.Tensor]) -> Any:
    """The floor: one forward, the gradient of the picked score(s) to the layer."""
    store: Dict[str, torch.Tensor] = {}
    handle = layer.register_forward_hook(lambda m, i, o: store.setdefault('out', o))
    try:
        scores = model(doc)
    finally:
        handle.remove()
    return torch.autograd.grad(pick(scores), store['out'])


def _cases(quick: bool) -> List[Dict[str, Any]]:
    size = 224
    return [
        dict(name='ResNet-50', model=torch_models.resnet50(), layer='layer4',
             doc=torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0)),
             kwargs={}, image=True),
        dict(name='text CNN', model=torch_models.text_cnn(), layer='conv',
             doc=torch.randint(1, 20000, (1, 400), generator=torch.Generator().manual_seed(0)),
             kwargs=dict(tokens=[f't{i}' for i in range(400)]), image=False),
        dict(name='1-D signal CNN', model=torch_models.signal_cnn(), layer='8',
             doc=torch.rand(1, 12, 2000, generator=torch.Generator().manual_seed(0)),
             kwargs={}, image=False),
    ]


def _one_image(case: Dict[str, Any], peers: Dict[str, Any], rounds: int) -> Dict[str, Any]:
    model, doc = case['model'], case['doc']
    layer = model.get_submodule(case['layer'])
    with torch.no_grad():
        target = int(model(doc).argmax())
    contenders: Dict[str, Callable[[], object]] = {
        'forward': lambda: _no_grad(model, doc),
        'floor': lambda: _hooked_gradients(model, layer, doc, lambda s: s[0, target]),
        'eli5-gradcam': lambda: eli5.explain_prediction(model, doc, layer=case['layer'],
                                                        targets=[target], **case['kwargs']),
    }
    for peer, error in peers.items():
        if error is None and (case['image'] or peer != 'pytorch-grad-cam'):
            contenders[peer] = peers_torch.one_target(peer, model, layer, doc, target)
    return interleaved(contenders, rounds)


def _no_grad(model: torch.nn.Module, doc: torch.Tensor) -> Any:
    with torch.no_grad():
        return model(doc)


def _five_targets(case: Dict[str, Any], peers: Dict[str, Any], rounds: int) -> Dict[str, Any]:
    model, doc = case['model'], case['doc']
    layer = model.get_submodule(case['layer'])
    with torch.no_grad():
        targets = [int(t) for t in model(doc)[0].argsort(descending=True)[:5]]
    contenders: Dict[str, Callable[[], object]] = {
        'floor': lambda: _hooked_gradients(model, layer, doc, lambda s: s[0, targets[0]]),
        'eli5-gradcam': lambda: eli5.explain_prediction(model, doc, layer=case['layer'],
                                                        targets=targets, **case['kwargs']),
    }
    for peer, error in peers.items():
        if error is None and (case['image'] or peer != 'pytorch-grad-cam'):
            contenders[peer] = peers_torch.several_targets(peer, model, layer, doc, targets)
    return interleaved(contenders, rounds)


def _input_gradient(model: torch.nn.Module, doc: torch.Tensor, target: int) -> Any:
    """Guided Grad-CAM's floor: one forward and the target score's gradient to the input."""
    inputs = doc.detach().requires_grad_(True)
    return torch.autograd.grad(model(inputs)[0, target], inputs)


def _guided(case: Dict[str, Any], peers: Dict[str, Any], rounds: int) -> Dict[str, Any]:
    """Guided Grad-CAM (issue 15) against a forward pass plus a full input backward."""
    model, doc = case['model'], case['doc']
    with torch.no_grad():
        target = int(model(doc).argmax())
    contenders: Dict[str, Callable[[], object]] = {
        'floor': lambda: _input_gradient(model, doc, target),
        'eli5-gradcam': lambda: eli5.explain_prediction(
            model, doc, layer=case['layer'], targets=[target], method='guided-gradcam'),
    }
    if peers.get('captum') is None:
        from captum.attr import GuidedGradCam
        method = GuidedGradCam(model, model.get_submodule(case['layer']))
        contenders['captum'] = lambda: method.attribute(doc, target=target,
                                                        interpolate_mode='bilinear')
    return interleaved(contenders, rounds)


def _batch(case: Dict[str, Any], batch: int, rounds: int) -> Dict[str, Any]:
    model = case['model']
    docs = torch.rand(batch, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    layer = model.get_submodule(case['layer'])
    with torch.no_grad():
        tops = model(docs).argmax(dim=1)
    rows = torch.arange(batch)
    contenders: Dict[str, Callable[[], object]] = {
        'floor': lambda: _hooked_gradients(model, layer, docs, lambda s: s[rows, tops].sum()),
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
    hooks = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
                for m in model.modules())
    grads = sum(p.grad is not None for p in model.parameters())
    return {'calls': calls, 'rss_before_mib': before, 'rss_after_mib': after,
            'growth_mib': after - before, 'peak_mib': max(peak, after),
            'hooks_left': hooks, 'parameter_grads_left': grads}


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
    torch.set_num_threads(os.cpu_count() or 1)
    rounds = 2 if args.quick else args.rounds
    peers = peers_torch.available_peers()
    results: Dict[str, Any] = {'framework': 'torch', 'torch': torch.__version__,
                               'threads': torch.get_num_threads(), 'peers': peers}
    if 'methods' in args.sections:
        results['methods'] = methods_torch.methods_section(peers, args.quick, rounds,
                                                             args.methods)
    if 'core' in args.sections:
        _core(args, peers, rounds, results)
    print(json.dumps(results))


def _core(args: Any, peers: Dict[str, Any], rounds: int, results: Dict[str, Any]) -> None:
    """The Grad-CAM tables: one target, five targets, a batch, memory."""
    cases = _cases(args.quick)
    results.update({'one': {}, 'five': {}})
    for case in cases:
        results['one'][case['name']] = _one_image(case, peers, rounds)
        results['five'][case['name']] = _five_targets(case, peers, rounds)
    results['guided'] = {cases[0]['name']: _guided(cases[0], peers, rounds)}
    batch = 4 if args.quick else args.batch
    results['batch'] = {'size': batch, 'times': _batch(cases[0], batch,
                                                       1 if args.quick else 3)}
    soak_case = dict(cases[0] if not args.quick else cases[2])
    # a fresh model: the peers above (pytorch-grad-cam's backward) leave .grad on theirs
    soak_case['model'] = (torch_models.resnet50() if not args.quick
                          else torch_models.signal_cnn())
    results['soak'] = {'model': soak_case['name'],
                       **_soak(soak_case, 10 if args.quick else args.soak)}


if __name__ == '__main__':
    main()
