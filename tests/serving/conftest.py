"""A served platform once per session: its own small lakehouse, every champion
trained and registered, the feature store applied and materialised (bookings of one day,
every guest), and a price schedule in the lake; then the API app on it. Everything is
reached through settings passed explicitly (no environment)."""

from __future__ import annotations

import datetime as dt
import shutil
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from base.settings import REPO_ROOT, Settings
from tests.conftest import build_marts, known_booking_day


@pytest.fixture(scope="session")
def platform_home(tmp_path_factory) -> Path:
    from features.store import FeatureStore
    from lake.delta_tables import Lake
    from language.embedders import Embedder
    from language.knowledge_base import KnowledgeBase
    from ml.catalog import MODELS
    from ml.registry import ModelRegistry
    from ml.timeline import Timeline
    from orchestration.pricing.assets import publish_schedule

    # Its own lakehouse, smaller than tests/ml's (every 4th booking of the real extract, a
    # 2,000-booking chain): the API is tested on what the models answer, not on how well
    # they learn, and training every model on it takes a fraction of the time.
    settings = Settings(home=tmp_path_factory.mktemp("serving") / "home")
    home = build_marts(settings, extract_every=4, chain_bookings=2_000, seed=5)
    registry = ModelRegistry.from_settings(settings)
    with duckdb.connect(str(settings.marts_path), read_only=True) as marts:
        for spec in MODELS.values():
            registry.train_and_register(spec, marts, Timeline.of(None))
    store = FeatureStore.from_settings(settings)
    store.export_sources(settings.marts_path)
    store.apply()
    day = dt.datetime.combine(dt.date.fromisoformat(known_booking_day(home)), dt.time(),
                              dt.timezone.utc)
    store.materialize(start=day, end=day + dt.timedelta(hours=12), views=["booking_features"])
    store.materialize(views=["guest_clv_inputs"])
    publish_schedule(Lake.from_settings(settings), registry, dt.date.today(), 7)
    open_a_task(settings)  # a platform in use has tasks (the PATCH example assigns one)
    # the assistant's knowledge base, as the language/knowledge_base asset builds it, of the
    # documents the tests ask about (embedding all of them line by line takes minutes)
    KnowledgeBase(settings.vectors_root, Embedder(settings.text_embedder)).rebuild(
        knowledge_subset(home / "knowledge"))
    return home


KNOWLEDGE_TOPICS = ("check-in-check-out.md", "pets.md", "parking.md")


def guest_requests(*rows: dict):
    """Rows of language/guest_requests (as the routing route writes them): each dict gives
    request_id and hotel, and any other column."""
    import polars as pl

    from lake.tables import GUEST_REQUESTS

    defaults = {"received_at": dt.datetime.now(dt.timezone.utc), "channel": "app",
                "message": "I need 2 extra towels in room 201 please", "language": "en",
                "category": "housekeeping", "confidence": 0.9, "priority": "normal",
                "team": "housekeeping", "request_type": "amenity", "room_number": "201",
                "items": ["towel"], "quantity": 2, "urgency": "normal", "needs_human": False,
                "routed_by": "test", "requested_by": "tester", "guest_id": None,
                "correlation_id": None}
    return pl.DataFrame([{**defaults, **r} for r in rows], schema=GUEST_REQUESTS.schema)


@contextmanager
def held_by_a_sender(outbox, message_id: str):
    """The message claimed, as a sender holds it while it sends (anything else due is handed
    back untouched); handed back at the end."""
    claimed = outbox.claim(limit=100_000)
    for other in claimed:
        if other.message_id != message_id:
            outbox.release(other)
    [held] = [c for c in claimed if c.message_id == message_id]
    try:
        yield held
    finally:
        outbox.release(held)


def open_a_task(settings: Settings, request_id: str = "served-1") -> str:
    """A housekeeping task of a hotel with housekeeping staff, made by the task board from
    a routed guest request: its id."""
    import polars as pl

    from lake.delta_tables import Lake
    from lake.properties import PropertyMaster
    from operations.tasks import Roster, TaskBoard

    lake = Lake.from_settings(settings)
    roster = Roster(lake)
    hotel = roster.employees().filter(pl.col("department") == "housekeeping").sort("employee_id")["hotel"][0]
    board = TaskBoard(lake, roster, PropertyMaster.load(settings.properties_file), settings.task_due_minutes)
    board.from_requests(guest_requests({"request_id": request_id, "hotel": hotel}))
    return f"req-{request_id}"


def knowledge_subset(folder: Path) -> Path:
    for language in ("en", "vi"):
        (folder / language).mkdir(parents=True, exist_ok=True)
        for name in KNOWLEDGE_TOPICS:
            shutil.copy(REPO_ROOT / "language" / "knowledge" / language / name, folder / language / name)
    return folder


def routing_subset(folder: Path) -> Path:
    """Every other labelled message: the router of the API under test trains in half the time."""
    lines = (REPO_ROOT / "language" / "routing" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    path = folder / "routing.jsonl"
    path.write_text("\n".join(lines[::2]) + "\n", encoding="utf-8")
    return path


# A camera whose recognitions are attendance events (setting attendance_cameras).
STAFF_DOOR = "cam_staff_entrance"


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory) -> tuple[str, Path]:
    """A tiny open_clip model built here (no model hub): (model name, checkpoint)."""
    from tests.vision import tiny_clip

    return tiny_clip.build(tmp_path_factory.mktemp("clip"))


@pytest.fixture(scope="session")
def api_settings(platform_home, tiny_clip) -> Settings:
    return Settings(home=platform_home, champion_poll_seconds=3600, predictions_flush_seconds=3600,
                    knowledge_dir=platform_home / "knowledge",
                    routing_data=routing_subset(platform_home),
                    clip_model=tiny_clip[0], clip_checkpoint=tiny_clip[1],
                    attendance_cameras={STAFF_DOOR: "check_in"})


@pytest.fixture(scope="session")
def client(api_settings):
    """The app on the served platform, started (lifespan) once for the session, its
    vision models and its request router loaded."""
    from fastapi.testclient import TestClient

    from serving.app import create_app

    with TestClient(create_app(api_settings)) as c:
        assert services(c).vision.wait_loaded(120)
        assert services(c).language.wait_loaded(180)
        yield c


def services(client):
    """What the app built from its settings (champions, prediction log, ...)."""
    return client.app.state.services


def bearer(settings: Settings, *roles: str, **kw) -> dict[str, str]:
    from serving.core.auth import issue_token

    return {"Authorization": f"Bearer {issue_token('tester', list(roles), settings=settings, **kw)}"}


@pytest.fixture(scope="session")
def reader(api_settings) -> dict[str, str]:
    """A revenue manager's token (ml:read), with room for the whole session's requests."""
    return bearer(api_settings, "revenue_manager", rate_limit="100000/minute")


@pytest.fixture(scope="session")
def served_bookings(platform_home) -> list[str]:
    """Ids of the bookings materialised into the online store."""
    day = known_booking_day(platform_home)
    with duckdb.connect(str(platform_home / "warehouse" / "marts.duckdb"), read_only=True) as marts:
        return [r[0] for r in marts.execute(
            "select booking_id from fct_bookings where booking_date = ? order by booking_id", [day]).fetchall()]
