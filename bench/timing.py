"""Median timings on one core, with the contenders interleaved so machine noise hits them alike."""

from __future__ import annotations

import gc
import os
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Timing:
    """Median over the repeats. `cpu_ms` is what the ratios use: on a pinned core it equals the wall
    time of an idle machine, and unlike wall time it does not grow when other processes take the core."""

    cpu_ms: float
    wall_ms: float
    repeats: int


def pin_to_one_core() -> str:
    """Run on a single core, as Lambda gives a single-threaded function; returns what was done, for the report."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (sched_setaffinity unavailable on this OS)"
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return f"pinned to core {core}"


def time_interleaved(
    contenders: Mapping[str, Callable[[], object]], repeats: int, warmup: int = 1
) -> dict[str, Timing]:
    """Run each contender `warmup` times unmeasured, then `repeats` rounds of one call each, in turn."""
    for _ in range(warmup):
        for run in contenders.values():
            run()
    cpu: dict[str, list[float]] = {name: [] for name in contenders}
    wall: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, run in contenders.items():
            gc.collect()
            cpu_start, wall_start = time.process_time(), time.perf_counter()
            run()
            wall[name].append(time.perf_counter() - wall_start)
            cpu[name].append(time.process_time() - cpu_start)
    return {
        name: Timing(
            cpu_ms=statistics.median(cpu[name]) * 1000,
            wall_ms=statistics.median(wall[name]) * 1000,
            repeats=repeats,
        )
        for name in contenders
    }
