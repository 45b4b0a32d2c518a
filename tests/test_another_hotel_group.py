"""A hotel group whose data looks nothing like the bundled one: its own properties, its own
calendar (two years ending on a day of its own), its own PMS layout read through a mapping
(no country, agent, company, deposit type or distribution channel), and a property opened
two weeks ago. Alone in the lake, it is trained end to end: every model finds it and
evaluates it on its own last months, the new property is flagged rather than fatal, and the
champion answers for it."""

from __future__ import annotations

import re
import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
import yaml

from base.settings import Settings
from lake.synthetic import generate_chain
from ml.catalog import MODELS
from ml.registry import GROUP
from ml.timeline import Timeline

END = date(2025, 3, 14)  # this group's export ends here: nothing like the bundled calendar
HARBOUR, LODGE = "Harbour Inn", "Two Week Lodge"
MAPPING = """
name: harbour_pms
description: a PMS with its own names, day-first dates and status codes, and fewer fields
date_format: "%d/%m/%Y"
columns:
  booking_id: ResNo
  hotel: Site
  arrival_date: CheckIn
  departure_date: CheckOut
  lead_time: DaysAhead
  adults: Adults
  children: Kids
  babies: Infants
  meal: Board
  market_segment: Segment
  reserved_room_type: RoomType
  assigned_room_type: RoomGiven
  customer_type: GuestType
  adr: Rate
  is_canceled: Cancelled
  reservation_status: Status
  reservation_status_date: StatusDate
  guest_id: Profile
  room_number: Room
values:
  hotel: {HBI: Harbour Inn, TWL: Two Week Lodge}
  is_canceled: {Y: "1", N: "0"}
  reservation_status: {CXL: Canceled, NSH: No-Show, OUT: Check-Out}
"""


