"""Shared fixtures: settings of an isolated data home per test (passed, never put in the
environment), and real rows of the bundled extract."""

from __future__ import annotations

import gzip
import os
import shutil
import socket
from pathlib import Path

# Two xdist workers share the machine's cores: each library's own pool of a thread per core
# on top (OpenMP, BLAS, polars) oversubscribes them, and a thread waiting at a barrier for
# a descheduled peer made CPU-heavy tests run 2-3x slower than alone. Set before any of
# them is imported (here, at the workers' first import of the project).
if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "POLARS_MAX_THREADS"):
        os.environ.setdefault(_var, "1")

import duckdb
import pytest

from base.settings import REPO_ROOT, Settings
from lake.delta_tables import Lake
from lake.ingest import LandingZone

EXTRACT = REPO_ROOT / "data" / "hotel_bookings.csv.gz"
# `make test` runs two xdist workers (--dist loadgroup). A test that uses one of the
# expensive session fixtures runs on that fixture's worker, so that it is built once: the
# session's marts (minutes), the served platform (minutes) and the trained guest-request
# router (a minute). A module's own fixtures keep its tests together; a group a module
# names itself stands; every other test fills in where a worker is free.
SHARED = {"platform_home": "serving", "marts_home": "marts", "router": "language_assistant"}
# xdist deals the groups out in the order of the collection (--no-loadscope-reorder), two to
# each worker at first: the two longest groups go first, one to each worker, and the short
# tests after them (by size, xdist's default order, put the served platform's group second
# on a worker, behind the router's).
FIRST = ("serving", "marts")


@pytest.hookimpl(tryfirst=True)  # before xdist's own, which reads the groups
def pytest_collection_modifyitems(config, items):
    group_of = {}
    for item in items:
        marker = item.get_closest_marker("xdist_group")
        group = marker.args[0] if marker else _shared_group(item)
        if group and not marker:
            item.add_marker(pytest.mark.xdist_group(group))
        group_of[item.nodeid] = group
    ranks = {group: k for k, group in enumerate(FIRST)}
    items.sort(key=lambda item: ranks.get(group_of[item.nodeid], len(FIRST)))  # stable


def _shared_group(item) -> str | None:
    """The group of a test without one of its own: that of the expensive session fixture it
    uses, else its module's where it uses a module-scoped fixture, else none."""
    fixtures = item._fixtureinfo.name2fixturedefs
    group = next((g for name, g in SHARED.items() if name in fixtures), None)
    if group is None and any(defs[-1].scope == "module" for defs in fixtures.values()):
        group = item.path.relative_to(REPO_ROOT).as_posix()
    return group


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


def build_marts(settings: Settings, extract_every: int, chain_bookings: int, seed: int) -> Path:
    """Landing → marts of a home (the build_lakehouse job): every ``extract_every``-th
    booking of the real extract and a synthetic chain. Returns the home."""
    import dagster as dg

    from lake.synthetic import generate_chain
    from orchestration.definitions import build_definitions
    from orchestration.warehouse.resources import prepare_manifest

    home = settings.home
    pms = home / "landing" / "pms"
    pms.mkdir(parents=True)
    if extract_every == 1:
        shutil.copyfile(settings.bundled_extract, pms / settings.bundled_extract.name)
    else:
        lines = extract_lines()
        (pms / "hotel_bookings_sample.csv").write_text(
            "\n".join([lines[0], *lines[1::extract_every]]) + "\n")
    generate_chain(home / "landing", bookings=chain_bookings, seed=seed)
    prepare_manifest(settings)
    defs = build_definitions(settings)
    with dg.DagsterInstance.ephemeral() as instance:
        assert defs.resolve_job_def("build_lakehouse").execute_in_process(instance=instance).success
    return home


@pytest.fixture(scope="session")
def marts_home(tmp_path_factory) -> Path:
    """A data home whose marts file holds the whole real extract and a 5,000-booking chain
    (shared by tests/ml, tests/features and tests/reports, on one xdist worker)."""
    return build_marts(Settings(home=tmp_path_factory.mktemp("ml") / "home"),
                       extract_every=1, chain_bookings=5_000, seed=11)


@pytest.fixture(scope="session")
def marts_settings(marts_home) -> Settings:
    return Settings(home=marts_home)


@pytest.fixture
def marts(marts_settings) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the session's marts."""
    con = duckdb.connect(str(marts_settings.marts_path), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def con(marts_settings) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the session's marts, one per test module."""
    c = duckdb.connect(str(marts_settings.marts_path), read_only=True)
    yield c
    c.close()


def known_booking_day(home: Path) -> str:
    """A booking date of the live chain whose bookings have guests, and agents and companies
    both given and missing (the online store's null handling is exercised)."""
    import duckdb

    with duckdb.connect(str(home / "warehouse" / "marts.duckdb"), read_only=True) as con:
        return str(con.execute(
            """select booking_date from fct_bookings where guest_id is not null
               group by booking_date
               having count(agent) > 0 and count(agent) < count(*) and count(company) > 0
               order by count(*) desc, booking_date limit 1"""
        ).fetchone()[0])


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
