"""Marts built once per test session from the real extract and a small synthetic chain."""

import duckdb
import pytest

from ml.timeline import Timeline

BUNDLED = ("Resort Hotel", "City Hotel")  # the hotels of the bundled extract (no guest ids)
# The published benchmark: as of the extract's last day, 8 months held out = 2017 arrivals.
BENCHMARK = Timeline.of("2017-08-31", evaluation_months=8)
LIVE = Timeline.of(None)  # as of yesterday, as the nightly run trains


@pytest.fixture(scope="session")
def live_cancellation(marts_settings):
    """The cancellation model trained on the session's marts as the nightly run trains it
    (once: several modules test it)."""
    from ml import cancellation

    with duckdb.connect(str(marts_settings.marts_path), read_only=True) as marts:
        return cancellation.train(marts, LIVE)


@pytest.fixture(scope="session")
def live_clv(marts_settings):
    """The guest-value model trained on the session's marts as the nightly run trains it."""
    from ml import clv

    with duckdb.connect(str(marts_settings.marts_path), read_only=True) as marts:
        return clv.train(marts, LIVE)


def marts_copy(path, plant_after=None) -> tuple[duckdb.DuckDBPyConnection, dict[str, int]]:
    """An in-memory copy of the tables the guest models read; with ``plant_after``, what
    happens after that day is rewritten: later bookings gone, statuses settled later flipped,
    later arrivals in another room type, later extras renamed and ten times dearer. Returns
    the copy and the rows each change touched."""
    mem = duckdb.connect()
    mem.execute(f"attach '{path}' as src (read_only)")
    mem.execute("create table fct_bookings as select * from src.fct_bookings")
    mem.execute("create table dim_guests as select * from src.dim_guests")
    mem.execute("create schema staging")
    mem.execute("create table staging.stg_pms_folio_lines as select * from src.staging.stg_pms_folio_lines")
    mem.execute("detach src")
    touched = {}
    if plant_after is not None:
        d = {"d": plant_after}
        touched["booked later"] = mem.execute(
            "delete from fct_bookings where guest_id is not null and booking_date > $d", d).fetchone()[0]
        touched["settled later"] = mem.execute(
            """update fct_bookings set is_canceled = not is_canceled,
                      revenue_realised = case when is_canceled then booked_revenue else 0 end
               where guest_id is not null and reservation_status_date > $d""", d).fetchone()[0]
        touched["arriving later"] = mem.execute(
            "update fct_bookings set reserved_room_type = 'PLANTED' where arrival_date > $d", d).fetchone()[0]
        touched["served later"] = mem.execute(
            """update staging.stg_pms_folio_lines set amount = amount * 10,
                      description = 'Planted ' || description where service_date > $d""", d).fetchone()[0]
    return mem, touched
