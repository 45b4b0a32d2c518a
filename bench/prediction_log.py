"""Request-path cost of PredictionLog.record(), and the writer's flush throughput.

    python bench/prediction_log.py [--calls 100000]

Times ``record()`` per call (mean over a tight loop, p99 of individually timed calls)
against, as the baseline, a bare ``deque.append`` of a tuple of the same arguments, and
prints the ratio. Then flushes the buffered rows (JSON encoding + one Delta commit) and
prints rows/s. Writes to a lake in a temporary folder; the writer thread is not started.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lake.delta_tables import Lake  # noqa: E402
from serving.services.predictions import PredictionLog  # noqa: E402

INPUTS = {"hotel": "City Hotel", "lead_time": 42, "adr": 98.5, "market_segment": "Online TA",
          "arrival_date": "2024-05-01", "stays_in_week_nights": 3}
OUTPUTS = {"probability": 0.27, "label": False}


def timings(fn, calls: int) -> tuple[float, float]:
    """(mean µs from one tight loop, p99 µs of individually timed calls)."""
    t = time.perf_counter()
    for _ in range(calls):
        fn()
    mean = (time.perf_counter() - t) / calls * 1e6
    samples = []
    for _ in range(calls):
        t = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - t)
    samples.sort()
    return mean, samples[int(0.99 * (calls - 1))] / 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=100_000)
    calls = parser.parse_args().calls

    buf: deque = deque()
    row = ("0" * 32, time.time_ns(), "cancellation", "3", "/predict/churn", "req-1", "frontdesk",
           INPUTS, OUTPUTS, 1.5)
    base = timings(lambda: buf.append(row), calls)

    home = Path(tempfile.mkdtemp(prefix="innsight-bench-"))
    log = PredictionLog(Lake(str(home / "lake")), home / "serving" / "predictions_spool",
                        batch_rows=10**9)
    rec = timings(lambda: log.record(model="cancellation", version="3", endpoint="/predict/churn",
                                     inputs=INPUTS, outputs=OUTPUTS, latency_ms=1.5,
                                     correlation_id="req-1", client="frontdesk"), calls)
    print(f"{'':24}{'mean µs':>10}{'p99 µs':>10}")
    print(f"{'deque.append (baseline)':24}{base[0]:10.3f}{base[1]:10.3f}")
    print(f"{'PredictionLog.record':24}{rec[0]:10.3f}{rec[1]:10.3f}")
    print(f"ratio record/baseline: mean {rec[0] / base[0]:.1f}x, p99 {rec[1] / base[1]:.1f}x")

    rows = log.pending
    t = time.perf_counter()
    log.flush()  # the table is created by the first commit: a second, timed alone
    first = time.perf_counter() - t
    for _ in range(rows // 2):
        log.record(model="cancellation", version="3", endpoint="/predict/churn", inputs=INPUTS,
                   outputs=OUTPUTS, latency_ms=1.5, correlation_id="req-1", client="frontdesk")
    t = time.perf_counter()
    n = log.flush()
    second = time.perf_counter() - t
    print(f"flush: {rows:,} rows in {first:.2f} s (creates the table): {rows / first:,.0f} rows/s;"
          f" {n:,} rows in {second:.2f} s: {n / second:,.0f} rows/s")


if __name__ == "__main__":
    main()
