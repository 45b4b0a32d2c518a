"""The published marts file, as an analyst in another process sees it while builds publish.

The analyst is the DuckDB command line (``duckdb -readonly``), a process of its own: in the
test's own process DuckDB would hand a new read-only connection the database it already
has open, and the test would prove nothing about the file on disk.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from orchestration.warehouse.assets import publish

ROWS = 1_500_000
QUERY = "select count(*), sum(i), min(generation), max(generation) from t;"
COMPLETE_SUM = ROWS * (ROWS - 1) // 2


# Without the DuckDB CLI in the environment, a Python process of its own stands in: the
# same arguments, one read-only connection, CSV rows out, `.print X` echoed.
PYTHON_READER = """
import sys, duckdb
args = [a for a in sys.argv[1:] if a not in ("-readonly", "-csv", "-noheader")]
query = args[args.index("-c") + 1] if "-c" in args else None
try:
    con = duckdb.connect(args[0], read_only=True)
except duckdb.Error as exc:
    print(exc, flush=True); sys.exit(1)
def run(sql):
    try:
        for row in con.execute(sql).fetchall():
            print(",".join(str(v) for v in row), flush=True)
    except duckdb.Error as exc:
        print(exc, flush=True)
if query is not None:
    run(query); sys.exit(0)
for line in sys.stdin:
    if line.startswith(".print "):
        print(line[7:].strip(), flush=True)
    elif line.strip():
        run(line)
"""


def duckdb_cli() -> list[str]:
    cli = Path(sys.executable).parent / "duckdb"
    return [str(cli)] if cli.exists() else [sys.executable, "-c", PYTHON_READER]


def build_database(path: Path, generation: int) -> Path:
    """What dbt leaves in its build file: here one table whose every row carries the build's
    generation, so that a reader can tell a whole build from a mix or a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    con.execute(f"create table t as select {generation} as generation, range as i, "
                f"hash(range + {generation}) as h from range({ROWS})")
    con.close()
    return path


@dataclass
class Answer:
    started: float
    finished: float
    text: str

    @property
    def generation(self) -> int | None:
        """The generation of a complete answer; None for anything else (an error, a part)."""
        try:
            count, total, low, high = (int(v) for v in self.text.strip().split(","))
        except ValueError:
            return None
        return low if (count, total, low) == (ROWS, COMPLETE_SUM, high) else None


