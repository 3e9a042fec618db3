"""Interleaved timing: every contender once per round, medians and ratios."""
from __future__ import annotations

import gc
import os
import statistics
import time
from typing import Callable, Dict, List, Optional

__all__ = ['interleaved', 'rss_mib']


def rss_mib() -> float:
    """Resident set size of this process, MiB."""
    import psutil
    return psutil.Process(os.getpid()).memory_info().rss / 2 ** 20


def interleaved(contenders: Dict[str, Callable[[], object]], rounds: int,
                warmup: int = 2) -> Dict[str, Dict[str, Optional[float]]]:
    """Time each contender ``rounds`` times, interleaved, after ``warmup`` rounds.

    The order rotates by one every round (A B C, B C A, C A B, ...), so no
    contender always runs right after the same other one (allocator and cache
    state left by a heavy contender would otherwise favour or penalise the
    next one in every round).

    A contender that raises is reported with its error and left out of later
    rounds.  Returns ``{name: {'median_ms', 'min_ms', 'error'}}``.
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
    results: Dict[str, Dict[str, Optional[float]]] = {}
    for name in contenders:
        values = samples[name]
        results[name] = {'median_ms': statistics.median(values) if values else None,
                         'min_ms': min(values) if values else None,
                         'error': errors.get(name)}  # type: ignore[dict-item]
    return results
