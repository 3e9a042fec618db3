"""The Ray Data runner: 2 workers vs 1, and the Ray path vs in-process explain_predictions.

    python bench/ray_bench.py            # 256 images of 160 x 160, 3 rounds, writes bench/RAY.md
    python bench/ray_bench.py --images 64 --rounds 1 --memory-images 0 --out /tmp/q.md  # smoke

One process, one local Ray instance (``ray.init(num_cpus=2)``).  Each round
runs, in rotating order:

1. in-process: ``explain_predictions(model, images, batch_size=32)``, torch
   pinned to 1 thread (after one warm-up batch);
2. ``explain_dataset`` with 1 worker, and with 2 workers (1 CPU, 1 torch
   thread each), same images, batch 32.

Ratios are paired within a round (the runs of a round are minutes apart at
most) and the median over rounds is reported.  A Ray run has a start-up (an
actor process per worker imports eli5, which imports Keras and TensorFlow
when installed, then builds the model) that a long job pays once; it is
reported apart.  Measured per Ray run:

* span: from the first forward pass any worker starts (the bench model
  reports it to a named actor) to the last output row at the driver;
* steady state: the median time between the starts of a worker's
  consecutive batches (whole batches: decode, passes, heatmaps, Arrow rows,
  Ray's hand-over), and the same interval in the worker's CPU time;
* the driver's CPU time, and worker memory: the RSS of every worker process
  sampled every 0.2 s from outside (psutil), at 0/25/50/75/100% of the run and
  its peak; a last, longer 1-worker run (``--memory-images``) shows whether it
  stays flat.

This machine schedules CPU fairly between sessions (Linux autogroup) and is
shared: wall times, and how much a second worker adds, depend on what the
other sessions run (the load average is recorded); CPU time per batch
depends on it much less.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

os.environ.setdefault('OMP_NUM_THREADS', '1')
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import psutil  # noqa: E402
import ray  # noqa: E402
import torch  # noqa: E402

import torch_models  # noqa: E402

CLOCK = 'eli5-gradcam-bench-clock'

#: Where in a run worker memory is reported (share of the samples).
MEMORY_POINTS = {'first_mib': 0.0, 'q25_mib': 0.25, 'q50_mib': 0.5, 'q75_mib': 0.75,
                 'last_mib': 1.0}


@ray.remote(num_cpus=0)
class Clock:
    """Start of every forward pass: worker pid, wall clock, the worker's CPU time."""

    def __init__(self) -> None:
        self.starts: List[Tuple[int, float, float]] = []

    def started(self, pid: int, when: float, cpu: float) -> None:
        self.starts.append((pid, when, cpu))

    def reset(self) -> None:
        self.starts = []

    def get(self) -> List[Tuple[int, float, float]]:
        return list(self.starts)


