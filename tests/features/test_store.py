"""Feast on the embedded profile: apply, materialise to SQLite, online reads, and
point-in-time-correct training sets."""

from __future__ import annotations

import datetime as dt
import math
import shutil

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from features.repository import BOOKING_FIELDS
from features.store import FeatureStore
from base.settings import Settings
from tests.conftest import known_booking_day

BOOKING_COLUMNS = [f.name for f in BOOKING_FIELDS]


def _mart_rows(con, sql: str, *params) -> list[dict]:
    cur = con.execute(sql, list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def test_apply_materialize_and_online_read_match_the_marts(feature_store, feast_sources_home,
                                                          marts_home, marts_db):
    store = feature_store
    applied = store.apply()
    assert applied["feature_services"] == ["booking", "cancellation", "clv", "guest_360", "pricing"]
    assert (feast_sources_home / "feast" / "registry.db").exists()
    assert store.apply()["deleted"] == []  # idempotent

    day = dt.date.fromisoformat(known_booking_day(marts_home))
    start = dt.datetime.combine(day, dt.time(), dt.timezone.utc)
    result = store.materialize(end=start + dt.timedelta(hours=12), start=start,
                               views=["booking_features"])
    assert result["online_store"] == "sqlite"
    store.materialize(views=["guest_profile", "guest_value", "room_type_daily", "hotel_daily"])

    expected = _mart_rows(
        marts_db,
        f"""select booking_id, isodow(arrival_date)::integer as arrival_day_of_week,
                   strftime(booking_date, '%Y-%m-%d') as booking_date,
                   strftime(arrival_date, '%Y-%m-%d') as arrival_date,
                   {", ".join(c for c in BOOKING_COLUMNS
                              if c not in ("arrival_day_of_week", "booking_date", "arrival_date"))}
            from fct_bookings where booking_date = ? order by booking_id""",
        day,
    )
    assert all(r["guest_id"] for r in expected)
    assert any(r["agent"] for r in expected) and any(not r["agent"] for r in expected)
    got = store.online_features("booking", [{"booking_id": r["booking_id"]} for r in expected])
    assert got["booking_id"] == [r["booking_id"] for r in expected]
    for i, row in enumerate(expected):
        for column in BOOKING_COLUMNS:
            assert _same(got[column][i], row[column]), (row["booking_id"], column, got[column][i])

    # Another store object of the same settings (another process would build one) reads the
    # same registry and online store: the state is in the home, not in the object.
    other = FeatureStore.from_settings(Settings(home=feast_sources_home))
    assert other.service_names() == applied["feature_services"]
    assert other.online_features("booking", [{"booking_id": expected[0]["booking_id"]}])["lead_time"] == \
        [expected[0]["lead_time"]]

    # Profile and value of a guest of the chain, and an unknown booking: all features None.
    guest = _mart_rows(marts_db, """select v.*, g.birth_year from fct_guest_value v join dim_guests g
                                 using (guest_id) where v.stays > 1 order by guest_id limit 1""")[0]
    g360 = store.online_features("guest_360", [{"guest_id": guest["guest_id"]}])
    for column in ("monetary", "frequency", "recency_days", "segment", "loyalty_tier", "birth_year"):
        assert _same(g360[column][0], guest[column]), column
    missing = store.online_features("cancellation", [{"booking_id": "no-such-booking"}])
    assert missing["lead_time"] == [None] and missing["adr"] == [None]

    # Pricing: a room type's night and its hotel's night (sums over room types).
    night = _mart_rows(marts_db, """select * from fct_daily_occupancy where rooms_sold > 0
                                 order by hotel_code, date, room_type limit 1""")[0]
    hotel = _mart_rows(marts_db, """select sum(rooms_sold) as sold, sum(rooms_available) as available
                                 from fct_daily_occupancy where hotel_code = ? and date = ?""",
                       night["hotel_code"], night["date"])[0]
    price = store.online_features("pricing", [{"hotel_code": night["hotel_code"],
                                               "room_type": night["room_type"],
                                               "stay_date": night["date"]}])
    assert price["stay_date"] == [night["date"].isoformat()]
    for column in ("rooms_sold", "rooms_available", "occupancy", "adr", "revpar", "season"):
        assert _same(price[column][0], night[column]), column
    assert price["hotel_rooms_sold"] == [hotel["sold"]]
    assert math.isclose(price["hotel_occupancy"][0], hotel["sold"] / hotel["available"])

    # The API's one-entity read answers exactly what Feast's own read does, for every
    # service: known and unknown entities, one view or several, one join key or three.
    entities = {
        "cancellation": [{"booking_id": r["booking_id"]} for r in expected[:20]]
                        + [{"booking_id": "no-such-booking"}],
        "booking": [{"booking_id": expected[0]["booking_id"]}],
        "guest_360": [{"guest_id": guest["guest_id"]}, {"guest_id": "no-such-guest"}],
        "pricing": [{"hotel_code": night["hotel_code"], "room_type": night["room_type"],
                     "stay_date": night["date"]},
                    {"hotel_code": night["hotel_code"], "room_type": "no-such-type",
                     "stay_date": night["date"]}],
    }
    for service, rows in entities.items():
        for row in rows:
            feast_read = {k: v[0] for k, v in store.online_features(service, [row]).items()}
            assert store.online_record(service, row) == feast_read, (service, row)
    assert store.online_record("cancellation", {"booking_id": expected[0]["booking_id"]})[
        "lead_time"] == expected[0]["lead_time"]


def test_training_frame_is_point_in_time_correct(feast_sources_home, tmp_path, marts_db):
    """A feature row dated after an entity row's timestamp is never joined to it."""
    home = tmp_path / "home"
    shutil.copytree(feast_sources_home / "feast" / "sources", home / "feast" / "sources")
    store = FeatureStore.from_settings(Settings(home=home))
    source = home / "feast" / "sources" / "booking_features.parquet"
    table = pq.read_table(source)
    booking = table["booking_id"][0].as_py()
    original = table.filter(pc.equal(table["booking_id"], booking))
    booked_at = original["event_timestamp"][0].as_py()
    # A later version of the booking's features (as a correction would write), 10 days on.
    later = original.set_column(
        original.schema.get_field_index("lead_time"), "lead_time", pa.array([9999], pa.int32())
    ).set_column(
        original.schema.get_field_index("event_timestamp"), "event_timestamp",
        pa.array([booked_at + dt.timedelta(days=10)], pa.timestamp("us", tz="UTC")),
    )
    pq.write_table(pa.concat_tables([table, later.cast(table.schema)]), source)
    store.apply()

    offsets = [-1, 0, 5, 10, 20]
    entity_df = pd.DataFrame({
        "booking_id": [booking] * len(offsets),
        "event_timestamp": [booked_at + dt.timedelta(days=d) for d in offsets],
    })
    frame = store.training_frame(entity_df, "cancellation").sort_values("event_timestamp")
    lead = [None if v != v else int(v) for v in frame["lead_time"]]
    first = original["lead_time"][0].as_py()
    assert lead == [None, first, first, 9999, 9999]

    # Guest value is a snapshot as of as_of_date: nothing before it.
    guest = _mart_rows(marts_db, "select guest_id, as_of_date, monetary from fct_guest_value "
                              "where stays > 0 order by guest_id limit 1")[0]
    as_of = dt.datetime.combine(guest["as_of_date"], dt.time(), dt.timezone.utc)
    frame = store.training_frame(pd.DataFrame({
        "guest_id": [guest["guest_id"]] * 2,
        "event_timestamp": [as_of - dt.timedelta(seconds=1), as_of],
    }), "guest_360").sort_values("event_timestamp")
    assert frame["monetary"].isna().tolist() == [True, False]
    assert frame["monetary"].iloc[1] == pytest.approx(guest["monetary"])

    # A night's actuals are known only once it is over (event time: the next morning);
    # naive entity timestamps are read as UTC, stay_date may be a date.
    night = _mart_rows(marts_db, "select * from fct_daily_occupancy where rooms_sold > 0 "
                              "order by date limit 1")[0]
    noon = dt.datetime.combine(night["date"], dt.time(12))
    frame = store.training_frame(pd.DataFrame({
        "hotel_code": [night["hotel_code"]] * 2, "room_type": [night["room_type"]] * 2,
        "stay_date": [night["date"]] * 2,
        "event_timestamp": [noon, noon + dt.timedelta(days=1)],
    }), "pricing").sort_values("event_timestamp")
    assert frame["rooms_sold"].isna().tolist() == [True, False]
    assert frame["rooms_sold"].iloc[1] == night["rooms_sold"]
