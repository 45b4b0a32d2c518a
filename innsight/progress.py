"""What a person at the terminal sees while a long command runs: one line per finished
step, a live status line (on a terminal only) for the step in progress, and the full log
of everything else in a file.

``Console`` writes the lines; ``output_to_log(path)`` sends this process's own stdout and
stderr (file descriptors 1 and 2: Dagster's event stream, dbt's output, warnings of any
library or subprocess) to a log file and hands back a ``Console`` on the terminal.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO


def duration(seconds: float) -> str:
    """3.2 s, 47 s, 2 min 05 s, 1 h 02 min."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, s = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {s:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def count(n: int | float) -> str:
    return f"{n:,}" if isinstance(n, int) else f"{n:,.0f}"


class Console:
    """Lines for a person. On a terminal, ``status`` keeps one live line at the bottom
    (redrawn in place, with its elapsed time ticking); elsewhere (CI, a pipe, a test)
    only the finished lines are written."""

    def __init__(self, stream: TextIO | None = None, live: bool | None = None):
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty() if live is None else live
        self._lock = threading.RLock()
        self._status: Callable[[], str] | None = None
        self._shown = 0  # width of the status line on screen
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()

    def line(self, text: str = "") -> None:
        with self._lock:
            self._erase()
            self.stream.write(text + "\n")
            self._draw()
            self.stream.flush()

    def status(self, text: str | Callable[[], str] | None) -> None:
        """The live line: a text, or a function giving it (re-read every second)."""
        with self._lock:
            self._status = (lambda: text) if isinstance(text, str) else text
            if self.live:
                self._erase()
                self._draw()
                self.stream.flush()
                if self._status is not None and self._ticker is None:
                    self._stop.clear()
                    self._ticker = threading.Thread(target=self._tick, daemon=True,
                                                    name="innsight-progress")
                    self._ticker.start()

    def close(self) -> None:
        self.status(None)
        if self._ticker is not None:
            self._stop.set()
            self._ticker.join()
            self._ticker = None

    def _tick(self) -> None:
        while not self._stop.wait(1.0):
            with self._lock:
                if self._status is None:
                    continue
                self._erase()
                self._draw()
                self.stream.flush()

    def _erase(self) -> None:
        if self.live and self._shown:
            self.stream.write("\r" + " " * self._shown + "\r")
            self._shown = 0

    def _draw(self) -> None:
        if self.live and self._status is not None:
            try:
                text = self._status()
            except Exception:  # a status function must never break the command
                return
            width = _terminal_width() - 1
            text = text if len(text) <= width else text[: width - 1] + "…"
            self.stream.write(text)
            self._shown = len(text)


def _terminal_width() -> int:
    try:
        return os.get_terminal_size().columns
    except OSError:
        return 100


class Timer:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started

    def __str__(self) -> str:
        return duration(self.seconds)


@contextlib.contextmanager
def output_to_log(path: Path) -> Iterator[Console]:
    """Send everything this process (and the processes it starts) writes to stdout and
    stderr to ``path``, and give a Console on the terminal for the person's lines.

    At the level of file descriptors: Dagster mirrors the output of a step with its own
    descriptor swap and a `tail` subprocess, and dbt's lines come from a subprocess, so
    replacing ``sys.stdout`` would not catch them.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    terminal = io.TextIOWrapper(os.fdopen(os.dup(saved_out), "wb", buffering=0),
                                encoding=sys.stdout.encoding or "utf-8", errors="replace",
                                write_through=True)
    console = Console(terminal, live=os.isatty(saved_out))
    with open(path, "ab", buffering=0) as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield console
        finally:
            console.close()
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved_out, 1)
            os.dup2(saved_err, 2)
            os.close(saved_out)
            os.close(saved_err)
            terminal.close()
