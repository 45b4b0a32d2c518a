"""Report subscriptions in the ops database: one per address (subscribing again replaces
what it receives), who receives a report, unsubscribing, and the inputs refused with a
reason; on the embedded SQLite and on the machine's PostgreSQL (a database of each test)."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from base.databases import engine
from base.settings import Settings
from reports.report_store import GROUP
from reports.subscriptions import Subscriptions

AT = datetime(2026, 12, 1, 6, 30, tzinfo=timezone.utc)


@pytest.fixture
def sqlite(settings) -> Subscriptions:
    return Subscriptions.from_url(settings.ops_database_url)


@pytest.fixture
def postgres(tmp_path):
    """Subscriptions in a PostgreSQL database of this test only (dropped after it)."""
    from tests.test_production_profile import require_listening

    server = Settings(home=tmp_path).postgres_url
    require_listening(server, "PostgreSQL")
    database = f"innsight_reports_test_{uuid.uuid4().hex[:10]}"
    url = server.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + f"/{database}"
    try:
        yield Subscriptions.from_url(url)  # the database is made on first use
    finally:
        engine(url).dispose()
        admin = sa.create_engine(sa.make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as con:
            con.execute(sa.text(f'drop database if exists "{database}" with (force)'))
        admin.dispose()


def check_one_per_address_and_recipients(subs: Subscriptions) -> None:
    gm, created = subs.subscribe(" GM@Hotel-A.example ", ["HA"], ["daily", "monthly"], "vi",
                                 by="alice", at=AT)
    assert created
    assert (gm.email, gm.properties, gm.kinds, gm.language, gm.created_by, gm.created_at) == (
        "gm@hotel-a.example", ("HA",), ("daily", "monthly"), "vi", "alice", AT)
    assert len(gm.subscription_id) == 32
    owner, _ = subs.subscribe("owner@group.example", [GROUP, "HB", GROUP], ["monthly", "weekly"],
                              by="alice", at=AT)
    assert (owner.properties, owner.kinds, owner.language) == ((GROUP, "HB"), ("weekly", "monthly"), "en")

    # the same address again (any case): the same subscription, receiving what it says now
    again, created = subs.subscribe("gm@hotel-a.example", ["HA", "HB"], ["weekly"], "en", by="bob")
    assert not created
    assert (again.subscription_id, again.created_at, again.created_by) == (
        gm.subscription_id, AT, "alice")
    assert (again.properties, again.kinds, again.language) == (("HA", "HB"), ("weekly",), "en")
    assert subs.get(gm.subscription_id) == again
    assert [s.email for s in subs.list()] == ["gm@hotel-a.example", "owner@group.example"]
    assert subs.list(email="GM@hotel-a.example") == [again]
    assert subs.list(email="nobody@example.com") == []

    assert [s.email for s in subs.recipients("weekly", "HB")] == ["gm@hotel-a.example",
                                                                  "owner@group.example"]
    assert [s.email for s in subs.recipients("monthly", GROUP)] == ["owner@group.example"]
    assert subs.recipients("daily", "HA") == []  # no longer: the update replaced its kinds
    with pytest.raises(ValueError, match="unknown report kind 'hourly'"):
        subs.recipients("hourly", "HA")

    assert subs.remove(gm.subscription_id) is True
    assert subs.remove(gm.subscription_id) is False
    assert subs.get(gm.subscription_id) is None
    assert [s.email for s in subs.recipients("weekly", "HB")] == ["owner@group.example"]
    # subscribing after unsubscribing is a new subscription
    back, created = subs.subscribe("gm@hotel-a.example", ["HA"], ["daily"], by="alice")
    assert created and back.subscription_id != gm.subscription_id


@pytest.mark.parametrize("email, properties, kinds, language, message", [
    ("gm@hotel-a.example", ["HA"], ["hourly"], "en", r"unknown report kind\(s\) \['hourly'\]"),
    ("gm@hotel-a.example", ["HA"], [], "en", "at least one kind"),
    ("gm@hotel-a.example", ["HA"], ["daily"], "fr", "unknown language 'fr'.*en, vi"),
    ("gm@hotel-a.example", [], ["daily"], "en", "at least one property"),
    ("gm@hotel-a.example", [" "], ["daily"], "en", "at least one property"),
    ("gm@hotel-a.example", "HA", ["daily"], "en", "are lists"),
    ("not an address", ["HA"], ["daily"], "en", "'not an address' is not an email address"),
])
def test_inputs_are_refused_with_the_reason(sqlite, email, properties, kinds, language, message):
    with pytest.raises(ValueError, match=message):
        sqlite.subscribe(email, properties, kinds, language, by="alice")
    assert sqlite.list() == []


def test_one_subscription_per_address_on_sqlite(sqlite):
    check_one_per_address_and_recipients(sqlite)


def test_the_table_is_made_once_and_kept(settings, sqlite):
    sqlite.subscribe("gm@hotel-a.example", ["HA"], ["daily"], by="alice")
    later = Subscriptions.from_url(settings.ops_database_url)  # another process, same database
    assert [s.email for s in later.list()] == ["gm@hotel-a.example"]
    assert "report_subscriptions" in sa.inspect(engine(settings.ops_database_url)).get_table_names()


@pytest.mark.production
def test_one_subscription_per_address_on_postgres(postgres):
    check_one_per_address_and_recipients(postgres)