def _property(name: str, code: str, rooms: int) -> dict:
    return {"name": name, "code": code, "city": "Da Lat", "country": "VNM", "currency": "VND",
            "real": False, "room_types": {"STD": {"rooms": rooms, "base_rate": 900_000},
                                          "DLX": {"rooms": rooms // 3, "base_rate": 1_400_000}}}


MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]


def _with_dates(reference: pl.DataFrame) -> pl.DataFrame:
    """Arrival, departure and booking days of the reference layout's split date fields."""
    month = pl.col("arrival_date_month").replace_strict(MONTHS, list(range(1, 13)))
    arrival = pl.date(pl.col("arrival_date_year"), month, pl.col("arrival_date_day_of_month"))
    nights = pl.col("stays_in_weekend_nights") + pl.col("stays_in_week_nights")
    return reference.with_columns(arrival.alias("arrival_date")).with_columns(
        (pl.col("arrival_date") + pl.duration(days=nights)).alias("departure_date"),
        (pl.col("arrival_date") - pl.duration(days=pl.col("lead_time"))).alias("booking_date"),
        pl.col("reservation_status_date").cast(pl.String).str.to_date())


def _export(reference: pl.DataFrame) -> str:
    """The chain's bookings as this group's PMS writes them (semicolons, dd/mm/yyyy, codes;
    an open reservation has no status)."""
    day = "%d/%m/%Y"
    status = {"Canceled": "CXL", "No-Show": "NSH", "Check-Out": "OUT"}
    out = reference.select(
        pl.col("booking_id").alias("ResNo"),
        pl.col("hotel").replace({HARBOUR: "HBI", LODGE: "TWL"}).alias("Site"),
        pl.col("arrival_date").dt.strftime(day).alias("CheckIn"),
        pl.col("departure_date").dt.strftime(day).alias("CheckOut"),
        pl.col("lead_time").alias("DaysAhead"),
        pl.col("adults").alias("Adults"), pl.col("children").alias("Kids"),
        pl.col("babies").alias("Infants"), pl.col("meal").alias("Board"),
        pl.col("market_segment").alias("Segment"), pl.col("reserved_room_type").alias("RoomType"),
        pl.col("assigned_room_type").alias("RoomGiven"), pl.col("customer_type").alias("GuestType"),
        pl.col("adr").alias("Rate"),
        pl.when(pl.col("is_canceled") == 1).then(pl.lit("Y")).otherwise(pl.lit("N")).alias("Cancelled"),
        pl.col("reservation_status").replace(status).alias("Status"),
        pl.col("reservation_status_date").dt.strftime(day).alias("StatusDate"),
        pl.col("guest_id").alias("Profile"), pl.col("room_number").alias("Room"))
    return out.write_csv(separator=";")


@pytest.fixture(scope="module")
def group(tmp_path_factory) -> Settings:
    import dagster as dg

    from orchestration.definitions import build_definitions
    from orchestration.warehouse.resources import prepare_manifest

    root = tmp_path_factory.mktemp("another_group")
    bundled = Settings()
    master = yaml.safe_load(bundled.properties_file.read_text())
    # the bundled real hotels stay in the master (the generator's templates), not in the lake
    master["properties"] += [_property(HARBOUR, "HBI", 60), _property(LODGE, "TWL", 24)]
    properties = root / "properties.yaml"
    properties.write_text(yaml.safe_dump(master, allow_unicode=True))
    mappings = root / "mappings"
    shutil.copytree(bundled.mappings_dir, mappings)
    (mappings / "harbour_pms.yaml").write_text(MAPPING)

    chain = root / "chain"
    generate_chain(chain, bookings=4_000, seed=23, properties=[HARBOUR, LODGE], end=END,
                   include_real_inventory=False, properties_file=properties)
    settings = Settings(home=root / "home", properties_file=properties, mappings_dir=mappings)
    landing = settings.landing_dir
    shutil.copytree(chain, landing)
    booking_files = sorted((landing / "pms").glob("bookings*.csv"))
    reference = _with_dates(pl.concat([pl.read_csv(f, infer_schema_length=None)
                                       for f in booking_files], how="diagonal_relaxed"))
    for f in booking_files:
        f.unlink()
    # the lodge opened two weeks before the export: nothing of it is older
    reference = reference.filter((pl.col("hotel") != LODGE)
                                 | (pl.col("booking_date") >= END - timedelta(days=14)))
    (landing / "pms" / "harbour_export.csv").write_text(_export(reference))

    prepare_manifest(settings)
    with dg.DagsterInstance.ephemeral() as instance:
        result = build_definitions(settings).resolve_job_def("build_lakehouse").execute_in_process(
            instance=instance)
    assert result.success
    return settings


@pytest.fixture(scope="module")
def trained(group):
    timeline = Timeline.of(END - timedelta(days=1))
    with duckdb.connect(str(group.marts_path), read_only=True) as marts:
        out = {}
        for name, spec in MODELS.items():
            candidates = spec.train(marts, timeline)
            for c in candidates if isinstance(candidates, list) else [candidates]:
                out[c.name] = c
    return out


def test_the_mapped_export_reaches_the_marts(group):
    with duckdb.connect(str(group.marts_path), read_only=True) as marts:
        hotels = dict(marts.execute("select hotel, count(*) from fct_bookings group by hotel").fetchall())
        open_ = marts.execute("select count(*) from fct_bookings where reservation_status is null "
                              "and arrival_date > ?", [END]).fetchone()[0]
        missing = marts.execute("select count(country), count(agent), count(deposit_type), "
                                "count(distribution_channel) from fct_bookings").fetchone()
        as_of = marts.execute("select as_of_date, bookings_on_the_books from dim_hotel_as_of "
                              "where hotel = ?", [HARBOUR]).fetchone()
        sold_until, booked_from = marts.execute(
            "select max(date) filter (where not is_on_the_books), min(date) filter (where is_on_the_books) "
            "from fct_daily_occupancy where hotel = ?", [HARBOUR]).fetchone()
    assert set(hotels) == {HARBOUR, LODGE} and hotels[HARBOUR] > 1_000 and hotels[LODGE] > 0
    assert open_ > 0  # reservations on the books: no status yet
    assert missing == (0, 0, 0, 0)  # this layout has none of these fields
    # the marts say as of which day they are current: the export's last day, not the bundled
    assert END - timedelta(days=7) <= as_of[0] <= END and as_of[1] > 0
    assert sold_until == as_of[0] and booked_from == as_of[0] + timedelta(days=1)


def test_every_model_trains_and_evaluates_the_group_on_its_own_calendar(trained):
    assert set(trained) >= {"cancellation", "clv"}
    for name, c in trained.items():
        assert c.params["as_of"] == (END - timedelta(days=1)).isoformat(), name
        table = c.by_property
        if table is None:
            continue
        table = table.set_index("hotel")
        assert GROUP in table.index, name
        if HARBOUR in table.index:
            assert bool(table.loc[HARBOUR, "evaluated"]), (name, table.loc[HARBOUR, "reason"])
            if "test_start" in table.columns:  # its own last months, not the bundled 2017
                assert str(table.loc[HARBOUR, "test_start"]) > "2024-11", (name, table.loc[HARBOUR])
        if LODGE in table.index:
            assert not bool(table.loc[LODGE, "evaluated"]), name
            assert table.loc[LODGE, "reason"], name
    cancellation = trained["cancellation"].by_property.set_index("hotel")
    assert {HARBOUR, LODGE} <= set(cancellation.index)
    assert cancellation.loc[HARBOUR, "auc"] > cancellation.loc[HARBOUR, "baseline_auc"] - 0.05
    assert cancellation.loc[HARBOUR, "auc"] > 0.7


def test_the_champion_answers_for_both_properties_and_says_how_far_it_was_checked(trained):
    model = trained["cancellation"].model
    booking = {"booking_date": (END - timedelta(days=20)).isoformat(),
               "arrival_date": (END + timedelta(days=30)).isoformat(), "lead_time": 50,
               "stays_in_week_nights": 3, "adults": 2, "market_segment": "Online TA",
               "customer_type": "Transient", "reserved_room_type": "STD", "adr": 1_000_000}
    for hotel in (HARBOUR, LODGE):
        answer = model.predict_one({**booking, "hotel": hotel})
        assert 0 <= answer["probability"] <= 1 and answer["top_factors"]
    assert model.evaluation_for(HARBOUR)["evaluated"] is True
    lodge = model.evaluation_for(LODGE)
    assert lodge["evaluated"] is False and lodge["reason"]


def test_innsight_evaluate_prints_the_group_per_property(group, capsys):
    import argparse

    from innsight.cli import cmd_evaluate

    cmd_evaluate(argparse.Namespace(models=["cancellation"], as_of=(END - timedelta(days=1)).isoformat(),
                                    evaluation_months=None), group)
    out = capsys.readouterr().out
    lines = {line.split("  ")[1].strip(): line for line in out.splitlines()
             if line.startswith("cancellation  ") and "  " in line}
    assert "auc" in lines[HARBOUR] and "not evaluated" not in lines[HARBOUR], out
    assert "not evaluated" in lines[LODGE] and GROUP in lines, out
    with pytest.raises(SystemExit, match="as_of must be a date"):
        cmd_evaluate(argparse.Namespace(models=["cancellation"], as_of="yesterday", evaluation_months=None), group)


def test_the_retrain_job_runs_as_of_the_run_config_day_with_its_checks(group):
    """The Dagster path: the cancellation retrain job, as of the day a run's config sets,
    materialises the model with its evaluation per property and its checks."""
    import dagster as dg

    from orchestration.definitions import build_definitions

    day = (END - timedelta(days=1)).isoformat()
    job = build_definitions(group).resolve_job_def(MODELS["cancellation"].retrain_job)
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(
            instance=instance, run_config={"resources": {"training": {"config": {"as_of": day}}}})
    assert result.success
    [materialization] = result.asset_materializations_for_node("models__cancellation")
    metadata = materialization.metadata
    assert metadata["as_of"].value == day and metadata["properties_not_evaluated"].value == LODGE
    # (promoted, or kept when an earlier test here already trained the same champion)
    assert re.match(r"v\d+ (is the champion now|registered, the champion stays): ", metadata["promotion"].value)
    checks = {e.asset_check_evaluation_data.asset_check_key.name: e.asset_check_evaluation_data.passed
              for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}
    assert set(checks) == {"beats_baseline", "training_data", "calibrated"}
    assert checks["training_data"] is True  # its newest outcome is days old, not years
