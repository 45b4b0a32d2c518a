"""Shared fixtures: an isolated data home per test, and real rows of the bundled extract."""

from __future__ import annotations

import gzip
import os
import socket
from contextlib import contextmanager
from pathlib import Path

import pytest

from innsight.settings import REPO_ROOT, get_settings

EXTRACT = REPO_ROOT / "data" / "hotel_bookings.csv.gz"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh INNSIGHT_HOME: empty landing zone, lake and warehouse."""
    monkeypatch.setenv("INNSIGHT_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    yield tmp_path / "home"
    get_settings.cache_clear()


@contextmanager
def innsight_home(home: Path):
    """INNSIGHT_HOME at `home` for a session fixture's set-up (monkeypatch is per test)."""
    previous = os.environ.get("INNSIGHT_HOME")
    os.environ["INNSIGHT_HOME"] = str(home)
    get_settings.cache_clear()
    try:
        yield home
    finally:
        if previous is None:
            os.environ.pop("INNSIGHT_HOME", None)
        else:
            os.environ["INNSIGHT_HOME"] = previous
        get_settings.cache_clear()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def extract_lines(n: int | None = None) -> list[str]:
    """The header and the first n data lines of the real extract, as text lines."""
    with gzip.open(EXTRACT, "rt") as f:
        lines = f.read().splitlines()
    return lines if n is None else lines[: n + 1]


def drop(home: Path, folder: str, name: str, text: str | bytes) -> Path:
    path = home / "landing" / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path