class Reported(torch.nn.Module):
    """The bench ResNet-50; each forward reports its start time to :data:`CLOCK`."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = torch_models.resnet50()
        self.clock = ray.get_actor(CLOCK) if ray.is_initialized() else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.clock is not None:
            self.clock.started.remote(os.getpid(), time.time(), time.process_time())
        return self.inner(x)


def reported_resnet50() -> torch.nn.Module:
    """The model factory of the Ray runs."""
    return Reported()


class WorkerMemory:
    """Samples the RSS of Ray's ExplainWorker actor processes in a thread.

    The process list is scanned for ExplainWorker processes once a second
    (actors of the previous run may still be exiting, new ones starting);
    the RSS of those found is read every ``every`` seconds, so the sampler
    takes little of the CPU it measures.
    """

    def __init__(self, every: float = 0.2) -> None:
        self.every = every
        self.samples: Dict[int, List[Tuple[float, float, float]]] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.driver = psutil.Process()
        self.driver_cpu_s = 0.0

    def _find(self) -> None:
        for process in psutil.process_iter(['pid', 'cmdline']):
            if 'ExplainWorker' in ' '.join(process.info['cmdline'] or []):
                self.samples.setdefault(process.info['pid'], [])

    def _run(self) -> None:
        last_scan = 0.0
        while not self.stop.is_set():
            if time.time() - last_scan >= 1.0:
                self._find()
                last_scan = time.time()
            for pid, samples in self.samples.items():
                try:
                    memory = psutil.Process(pid).memory_info()
                except psutil.Error:
                    continue
                samples.append((time.time(), memory.rss / 2 ** 20,
                                (memory.rss - memory.shared) / 2 ** 20))
            self.stop.wait(self.every)

    def __enter__(self) -> 'WorkerMemory':
        times = self.driver.cpu_times()
        self.driver_cpu_s = -(times.user + times.system)
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        self.thread.join()
        times = self.driver.cpu_times()
        self.driver_cpu_s += times.user + times.system

    def report(self, since: float) -> List[Dict[str, float]]:
        """Per worker: memory (MiB) from the first sample after ``since`` to the last.

        Two rows per worker: ``rss`` (resident set, which counts the pages of
        Ray's shared-memory object store the worker has touched: the input
        blocks it read, the output blocks it wrote) and ``private`` (RSS minus shared pages: the process's own heap).
        ``first``, ``q25``, ``q50``, ``q75``, ``last``: the samples at 0, 25, 50,
        75 and 100% of the way through the run; ``peak``: the largest.
        """
        rows = []
        for pid, samples in sorted(self.samples.items()):
            for kind, column in (('rss', 1), ('private', 2)):
                running = [sample[column] for sample in samples if sample[0] >= since]
                if running:
                    at = {name: round(running[int(round(share * (len(running) - 1)))], 1)
                          for name, share in MEMORY_POINTS.items()}
                    rows.append({'pid': pid, 'kind': kind, **at,
                                 'peak_mib': round(max(running), 1), 'samples': len(running)})
        return rows


def in_process(docs: np.ndarray, batch_size: int) -> Dict[str, float]:
    """explain_predictions over ``docs`` in this process (1 thread): total and per batch."""
    import eli5_gradcam
    model = torch_models.resnet50()
    list(eli5_gradcam.explain_predictions(model, docs[:batch_size], batch_size=batch_size,
                                          progress=False))            # warm-up
    marks, cpu = [time.perf_counter()], [time.process_time()]
    explanations = eli5_gradcam.explain_predictions(model, docs, batch_size=batch_size,
                                                    progress=False)
    for number, _ in enumerate(explanations, 1):
        if number % batch_size == 0 or number == len(docs):
            marks.append(time.perf_counter())
            cpu.append(time.process_time())
    return {'total_s': marks[-1] - marks[0],
            'batch_s': statistics.median(np.diff(marks).tolist()),
            'cpu_batch_s': statistics.median(np.diff(cpu).tolist())}


def _steady(starts: List[Tuple[int, float, float]], batch_size: int) -> Dict[str, Any]:
    """Per worker: the median time between the starts of its forward passes.

    The first forward of a worker traces the model to choose the layer, the
    next starts its first batch: intervals from there on are whole batches
    (decode, passes, heatmaps, rows, Ray's hand-over), start-up excluded.
    """
    per_worker: Dict[int, List[Tuple[float, float]]] = {}
    for pid, when, cpu in sorted(starts, key=lambda start: start[1]):
        per_worker.setdefault(pid, []).append((when, cpu))
    batch_s, cpu_s = {}, {}
    for pid, marks in per_worker.items():
        if len(marks) >= 3:
            batch_s[pid] = statistics.median(np.diff([m[0] for m in marks[1:]]).tolist())
            cpu_s[pid] = statistics.median(np.diff([m[1] for m in marks[1:]]).tolist())
    first = min((marks[1][0] for marks in per_worker.values() if len(marks) > 1), default=0.0)
    # how the batches were shared: each worker's count, and when its first batch started
    share = {pid: (len(marks) - 1, marks[1][0] - first if len(marks) > 1 else None)
             for pid, marks in per_worker.items()}
    return {'worker_batch_s': batch_s, 'worker_cpu_batch_s': cpu_s, 'worker_share': share,
            'steady_images_per_s': sum(batch_size / value for value in batch_s.values())}


def on_ray(docs: np.ndarray, workers: int, batch_size: int, clock: Any) -> Dict[str, Any]:
    """One explain_dataset run: span, steady state, end-to-end wall, worker memory."""
    from eli5_gradcam.ray import explain_dataset
    ray.get(clock.reset.remote())
    dataset = ray.data.from_items([{'id': i, 'doc': docs[i]} for i in range(len(docs))])
    explained = explain_dataset(dataset, reported_resnet50, num_workers=workers,
                                batch_size=batch_size)
    rows, errors, last = 0, 0, 0.0
    start = time.time()
    with WorkerMemory() as memory:
        for batch in explained.iter_batches(batch_size=None, batch_format='pyarrow'):
            rows += batch.num_rows
            errors += batch.num_rows - batch.column('error').null_count
            last = time.time()
    starts = ray.get(clock.get.remote())
    first_forward = min(start[1] for start in starts)
    assert rows == len(docs) and errors == 0, (rows, errors)
    return {'workers': workers, 'span_s': last - first_forward, 'end_to_end_s': last - start,
            'startup_s': first_forward - start, **_steady(starts, batch_size),
            'memory': memory.report(first_forward), 'driver_cpu_s': memory.driver_cpu_s}


def _versions() -> str:
    import eli5
    import pyarrow
    return (f'ray {ray.__version__}, pyarrow {pyarrow.__version__}, torch {torch.__version__}, '
            f'eli5 {eli5.__version__}, numpy {np.__version__}')


def _ratios(round_: Dict[str, Any]) -> Dict[str, float]:
    """The paired comparisons of one round (every run of it at about the same moment)."""
    local, one, two = round_['in_process'], round_['ray'][1], round_['ray'][2]
    worker_batch = statistics.median(one['worker_batch_s'].values())
    return {'span_2v1': one['span_s'] / two['span_s'],
            'steady_2v1': two['steady_images_per_s'] / one['steady_images_per_s'],
            'end_to_end_2v1': one['end_to_end_s'] / two['end_to_end_s'],
            'overhead_span': one['span_s'] / local['total_s'] - 1,
            'overhead_steady': worker_batch / local['batch_s'] - 1,
            'overhead_cpu': statistics.median(one['worker_cpu_batch_s'].values()) /
            local['cpu_batch_s'] - 1}


RATIO_LABELS = {
    'span_2v1': '2 workers vs 1, throughput over the run (span)',
    'steady_2v1': '2 workers vs 1, steady-state throughput (batch intervals)',
    'end_to_end_2v1': '2 workers vs 1, end-to-end (start-up included)',
    'overhead_span': 'Ray (1 worker) vs in-process, per-image time over the run (span)',
    'overhead_steady': 'Ray (1 worker) vs in-process, per-batch time (steady state)',
    'overhead_cpu': 'Ray (1 worker) vs in-process, CPU seconds per batch (worker process)',
}


def _run_rows(results: Dict[str, Any]) -> List[str]:
    images = results['images']
    lines = ['| round | run | span s | images / s | steady images / s | batch s (per worker) | '
             'CPU s per batch | batches (first at s) | end-to-end s | start-up s | '
             'driver CPU s |',
             '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|']
    for number, round_ in enumerate(results['rounds'], 1):
        local = round_['in_process']
        lines.append(f"| {number} | in-process | {local['total_s']:.2f} | "
                     f"{images / local['total_s']:.2f} | {results['batch_size'] / local['batch_s']:.2f} "
                     f"| {local['batch_s']:.2f} | {local['cpu_batch_s']:.2f} | | | | |")
        for workers in (1, 2):
            run = round_['ray'][workers]
            batches = ', '.join(f'{value:.2f}' for value in run['worker_batch_s'].values())
            cpus = ', '.join(f'{value:.2f}' for value in run['worker_cpu_batch_s'].values())
            share = ', '.join(f'{count} ({start:.1f})' if start is not None else f'{count}'
                              for count, start in run.get('worker_share', {}).values())
            lines.append(f"| {number} | {workers} worker{'s' if workers > 1 else ''} | "
                         f"{run['span_s']:.2f} | {images / run['span_s']:.2f} | "
                         f"{run['steady_images_per_s']:.2f} | {batches} | {cpus} | {share} | "
                         f"{run['end_to_end_s']:.2f} | {run['startup_s']:.2f} | "
                         f"{run['driver_cpu_s']:.1f} |")
    return lines


def _markdown(results: Dict[str, Any]) -> str:
    lines = [
        '# Ray Data runner benchmark (`bench/ray_bench.py`)', '',
        f"- Command: `{results['command']}`",
        f"- Machine: {results['machine']}; load average before the run: {results['load']}",
        f"- Versions: {results['versions']}",
        f"- Work: {results['images']} images of 3x{results['side']}x{results['side']}, "
        'ResNet-50 (random weights, '
        'bench/torch_models.py), top target, Grad-CAM on the automatic layer, batch '
        f"{results['batch_size']}; `ray.init(num_cpus=2)`; 1 CPU and 1 torch thread per "
        'worker; in-process: torch pinned to 1 thread. Each round runs in-process, 1 worker '
        'and 2 workers (order rotating); ratios are paired within a round.',
        '- Span: from the first forward pass any worker starts to the last output row at the '
        "driver (excludes the actors' start-up, which end-to-end includes). Steady state: the "
        'median time between the starts of consecutive batches of each worker. CPU s per '
        'batch: the same interval in process CPU time (user + system) of the worker, or of '
        'this process per batch in-process; on a shared machine wall time depends on what '
        'else runs (see the load average), CPU time much less. Batches (first at s): how '
        'many batches each worker explained, and when its first one started, seconds after '
        'the first worker\'s.', '',
        '| comparison | median over rounds | rounds |', '|---|---:|---|']
    ratios = [_ratios(round_) for round_ in results['rounds']]
    for key, label in RATIO_LABELS.items():
        values = [r[key] for r in ratios]
        shown = (lambda v: f'{100 * v:+.1f}%') if key.startswith('overhead') else (
            lambda v: f'{v:.2f}x')
        lines.append(f'| {label} | **{shown(statistics.median(values))}** | '
                     f"{', '.join(shown(v) for v in values)} |")
    lines += ['', '## Runs', ''] + _run_rows(results)
    lines += ['', '## Worker memory (MiB, sampled every 0.2 s from the first forward pass '
              'to the end of the run)', '',
              'rss: the resident set, which includes the pages of Ray\'s shared-memory object '
              'store the worker touched (the input blocks it read, the output blocks it wrote); '
              'private: rss minus shared pages, the process\'s own memory.', '',
              '| run | worker pid | memory | first | 25% | 50% | 75% | last | peak | samples |',
              '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|']
    runs = [(f"round {number}, {workers} worker{'s' if workers > 1 else ''}",
             round_['ray'][workers]) for number, round_ in enumerate(results['rounds'], 1)
            for workers in (1, 2)]
    if results.get('memory_run'):
        long = results['memory_run']
        runs.append((f"long run: {long['images']} images, 1 worker", long))
    for label, run in runs:
        for worker in run['memory']:
            lines.append(f"| {label} | {worker['pid']} | {worker['kind']} | " + ' | '.join(
                str(worker[name]) for name in MEMORY_POINTS) +
                f" | {worker['peak_mib']} | {worker['samples']} |")
    return '\n'.join(lines) + '\n'


def _round(number: int, docs: np.ndarray, batch_size: int, clock: Any) -> Dict[str, Any]:
    runs: Dict[str, Any] = {'ray': {}}
    order = ['in_process', 1, 2]
    for name in order[number % 3:] + order[:number % 3]:
        if name == 'in_process':
            runs['in_process'] = in_process(docs, batch_size)
        else:
            runs['ray'][name] = on_ray(docs, int(name), batch_size, clock)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--images', type=int, default=256)
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--side', type=int, default=160, help='image side in pixels')
    parser.add_argument('--memory-images', type=int, default=1024,
                        help='images of the long 1-worker run for memory (0: none)')
    parser.add_argument('--out', default=str(HERE / 'RAY.md'))
    args = parser.parse_args()
    torch.set_num_threads(1)
    from ray import cloudpickle
    cloudpickle.register_pickle_by_value(torch_models)
    docs = np.random.default_rng(0).normal(
        size=(args.images, 3, args.side, args.side)).astype(np.float32)
    load = ', '.join(f'{value:.2f}' for value in os.getloadavg())
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    clock = Clock.options(name=CLOCK).remote()
    try:
        results: Dict[str, Any] = {
            'command': ' '.join(['python bench/ray_bench.py'] + sys.argv[1:]),
            'machine': f'{platform.machine()}, {psutil.cpu_count()} CPU cores, '
                       f'{psutil.virtual_memory().total / 2 ** 30:.0f} GiB, '
                       f'CPython {platform.python_version()}',
            'load': load, 'versions': _versions(), 'images': args.images, 'side': args.side,
            'batch_size': args.batch_size,
            'rounds': [_round(number, docs, args.batch_size, clock)
                       for number in range(args.rounds)]}
        if args.memory_images:
            many = np.resize(docs, (args.memory_images,) + docs.shape[1:])
            results['memory_run'] = {'images': args.memory_images,
                                     **on_ray(many, 1, args.batch_size, clock)}
    finally:
        ray.shutdown()
    text = _markdown(results)
    Path(args.out).write_text(text, encoding='utf-8')
    Path(args.out).with_suffix('.json').write_text(json.dumps(results, indent=1, default=str),
                                                   encoding='utf-8')
    print(text)


if __name__ == '__main__':
    main()
