"""Shared by the benches: time a call, and the p50 / p99 of its samples in milliseconds."""

from __future__ import annotations

import time

import numpy as np


def percentiles(samples_s: list[float]) -> tuple[float, float]:
    """p50 and p99 of samples in seconds, in milliseconds."""
    ms = np.asarray(samples_s) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def timed(fn, reads: int, warmup: int = 0) -> list[float]:
    """Seconds per call of ``fn()``, ``reads`` times after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(reads):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out
