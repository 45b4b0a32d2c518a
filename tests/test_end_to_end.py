"""The whole asset graph on a sample of the real extract plus a small synthetic chain.

Marts are checked against figures computed here, independently, from the source lines
with the csv module; then new, repeated and broken files flow through the ingest job
while an analyst holds the published marts file open.
"""

import csv
import gzip
from collections import defaultdict
from datetime import date, timedelta

import dagster as dg
import duckdb
import pytest

from tests.conftest import EXTRACT, drop
from tests.lake.test_ingest import mutate

pytestmark = pytest.mark.slow
MONTHS = {m: i for i, m in enumerate(["January", "February", "March", "April", "May", "June", "July",
                                      "August", "September", "October", "November", "December"], 1)}


def sample_lines(every: int = 25) -> list[str]:
    with gzip.open(EXTRACT, "rt") as f:
        lines = f.read().splitlines()
    return [lines[0], *lines[1::every]]


def expected_figures(lines: list[str]) -> dict:
    """Cancellation rate per hotel, and rooms sold / room revenue per hotel and night."""
    bookings, cancelled = defaultdict(int), defaultdict(int)
    sold, revenue = defaultdict(int), defaultdict(float)
    for row in csv.DictReader(lines):
        if float(row["adr"]) < 0:  # the contract quarantines negative rates
            continue
        hotel = row["hotel"]
        bookings[hotel] += 1
        cancelled[hotel] += row["is_canceled"] == "1"
        if row["is_canceled"] == "1":
            continue
        arrival = date(int(row["arrival_date_year"]), MONTHS[row["arrival_date_month"]],
                       int(row["arrival_date_day_of_month"]))
        for n in range(int(row["stays_in_weekend_nights"]) + int(row["stays_in_week_nights"])):
            night = arrival + timedelta(days=n)
            sold[hotel, night] += 1
            revenue[hotel, night] += float(row["adr"])
    return {"cancel_rate": {h: cancelled[h] / bookings[h] for h in bookings},
            "bookings": dict(bookings), "sold": sold, "revenue": revenue}


def run_job(defs: dg.Definitions, name: str) -> dg.ExecuteInProcessResult:
    with dg.DagsterInstance.ephemeral() as instance:
        return defs.resolve_job_def(name).execute_in_process(instance=instance, raise_on_error=False)


def failed_checks(result) -> list[str]:
    return [e.asset_check_evaluation_data.asset_check_key.to_user_string()
            for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
            and not e.asset_check_evaluation_data.passed]


def query(settings, sql: str, *params):
    with duckdb.connect(str(settings.marts_path), read_only=True) as con:
        return con.execute(sql, params).fetchall()


def test_whole_graph_matches_the_source_and_reacts_to_dropped_files(settings, home):
    from lake.synthetic import generate_chain
    from orchestration.definitions import build_definitions
    from orchestration.warehouse.resources import prepare_manifest

    prepare_manifest(settings)
    defs = build_definitions(settings)
    lines = sample_lines()
    drop(home, "pms", "hotel_bookings_sample.csv", "\n".join(lines) + "\n")
    generate_chain(home / "landing", bookings=1_000, seed=3)

    result = run_job(defs, "build_lakehouse")
    assert result.success
    assert failed_checks(result) == []

    # Cancellation rate per hotel, from the marts, equals the one computed from the file.
    want = expected_figures(lines)
    got = dict(query(settings, "select hotel, sum(cancellations) / sum(bookings) from fct_cancellations "
                     "where hotel in ('City Hotel', 'Resort Hotel') group by 1"))
    assert got == pytest.approx(want["cancel_rate"], abs=1e-9)
    assert dict(query(settings, "select hotel, count(*) from fct_bookings where hotel in "
                      "('City Hotel', 'Resort Hotel') group by 1")) == want["bookings"]

    # Rooms sold, ADR and RevPAR per hotel and night add up to the file's stays.
    for hotel, night in [("City Hotel", date(2016, 8, 13)), ("Resort Hotel", date(2017, 2, 4))]:
        [(rooms_sold, room_revenue, adr, revpar, available)] = query(
            settings, "select sum(rooms_sold), sum(room_revenue), sum(room_revenue) / sum(rooms_sold), "
            "sum(room_revenue) / sum(rooms_available), sum(rooms_available) "
            "from fct_daily_occupancy where hotel = ? and date = ?", hotel, night)
        assert rooms_sold == want["sold"][hotel, night] > 0
        assert room_revenue == pytest.approx(want["revenue"][hotel, night])
        assert adr == pytest.approx(want["revenue"][hotel, night] / want["sold"][hotel, night])
        assert revpar == pytest.approx(want["revenue"][hotel, night] / available)

    # An analyst keeps the published file open while a new export is ingested and rebuilt.
    analyst = duckdb.connect(str(settings.marts_path), read_only=True)
    before = analyst.execute("select count(*) from fct_bookings").fetchall()[0][0]
    header, *rows = lines
    new_rows = [mutate(r, lead_time=str(int(r.split(",")[2]) + 1)) for r in rows[:40]]
    broken = [mutate(rows[41], hotel="Hotel Nowhere"), mutate(rows[42], arrival_date_day_of_month="32")]
    drop(home, "pms", "export_day2.csv", "\n".join([header, *new_rows, *broken]) + "\n")

    result = run_job(defs, "ingest_pms_bookings")
    assert result.success
    assert failed_checks(result) == ["bronze/pms_bookings:contract"]  # 2 of 42 rows broken
    assert analyst.execute("select count(*) from fct_bookings").fetchall()[0][0] == before
    analyst.close()
    assert query(settings, "select count(*) from fct_bookings")[0][0] == before + 40

    # The same file again changes nothing.
    result = run_job(defs, "ingest_pms_bookings")
    assert result.success
    [mat] = result.asset_materializations_for_node("bronze__pms_bookings")
    assert mat.metadata["files_ingested"].value == 0
    assert query(settings, "select count(*) from fct_bookings")[0][0] == before + 40