class HeldReader:
    """One analyst session: ``duckdb -readonly marts.duckdb`` kept open, queried again and again."""

    def __init__(self, path: Path):
        self.proc = subprocess.Popen([*duckdb_cli(), "-readonly", "-csv", "-noheader", str(path)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, bufsize=1)

    def ask(self) -> Answer:
        started = time.perf_counter()
        self.proc.stdin.write(QUERY + "\n.print END\n")
        self.proc.stdin.flush()
        lines = []
        while True:
            line = self.proc.stdout.readline()
            if not line or line.strip() == "END":
                break
            lines.append(line.strip())
        return Answer(started, time.perf_counter(), "\n".join(lines) or "<the session ended>")

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def open_and_read(path: Path) -> Answer:
    """A new analyst session for one query (opens the file as it is now)."""
    started = time.perf_counter()
    out = subprocess.run([*duckdb_cli(), "-readonly", "-csv", "-noheader", str(path), "-c", QUERY],
                         capture_output=True, text=True, timeout=60)
    return Answer(started, time.perf_counter(), (out.stdout + out.stderr).strip())


class Analyst(threading.Thread):
    """Reads the published file in a loop until stopped: in one held session, or in a new
    session per query."""

    def __init__(self, path: Path, held: bool):
        super().__init__(daemon=True)
        self.path, self.held = path, held
        self.answers: list[Answer] = []
        self.stop = threading.Event()
        self.session = HeldReader(path) if held else None

    def run(self) -> None:
        while not self.stop.is_set():
            self.answers.append(self.session.ask() if self.held else open_and_read(self.path))
        if self.session:
            self.session.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(folder: Path, published: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p != published)


@pytest.fixture
def warehouse(tmp_path) -> tuple[Path, Path]:
    """dbt's build file and the published file, in folders as the settings lay them out."""
    build = tmp_path / "warehouse" / "build" / "marts_build.duckdb"
    published = tmp_path / "warehouse" / "marts.duckdb"
    publish(build_database(build, 0), published)
    return build, published


def test_analysts_in_other_processes_always_read_a_whole_build_while_builds_publish(warehouse):
    build, published = warehouse
    assert open_and_read(published).generation == 0  # the CLI reads the published format

    held = Analyst(published, held=True)
    fresh = Analyst(published, held=False)
    held.start()
    fresh.start()
    publishes: list[tuple[float, float]] = []
    try:
        while not (held.answers and fresh.answers):  # both sessions are reading
            time.sleep(0.05)
        for generation in (1, 2, 3):
            build_database(build, generation)  # dbt rebuilding its private file
            started = time.perf_counter()
            publish(build, published)
            publishes.append((started, time.perf_counter()))
            # analysts read for a while: until a new session has opened the new file
            deadline = time.perf_counter() + 60
            while not any(a.started > publishes[-1][1] for a in list(fresh.answers)):
                assert time.perf_counter() < deadline, "the analyst stopped reading"
                time.sleep(0.05)
    finally:
        held.stop.set()
        fresh.stop.set()
        held.join(timeout=120)
        fresh.join(timeout=120)

    for analyst in (held, fresh):
        bad = [a.text for a in analyst.answers if a.generation is None]
        assert not bad, f"incomplete or failed answers: {bad[:3]}"
        # The analysts were reading during every publish, not only between them.
        for start, end in publishes:
            assert any(a.started < end and a.finished > start for a in analyst.answers), (start, end)
    # The session opened before the builds keeps the file it opened, whole, to the end.
    assert {a.generation for a in held.answers} == {0}
    # New sessions follow the publishes, never going back to an older build.
    seen = [a.generation for a in fresh.answers]
    assert seen == sorted(seen) and seen[-1] == 3 and len(set(seen)) >= 3, sorted(set(seen))
    assert open_and_read(published).generation == 3
    assert leftovers(published.parent, published) == ["build"]  # no temporary file


def corrupt_midway(build: Path) -> None:
    """A build file whose header and catalogue read, but whose data blocks do not: the copy
    starts (the temporary file exists) and fails part-way."""
    size = build.stat().st_size
    with build.open("r+b") as f:
        f.seek(size // 2)
        f.write(os.urandom(8192))


@pytest.mark.parametrize("failure", ["unreadable", "corrupt mid-copy", "missing"])
def test_a_failed_publish_leaves_the_previous_file_whole_and_no_temporary_file(warehouse, failure):
    build, published = warehouse
    before = digest(published)
    held = HeldReader(published)
    try:
        assert held.ask().generation == 0
        build_database(build, 1)
        if failure == "unreadable":
            build.write_bytes(b"not a database, whatever dbt left behind" * 1000)
        elif failure == "corrupt mid-copy":
            corrupt_midway(build)
            # it opens and lists its tables (so the copy starts), but its rows do not read
            # (DuckDB 2's own format: read by this interpreter's duckdb, in a process of its own)
            probe = subprocess.run([sys.executable, "-c", (
                "import sys, duckdb\n"
                "con = duckdb.connect(sys.argv[1], read_only=True)\n"
                "print(con.execute('select table_name from duckdb_tables()').fetchall())\n"
                "con.execute('select sum(i), sum(h) from t').fetchall()\n"), str(build)],
                capture_output=True, text=True, timeout=60)
            assert probe.stdout.strip() == "[('t',)]", probe.stdout + probe.stderr
            assert probe.returncode != 0 and "Corrupt database file" in probe.stderr
        else:
            shutil.rmtree(build.parent)
        with pytest.raises(duckdb.Error):
            publish(build, published)
        assert digest(published) == before
        assert leftovers(published.parent, published) == ([] if failure == "missing" else ["build"])
        assert held.ask().generation == 0  # the open session did not notice
        assert open_and_read(published).generation == 0  # and a new one reads the old build
    finally:
        held.close()

    # The next good build publishes over it as usual.
    build_database(build, 2)
    publish(build, published)
    assert open_and_read(published).generation == 2
    assert leftovers(published.parent, published) == ["build"]
