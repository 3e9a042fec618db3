"""The benchmark: one command, every framework, ratios to the floor in one run.

    python bench/run.py                 # full run, writes bench/RESULTS.md
    python bench/run.py --quick         # smoke run (CI), writes bench/RESULTS-quick.md

Each framework (PyTorch; Keras on TensorFlow; Keras on JAX) runs in its own
process (Keras picks its backend once per process); within a process, the
floor, eli5-gradcam and the peers are timed interleaved (A B C, B C A, C A B, ...),
and medians after warm-up are reported as ratios to the floor of that run.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from report_methods import METHOD_TABLES, methods_tables  # noqa: E402
from timing import paired_ratio  # noqa: E402
FRAMEWORKS = {
    'torch': ([sys.executable, str(HERE / 'torch_bench.py')], {}),
    'keras-tensorflow': ([sys.executable, str(HERE / 'keras_bench.py')],
                         {'KERAS_BACKEND': 'tensorflow'}),
    'keras-jax': ([sys.executable, str(HERE / 'keras_bench.py')], {'KERAS_BACKEND': 'jax'}),
}


def _run(framework: str, extra: List[str]) -> Dict[str, Any]:
    command, env = FRAMEWORKS[framework]
    path = os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get('PYTHONPATH')] if p])
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2', PYTHONPATH=path, **env)
    started = time.time()
    result = subprocess.run(command + extra, capture_output=True, text=True, env=environment,
                            cwd=ROOT)
    if result.returncode != 0:
        raise SystemExit(f'{framework} benchmark failed:\n{result.stderr[-4000:]}')
    data: Dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    data['wall_s'] = time.time() - started
    return data


def _import_time(repeats: int) -> Dict[str, Any]:
    code = ('import sys, time, eli5; before = set(sys.modules); t = time.perf_counter(); '
            'import eli5_gradcam; elapsed = time.perf_counter() - t; '
            "new = [m for m in set(sys.modules) - before if m.split('.')[0] in "
            "('torch', 'tensorflow', 'keras', 'jax', 'tf_keras')]; print(elapsed, len(new))")
    times, frameworks = [], 0
    for _ in range(repeats):
        out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                             env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2'), cwd=ROOT)
        elapsed, count = out.stdout.split()
        times.append(float(elapsed) * 1000)
        frameworks = max(frameworks, int(count))
    return {'min_ms': min(times), 'median_ms': sorted(times)[len(times) // 2],
            'frameworks_imported': frameworks}


def _ratio(value: Optional[float], floor: Optional[float]) -> str:
    if value is None or not floor:
        return 'n/a'
    return f'{value / floor:.2f}x'


def _ms(value: Optional[float]) -> str:
    return 'n/a' if value is None else f'{value:.1f}'


def _paired(timing: Dict[str, Any], other: Dict[str, Any]) -> str:
    result = paired_ratio(timing.get('samples_ms') or [], other.get('samples_ms') or [])
    if result is None:
        return 'n/a'
    median, low, high = result
    return f'{median:.2f}x ({low:.2f}-{high:.2f})'


def _table(title: str, rows: Dict[str, Dict[str, Any]], floor_name: str = 'floor',
           ours_name: str = 'eli5-gradcam') -> List[str]:
    """Medians (the headline) and minima (least disturbed by a noisy machine),
    each as a ratio to the floor's same statistic; then the paired ratios:
    the median over rounds of the ratio of two contenders timed in the same
    round, with its 95% bootstrap interval (see ``timing.paired_ratio``)."""
    lines = [f'#### {title}', '',
             '| model | contender | median ms | ratio to floor | min ms | ratio (min) | '
             'paired ratio to floor (95% CI) | eli5-gradcam / contender, paired (95% CI) |',
             '|---|---|---:|---:|---:|---:|---:|---:|']
    for model, contenders in rows.items():
        floor = contenders.get(floor_name) or {}
        ours = contenders.get(ours_name) or {}
        for name, timing in contenders.items():
            if timing.get('error'):
                lines.append(f'| {model} | {name} | failed: {timing["error"][:80]} '
                             '| | | | | |')
                continue
            versus = _paired(ours, timing) if name not in (ours_name, 'forward') else ''
            lines.append(f'| {model} | {name} | {_ms(timing["median_ms"])} | '
                         f'{_ratio(timing["median_ms"], floor.get("median_ms"))} | '
                         f'{_ms(timing.get("min_ms"))} | '
                         f'{_ratio(timing.get("min_ms"), floor.get("min_ms"))} | '
                         f'{_paired(timing, floor) if name != floor_name else ""} | '
                         f'{versus} |')
    return lines + ['']


def _report(results: Dict[str, Dict[str, Any]], imports: Dict[str, Any], command: str,
            quick: bool) -> str:
    versions = []
    for name in ('torch', 'keras', 'tensorflow', 'jax', 'eli5', 'captum', 'torchcam',
                 'grad-cam', 'tf-keras-vis'):
        try:
            from importlib.metadata import version
            versions.append(f'{name} {version(name)}')
        except Exception:  # noqa: BLE001
            versions.append(f'{name} (not installed)')
    lines = ['# eli5-gradcam benchmark', '',
             f'- Command: `{command}`' + (' (quick smoke run: few rounds, numbers not '
                                          'meaningful)' if quick else ''),
             f'- Machine: {platform.machine()}, {os.cpu_count()} CPU cores, '
             f'{platform.python_implementation()} {platform.python_version()}, '
             f'{platform.platform()}',
             f'- Versions: {", ".join(versions)}',
             '- Floor: one forward pass and the gradient of the target score(s) with respect '
             'to the layer, in plain framework code (PyTorch: a forward hook and '
             '`torch.autograd.grad`; Keras: the model split at the layer, compiled with '
             '`tf.function` / `jax.jit`). Ratios are medians of interleaved rounds (the order '
             'rotating every round) after '
             'warm-up, against the floor measured in the same process. Paired ratios: the '
             'median over rounds of the ratio of two contenders timed in the same round, '
             'with a 95% bootstrap interval; a slow spell of this shared machine slows '
             'both sides of a pair, so these are the steadiest comparison here.',
             f'- `import eli5_gradcam` after `import eli5`: {imports["min_ms"]:.1f} ms (min), '
             f'{imports["median_ms"]:.1f} ms (median); frameworks imported by it: '
             f'{imports["frameworks_imported"]}', '']
    for framework, data in results.items():
        lines += [f'## {framework}', '']
        peers = ', '.join(f'{name}: {"ok" if error is None else error}'
                          for name, error in data['peers'].items())
        lines += [f'Peers: {peers}', '']
        if 'methods' in data:
            lines += methods_tables(data['methods'], _table)
        if 'one' not in data:
            continue
        lines += _table('One document, one target', data['one'])
        lines += _table('Five targets of one document (floor: one target)', data['five'])
        if 'guided' in data:
            lines += _table('Guided Grad-CAM, one target (floor: one forward pass and the '
                            "score's gradient with respect to the input)", data['guided'])
        batch = data['batch']
        floor = batch['times']['floor']['median_ms']
        ours = batch['times']['eli5-gradcam']['median_ms']
        lines += [f'#### Batch of {batch["size"]} images (ResNet-50)', '',
                  f'- floor: {_ms(floor)} ms; eli5-gradcam `explain_predictions`: '
                  f'{_ms(ours)} ms; throughput relative to the floor: '
                  f'{(floor / ours) if floor and ours else float("nan"):.2f}x', '']
        soak = data['soak']
        lines += [f'#### Memory ({soak["model"]}, {soak["calls"]} calls after 20 warm-up)',
                  '', f'- RSS before {soak["rss_before_mib"]:.0f} MiB, after '
                  f'{soak["rss_after_mib"]:.0f} MiB, growth {soak["growth_mib"]:.1f} MiB, '
                  f'peak {soak["peak_mib"]:.0f} MiB'
                  + (f'; hooks left {soak["hooks_left"]}, parameter grads left '
                     f'{soak["parameter_grads_left"]}' if 'hooks_left' in soak else ''),
                  '', f'Wall time of this framework\'s run: {data["wall_s"]:.0f} s', '']
    return '\n'.join(lines)


def _merged(old: Dict[str, Any], fresh: Dict[str, Any],
            tables: List[str]) -> Dict[str, Any]:
    """``fresh`` over ``old``; a methods section measured in part keeps the other tables
    and says which tables were re-run (and how long they took)."""
    merged = {**old, **fresh}
    if 'methods' in fresh and 'methods' in old and set(tables) != set(METHOD_TABLES):
        methods = {**old['methods'], **fresh['methods']}
        methods['wall_s'] = old['methods'].get('wall_s')
        earlier = old['methods'].get('rerun', {'tables': [], 'wall_s': 0.0})
        methods['rerun'] = {
            'tables': [t for t in METHOD_TABLES if t in set(earlier['tables']) | set(tables)],
            'wall_s': earlier['wall_s'] + (fresh['methods'].get('wall_s') or 0.0)}
        merged['methods'] = methods
    return merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--quick', action='store_true', help='smoke run for CI')
    parser.add_argument('--frameworks', nargs='+', choices=sorted(FRAMEWORKS),
                        default=list(FRAMEWORKS))
    parser.add_argument('--rounds', type=int, default=7)
    parser.add_argument('--soak', type=int, default=1000)
    parser.add_argument('--output', default=None)
    parser.add_argument('--merge', action='store_true',
                        help='rerun only --frameworks and keep the other frameworks\' '
                             'sections of the existing results (.json beside the .md)')
    parser.add_argument('--sections', nargs='+', choices=['core', 'methods'],
                        default=['core', 'methods'],
                        help='core: the Grad-CAM tables; methods: Eigen-CAM, Score-CAM, '
                             'Ablation-CAM (with --merge, the other sections are kept)')
    parser.add_argument('--methods', nargs='+', choices=METHOD_TABLES,
                        default=list(METHOD_TABLES),
                        help='with --sections methods: which tables to measure (with --merge, '
                             'the other tables are kept)')
    args = parser.parse_args()
    extra = ['--quick'] if args.quick else ['--rounds', str(args.rounds), '--soak',
                                            str(args.soak)]
    extra += ['--sections'] + args.sections + ['--methods'] + args.methods
    output = Path(args.output) if args.output else HERE / (
        'RESULTS-quick.md' if args.quick else 'RESULTS.md')
    results: Dict[str, Any] = {}
    if args.merge and output.with_suffix('.json').exists():
        results = json.loads(output.with_suffix('.json').read_text(encoding='utf-8'))
    imports = _import_time(3 if args.quick else 15)
    command = 'python bench/run.py ' + ' '.join(sys.argv[1:])
    for framework in args.frameworks:
        print(f'[bench] {framework} ...', flush=True)
        fresh = _run(framework, extra)
        if 'methods' in fresh and 'core' not in args.sections:
            fresh['methods']['wall_s'] = fresh.pop('wall_s')
        if args.merge:
            fresh = _merged(results.get(framework, {}), fresh, args.methods)
        results[framework] = fresh
        results = {name: results[name] for name in FRAMEWORKS if name in results}
        # written after every framework: a long run stopped midway keeps what it measured
        output.write_text(_report(results, imports, command.strip(), args.quick) + '\n',
                          encoding='utf-8')
        (output.with_suffix('.json')).write_text(json.dumps(results, indent=1),
                                                 encoding='utf-8')
        print(f'[bench] wrote {output} ({framework})', flush=True)


if __name__ == '__main__':
    main()
