"""Shared fixtures: settings of an isolated data home per test (passed, never put in the
environment), and real rows of the bundled extract."""

from __future__ import annotations

import gzip
import socket
from pathlib import Path

import pytest

from base.settings import REPO_ROOT, Settings
from lake.delta_tables import Lake
from lake.ingest import LandingZone

EXTRACT = REPO_ROOT / "data" / "hotel_bookings.csv.gz"
# `make test` runs two xdist workers (--dist loadgroup). Tests that share a session fixture
# stay on one worker, so it is built once: the session's marts (tests/ml, tests/features)
# and the served platform (tests/serving). The other tests fill in beside them.
GROUPS = {"tests/ml/": "marts", "tests/features/": "marts", "tests/serving/": "serving"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = item.path.relative_to(REPO_ROOT).as_posix()
        group = next((g for prefix, g in GROUPS.items() if path.startswith(prefix)), None)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings of a fresh data home: empty landing zone, lake and warehouse."""
    return Settings(home=tmp_path / "home")


@pytest.fixture
def home(settings: Settings) -> Path:
    return settings.home


@pytest.fixture
def zone(settings: Settings) -> LandingZone:
    """The landing zone of the fresh home (bundled property master and mappings)."""
    return LandingZone.from_settings(settings)


@pytest.fixture
def lake(settings: Settings) -> Lake:
    return Lake.from_settings(settings)


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
