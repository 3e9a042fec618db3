"""The quality comparison: Grad-CAM (every method) vs LIME vs SHAP, on quality and cost.

    python bench/quality.py            # full run: bench/QUALITY.md, bench/QUALITY.json,
                                       # docs/images/quality_curves.png
    python bench/quality.py --quick    # smoke run (CI): bench/QUALITY-quick.md
    python bench/quality.py --report-only   # re-render the reports from QUALITY.json

Every contender explains the same documents of the same models (see
quality_suites.py) and every map is scored by :mod:`eli5_gradcam.metrics`
the same way.  Per-case results are cached in bench/.quality-cache/, so an
interrupted run continues where it stopped (``--fresh`` discards the cache).
No threshold is asserted: the numbers are reported as they come.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Dict, List, Tuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))
os.environ.setdefault('OMP_NUM_THREADS', '1')
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import eli5  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from eli5_gradcam import metrics  # noqa: E402
from eli5_gradcam.nn.gradcam import METHOD_TITLES  # noqa: E402
from quality_contenders import image_contenders, text_contenders  # noqa: E402
from quality_report import (aggregate, findings, markdown_tables, plot_curves,  # noqa: E402
                            rst_table, targets)
from quality_notes import suite_notes  # noqa: E402
from quality_suites import digits_suite, imagenet_suite, shapes_suite, text_suite  # noqa: E402

#: Methods that need ReLUs to guide: EfficientNet-Lite0 has ReLU6 only (the imagenet
#: table's note says so).
NO_RELU = ('guided-gradcam', 'guided-backprop')

#: Settings per mode: steps of deletion / insertion per suite, ROAD percentages,
#: LIME samples, SHAP evaluations, repeats of the (fast) timed Grad-CAM calls.
SETTINGS: Dict[str, Dict[str, Any]] = {
    'full': {'steps': {'imagenet': 20, 'shapes': 48, 'digits': 32, 'text': 16},
             'road': [10, 20, 30, 40, 50, 60, 70, 80, 90], 'lime': 1000, 'shap': 300,
             'repeats': 3, 'scorecam_maps': None, 'skip': {'imagenet': NO_RELU}},
    'quick': {'steps': {'imagenet': 4, 'shapes': 8, 'digits': 8, 'text': 16},
              'road': [20, 60], 'lime': 40, 'shap': 40, 'repeats': 1,
              # the smoke run: Faster Score-CAM (32 masked passes); no Ablation-CAM on
              # EfficientNet, whose forward fixes the batch size from its input, so
              # every ablated channel re-runs the whole network (minutes per photo)
              'scorecam_maps': 32, 'skip': {'imagenet': ('ablationcam',) + NO_RELU}},
}


def _score(suite: Any, case: Any, heatmap: np.ndarray, settings: Dict[str, Any]
           ) -> Dict[str, Any]:
    """Every metric of one map on one case."""
    options = dict(suite.metric_options, target=case.target, progress=False,
                   batch_size=getattr(suite, 'batch_size', 64))
    steps = min(settings['steps'][suite.name], int(np.prod(case.doc.shape[1:]))
                if suite.kind == 'text' else settings['steps'][suite.name])
    deletion = metrics.deletion(suite.model, case.doc, heatmap, steps=steps, **options)
    insertion = metrics.insertion(suite.model, case.doc, heatmap, steps=steps, **options)
    result: Dict[str, Any] = {'fractions': deletion.fractions.tolist(),
                              'deletion': deletion.scores.tolist(),
                              'insertion': insertion.scores.tolist()}
    if suite.kind == 'image':
        road = metrics.road(suite.model, case.doc, heatmap, percentages=settings['road'],
                            **options)
        change = metrics.confidence_change(suite.model, case.doc, [heatmap], **options)
        result.update(morf=road.morf_mean, lerf=road.lerf_mean,
                      original=float(change.original[0]), masked=float(change.masked[0]))
    if case.box is not None:
        shape = suite.image_shape if suite.kind == 'image' else (suite.length,)
        result['hit'] = metrics.pointing_game(heatmap, box=case.box, shape=shape,
                                              tolerance=suite.tolerance).hit
        result['energy'] = metrics.energy_pointing_game(heatmap, box=case.box, shape=shape)
    return result


#: A contender whose first call takes less than this (seconds) is timed ``repeats``
#: times (the median is kept); a slower one once.
REPEAT_BELOW_S = 1.0


def _timed(explain: Any, case: Any, repeats: int) -> Any:
    times: List[float] = []
    heatmap = None
    while len(times) < (repeats if not times or times[0] < REPEAT_BELOW_S else 1):
        started = time.perf_counter()
        heatmap = explain(case)
        times.append(time.perf_counter() - started)
    return heatmap, float(np.median(times))


class Cache:
    """Per-case results on disk (one JSON object a line), keyed by suite, case, contender."""

    def __init__(self, path: Path, fresh: bool) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if fresh and path.exists():
            path.unlink()
        self.entries: Dict[str, Dict[str, Any]] = {}
        self.added = 0
        if path.exists():
            for line in path.read_text().splitlines():
                entry = json.loads(line)
                self.entries[entry['key']] = entry

    def add(self, entry: Dict[str, Any]) -> None:
        self.entries[entry['key']] = entry
        self.added += 1
        with self.path.open('a') as handle:
            handle.write(json.dumps(entry) + '\n')


def run_suite(suite: Any, contenders: Dict[str, Any], settings: Dict[str, Any],
              cache: Cache) -> List[Dict[str, Any]]:
    """Explain and score every case with every contender (cases outermost, so that
    load changes on a shared machine touch every contender alike)."""
    case = suite.cases[0]                                # warm-up: the layer plan, imports
    eli5.explain_prediction(suite.model, suite.tensor(case), targets=[case.target],
                            **suite.explain_options(case))
    commit = _commit()
    entries = []
    for index, case in enumerate(suite.cases):
        for name, explain in contenders.items():
            key = f'{suite.name}|{index}|{name}'
            if key not in cache.entries:
                entry: Dict[str, Any] = {'key': key, 'suite': suite.name, 'case': case.name,
                                         'target': case.target_name, 'contender': name,
                                         'commit': commit}
                repeats = settings['repeats'] if name.startswith('eli5-gradcam') else 1
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter('ignore')
                        heatmap, seconds = _timed(explain, case, repeats)
                        entry.update(_score(suite, case, heatmap, settings), seconds=seconds,
                                     flat=bool(np.ptp(heatmap) == 0))
                except Exception as exc:  # noqa: BLE001 - a contender's failure is a result
                    entry['error'] = f'{type(exc).__name__}: {exc}'
                cache.add(entry)
                print(f'[quality] {key}: {entry.get("seconds", entry.get("error"))}',
                      flush=True)
            entries.append(cache.entries[key])
    return entries


def _versions() -> Dict[str, str]:
    import eli5_gradcam
    versions = {'python': platform.python_version(), 'torch': torch.__version__,
                'numpy': np.__version__, 'eli5-gradcam': eli5_gradcam.__version__}
    for module in ('lime', 'shap'):
        try:
            from importlib.metadata import version
            versions[module] = version(module)
        except Exception:  # noqa: BLE001
            versions[module] = 'not installed'
    versions['commit'] = _commit()
    return versions


def _commit() -> str:
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], capture_output=True,
                            text=True, cwd=ROOT).stdout.strip()
    return commit or 'unknown'


def _suites(quick: bool, only: List[str]) -> List[Any]:
    builders = {'imagenet': imagenet_suite, 'shapes': shapes_suite, 'digits': digits_suite,
                'text': text_suite}
    return [builders[name](quick) for name in builders if not only or name in only]


def _contenders(suite: Any, settings: Dict[str, Any]) -> Dict[str, Any]:
    if suite.kind == 'text':
        contenders = text_contenders(suite, lime_samples=settings['lime'])
    else:
        contenders = image_contenders(suite, lime_samples=settings['lime'],
                                      scorecam_maps=settings.get('scorecam_maps'),
                                      shap_evaluations=settings['shap'])
    skipped = {f'eli5-gradcam {METHOD_TITLES[name]}'
               for name in settings.get('skip', {}).get(suite.name, ())}
    return {name: explain for name, explain in contenders.items() if name not in skipped}


SUITE_TITLES = {
    'imagenet': 'EfficientNet-Lite0 (ImageNet weights) on scikit-image photos and composites',
    'shapes': 'CNN trained on the generated localisation set (24x24, plus vs square)',
    'digits': "CNN trained on scikit-learn's 8x8 digits",
    'text': 'Review classifier (Embedding, Conv1d) on generated reviews',
}


def _case_order(case: Tuple[str, str]) -> Tuple[str, int]:
    name = case[0]
    return ('', int(name[1:])) if name.startswith('#') else (name, 0)


def _report(results: Dict[str, List[Dict[str, Any]]], settings: Dict[str, Any],
            header: Dict[str, Any], notes: Dict[str, List[str]]) -> str:
    lines = ['# Quality comparison: Grad-CAM vs LIME vs SHAP', '',
             'Generated by `bench/quality.py`; do not edit by hand.', '',
             f'* command: `{header["command"]}`',
             f'* machine: {header["machine"]}',
             f'* versions: ' + ', '.join(f'{k} {v}' for k, v in header['versions'].items()),
             '* computed over these invocations (later ones add the contenders that were '
             f'missing and reuse the cached rest): {_runs_text(header)}',
             f'* entries by the commit that computed them: {_by_commit(results, header)}',
             f'* settings: deletion/insertion steps {settings["steps"]}, ROAD percentages '
             f'{settings["road"]}, LIME {settings["lime"]} samples, SHAP {settings["shap"]} '
             'evaluations', '']
    all_findings: List[str] = []
    all_targets: List[str] = []
    for name, entries in results.items():
        table = aggregate(entries)
        cases = sorted({(e['case'], e['target']) for e in entries}, key=_case_order)
        lines += [f'## {name}: {SUITE_TITLES[name]}', '',
                  'Documents (target): ' + ', '.join(f'{c} ({t})' for c, t in cases), '',
                  markdown_tables(table), '', *notes.get(name, []), '']
        all_findings += findings(table, name)
        all_targets += targets(table, name)
    lines += ['## The issue\'s targets (reported, not asserted)', '', *all_targets, '',
              '## Findings, from the numbers above', '', *all_findings]
    return '\n'.join(lines) + '\n'


def _docs_include(results: Dict[str, List[Dict[str, Any]]], header: Dict[str, Any],
                  notes: Dict[str, List[str]]) -> str:
    """The tables and the targets for docs/metrics.rst (generated, committed)."""
    parts = ['.. Generated by bench/quality.py; do not edit by hand.', '',
             f'Measured with ``{header["command"]}`` on {header["machine"]}; '
             f'{_runs_text(header)}; versions: '
             + ', '.join(f'{k} {v}' for k, v in header['versions'].items()) + '.', '']
    target_lines: List[str] = []
    for name, entries in results.items():
        table = aggregate(entries)
        parts += [rst_table(table, SUITE_TITLES[name]), '', *notes.get(name, []), '']
        target_lines += targets(table, name)
    parts += ['The issue\'s targets, read off these tables (reported, not asserted):', '',
              *target_lines, '']
    return '\n'.join(parts)


def _previous_runs() -> List[Dict[str, Any]]:
    """The invocations behind the cached entries, from the last full report."""
    path = HERE / 'QUALITY.json'
    if not path.exists():
        return []
    header = json.loads(path.read_text())['header']
    if 'runs' in header:
        return list(header['runs'])
    total = sum(len(rows) for rows in json.loads(path.read_text())['results'].values())
    return [{'commit': header['versions']['commit'], 'computed': total,
             'wall_s': header['wall_s'], 'load': header['load']}]


def _runs_text(header: Dict[str, Any]) -> str:
    """'commit c: n entries in m min (load a / b); ...' for the report headers."""
    runs = header.get('runs') or [{'commit': header['versions']['commit'], 'computed': None,
                                    'wall_s': header['wall_s'], 'load': header['load']}]
    return '; '.join(f'commit {run["commit"]}: '
                     + (f'{run["computed"]} entries ' if run['computed'] is not None else '')
                     + f'in {run["wall_s"] / 60:.1f} min (load average {run["load"]}, '
                     'start / end)' for run in runs)


def _by_commit(results: Dict[str, List[Dict[str, Any]]], header: Dict[str, Any]) -> str:
    """How many entries each commit computed (entries without one: the first run's)."""
    runs = header.get('runs') or [{'commit': header['versions']['commit']}]
    counts: Dict[str, int] = {}
    for rows in results.values():
        for entry in rows:
            commit = entry.get('commit', runs[0]['commit'])
            counts[commit] = counts.get(commit, 0) + 1
    return ', '.join(f'{commit}: {count}' for commit, count in counts.items())


def _rounded(value: Any, digits: int = 6) -> Any:
    """Floats to 6 significant digits (curves: 4), for a JSON file of a reasonable size."""
    if isinstance(value, float):
        return float(f'{value:.{digits}g}')
    if isinstance(value, dict):
        return {key: _rounded(item, digits) for key, item in value.items()}
    if isinstance(value, list):
        return [_rounded(item, 4) for item in value]
    return value


def _write(results: Dict[str, List[Dict[str, Any]]], settings: Dict[str, Any],
           header: Dict[str, Any], suites: List[Any], quick: bool) -> None:
    """QUALITY.md and .json; for a full run also the docs' tables and curves."""
    notes = {suite.name: suite_notes(suite, aggregate(results[suite.name]), results[suite.name])
             for suite in suites if suite.name in results}
    suffix = '-quick' if quick else ''
    (HERE / f'QUALITY{suffix}.md').write_text(_report(results, settings, header, notes))
    (HERE / f'QUALITY{suffix}.json').write_text(json.dumps(_rounded(
        {'header': header, 'settings': settings, 'results': results})) + '\n')
    if not quick:
        (ROOT / 'docs' / 'metrics_results.inc').write_text(
            _docs_include(results, header, notes))
    if 'imagenet' in results:
        target = (ROOT / 'docs' / 'images' / 'quality_curves.png' if not quick
                  else HERE / '.quality-cache' / 'quality_curves-quick.png')
        target.parent.mkdir(parents=True, exist_ok=True)
        plot_curves(results['imagenet'], str(target),
                    'EfficientNet-Lite0: mean deletion and insertion curves')


def main(argv: Any = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true', help='smoke run (CI)')
    parser.add_argument('--fresh', action='store_true', help='discard cached results')
    parser.add_argument('--suites', nargs='*', default=[],
                        help='only these suites (imagenet shapes digits text)')
    parser.add_argument('--report-only', action='store_true',
                        help='re-render the reports from bench/QUALITY.json, computing nothing')
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    mode = 'quick' if args.quick else 'full'
    suites = _suites(args.quick, args.suites)
    if args.report_only:
        saved = json.loads((HERE / f'QUALITY{"-quick" if args.quick else ""}.json').read_text())
        _write(saved['results'], saved['settings'], saved['header'], suites, args.quick)
        return
    settings = SETTINGS[mode]
    started, load_start = time.time(), os.getloadavg()[0]
    cache = Cache(HERE / '.quality-cache' / f'{mode}.jsonl', fresh=args.fresh or args.quick)
    results = {suite.name: run_suite(suite, _contenders(suite, settings), settings, cache)
               for suite in suites}
    runs = [] if args.fresh or args.quick else _previous_runs()
    if cache.added or not runs:
        runs.append({'commit': _commit(), 'computed': cache.added,
                     'wall_s': time.time() - started,
                     'load': f'{load_start:.1f} / {os.getloadavg()[0]:.1f}'})
    header = {'command': 'python bench/quality.py' + (' --quick' if args.quick else ''),
              'machine': f'{platform.platform()}, {os.cpu_count()} CPUs (shared), '
                         'torch threads 1, no GPU',
              'versions': _versions(), 'runs': runs}
    _write(results, settings, header, suites, args.quick)
    print(f'[quality] wrote the reports in {(time.time() - started) / 60:.1f} min')
    errors = [e['key'] + ': ' + e['error'] for rows in results.values() for e in rows
              if 'error' in e]
    if errors and args.quick:          # the smoke run fails on any contender's error
        raise SystemExit('[quality] contenders failed:\n' + '\n'.join(errors))


if __name__ == '__main__':
    main()
