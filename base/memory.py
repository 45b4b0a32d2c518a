"""This process's own peak resident memory, for the benchmarks and the memory test.

``getrusage``'s ``ru_maxrss`` is not that on Linux: a process started from a big parent
(``subprocess`` forks or vforks, then execs) keeps the parent's resident size at the start
as its own peak. ``VmHWM`` in ``/proc/self/status`` is the peak of the process's own
memory since its exec.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path

_STATUS = Path("/proc/self/status")


def peak_rss_mb() -> float:
    """Peak resident set size of this process since it started, MB (``VmHWM``; where there
    is no /proc, ``ru_maxrss``)."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss / 2**20 if sys.platform == "darwin" else maxrss / 1024  # bytes on macOS
