"""A 10M-row bookings export is ingested within 2 GB of peak memory (issue 15): the file
is read, checked and staged in batches, so memory follows a batch, not the file. So is a
corrected export of it ingested after it: only the rows it changes are written, and the
merge reads only the files that can hold them.

It takes minutes and needs the files, so the suite skips it; the benchmark runs it
(``bench/ingest_throughput.py --memory-test``), or by hand:

    INNSIGHT_MEMORY_TEST_FILE=/tmp/innsight-bench-cache/chain-10000000-seed7/export/pms/bookings_export.csv \\
    INNSIGHT_MEMORY_TEST_CORRECTED=/tmp/innsight-bench-cache/chain-10000000-seed7/corrected/pms/bookings_export_0.01.csv \\
        .venv/bin/pytest -q -n 0 tests/lake/test_ingest_memory.py
"""

import os
import subprocess
import sys
import textwrap

import pytest

from base.settings import REPO_ROOT

FILE = os.environ.get("INNSIGHT_MEMORY_TEST_FILE")
CORRECTED = os.environ.get("INNSIGHT_MEMORY_TEST_CORRECTED")
LIMIT_MB = 2048

pytestmark = [pytest.mark.memory,
              pytest.mark.skipif(not FILE, reason="set INNSIGHT_MEMORY_TEST_FILE to a 10M-row "
                                                  "export (bench/ingest_throughput.py --memory-test)")]

# The ingest runs in a child of its own: its peak resident memory is the ingest's alone.
CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from base.memory import peak_rss_mb
    from base.settings import Settings
    from lake.ingest import LandingZone

    zone = LandingZone.from_settings(Settings(home=Path(sys.argv[1])))
    for path in sys.argv[2:]:
        result = zone.ingest(Path(path))
        print(result.rows_read, result.rows_loaded, result.rows_updated,
              round(peak_rss_mb()))
""")


def _ingest(home, *files) -> list[list[int]]:
    child = subprocess.run([sys.executable, "-c", CHILD, str(home), *files], cwd=REPO_ROOT,
                           capture_output=True, text=True, timeout=1800)
    assert child.returncode == 0, child.stderr[-3000:]
    return [list(map(int, line.split())) for line in child.stdout.split("\n") if line.strip()]


def test_a_10m_row_file_is_ingested_within_2_gb(tmp_path):
    [(read, loaded, _, peak_mb)] = _ingest(tmp_path, FILE)
    assert read >= 10_000_000 and loaded > 0.99 * read
    assert peak_mb <= LIMIT_MB, f"peak {peak_mb:,} MB for {read:,} rows"


@pytest.mark.skipif(not CORRECTED, reason="set INNSIGHT_MEMORY_TEST_CORRECTED to a corrected "
                                          "export of the same file")
def test_a_corrected_10m_row_export_is_ingested_after_it_within_2_gb(tmp_path):
    (read, _, _, _), (again, _, updated, peak_mb) = _ingest(tmp_path, FILE, CORRECTED)
    assert again >= 10_000_000 and 0 < updated < again
    assert peak_mb <= LIMIT_MB, f"peak {peak_mb:,} MB after {read + again:,} rows"
