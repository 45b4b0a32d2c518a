"""The peak memory the benchmarks and the memory test report is the measured process's own,
not that of the big process it was started from."""

import subprocess
import sys
from pathlib import Path

from base.memory import peak_rss_mb

REPO_ROOT = Path(__file__).resolve().parent.parent
CHILD = "from base.memory import peak_rss_mb; print(peak_rss_mb())"


def test_a_child_of_a_big_process_reports_its_own_peak():
    held = bytearray(600 << 20)  # 600 MB, every page touched
    held[::4096] = b"x" * len(held[::4096])
    assert peak_rss_mb() > 600
    child = subprocess.run([sys.executable, "-c", CHILD], cwd=REPO_ROOT, capture_output=True,
                           text=True, check=True)
    del held
    assert 5 < float(child.stdout) < 300, child.stdout
