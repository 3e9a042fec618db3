"""Interleaved timing: every contender once per round, medians and ratios."""
from __future__ import annotations

import gc
import os
import random
import statistics
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

__all__ = ['interleaved', 'paired_ratio', 'rss_mib']


def rss_mib() -> float:
    """Resident set size of this process, MiB."""
    import psutil
    return psutil.Process(os.getpid()).memory_info().rss / 2 ** 20


def interleaved(contenders: Dict[str, Callable[[], object]], rounds: int,
                warmup: int = 2) -> Dict[str, Dict[str, Any]]:
    """Time each contender ``rounds`` times, interleaved, after ``warmup`` rounds.

    The order rotates by one every round (A B C, B C A, C A B, ...), so no
    contender always runs right after the same other one (allocator and cache
    state left by a heavy contender would otherwise favour or penalise the
    next one in every round).

    A contender that raises is reported with its error and left out of later
    rounds.  Returns ``{name: {'median_ms', 'min_ms', 'error', 'samples_ms'}}``;
    ``samples_ms[i]`` is round ``i`` (after warm-up), for :func:`paired_ratio`.
    """
    samples: Dict[str, List[float]] = {name: [] for name in contenders}
    errors: Dict[str, str] = {}
    names = list(contenders)
    for round_number in range(warmup + rounds):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            run = contenders[name]
            if name in errors:
                continue
            gc.collect()
            start = time.perf_counter()
            try:
                run()
            except Exception as exc:  # noqa: BLE001 - a peer may fail in any way
                errors[name] = f'{type(exc).__name__}: {exc}'[:200]
                continue
            elapsed = (time.perf_counter() - start) * 1000.0
            if round_number >= warmup:
                samples[name].append(elapsed)
    results: Dict[str, Dict[str, Any]] = {}
    for name in contenders:
        values = samples[name]
        results[name] = {'median_ms': statistics.median(values) if values else None,
                         'min_ms': min(values) if values else None,
                         'error': errors.get(name),
                         'samples_ms': [round(value, 3) for value in values]}
    return results


def paired_ratio(numerator: Sequence[float], denominator: Sequence[float],
                 resamples: int = 2000, seed: int = 0
                 ) -> Optional[Tuple[float, float, float]]:
    """Median of the per-round ratios ``numerator[i] / denominator[i]``, with a
    95% bootstrap interval over rounds: ``(median, low, high)``.

    Two contenders timed in the same round ran seconds apart, so a slow
    spell of a shared machine (another process on the other core) slows
    both; the ratio within a round cancels most of it, where the ratio of
    two medians taken over different moments does not.  None when there are
    fewer than 3 complete rounds.
    """
    ratios = [a / b for a, b in zip(numerator, denominator) if b > 0]
    if len(ratios) < 3:
        return None
    generator = random.Random(seed)
    medians = sorted(statistics.median(generator.choices(ratios, k=len(ratios)))
                     for _ in range(resamples))
    return (statistics.median(ratios), medians[int(0.025 * resamples)],
            medians[int(0.975 * resamples) - 1])
