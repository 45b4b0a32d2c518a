"""The schedules of the code location: each starts the right job at the right time,
is running from the first start, and its tick asks for a run of that job."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from base.settings import Settings
from lake.sources import SOURCES
from ml.catalog import MODELS, RETRAIN_ALL_JOB
from orchestration.models.resources import TrainingTimeline
from tests.conftest import drop, extract_lines

UTC = dt.timezone.utc
# name -> (job, cron, a tick time it fires at)
SCHEDULES = {
    "hourly_pms_sync": ("pms_sync", "0 * * * *", dt.datetime(2026, 3, 14, 13, 0, tzinfo=UTC)),
    "monthly_lake_maintenance": ("lake_maintenance", "0 4 1 * *", dt.datetime(2026, 4, 1, 4, 0, tzinfo=UTC)),
    "hourly_prediction_log_compaction": ("lake_maintenance", "45 * * * *", dt.datetime(2026, 3, 14, 13, 45, tzinfo=UTC)),
    "nightly_retraining": (RETRAIN_ALL_JOB, "0 2 * * *", dt.datetime(2026, 3, 15, 2, 0, tzinfo=UTC)),
    "pricing_optimisation": ("pricing_optimisation", "0 3 * * *", dt.datetime(2026, 3, 15, 3, 0, tzinfo=UTC)),
    "weekly_vector_maintenance": ("vector_maintenance", "30 3 * * 0", dt.datetime(2026, 3, 15, 3, 30, tzinfo=UTC)),
    "attendance_no_show_check": ("attendance_no_shows", "*/15 * * * *", dt.datetime(2026, 3, 14, 13, 15, tzinfo=UTC)),
    "task_escalation_check": ("task_escalation", "*/5 * * * *", dt.datetime(2026, 3, 14, 13, 5, tzinfo=UTC)),
    "monthly_archival_schedule": ("monthly_archival", "30 4 1 * *", dt.datetime(2026, 4, 1, 4, 30, tzinfo=UTC)),
    "daily_flash_schedule": ("reports_daily", "30 6 * * *", dt.datetime(2026, 3, 15, 6, 30, tzinfo=UTC)),
    "weekly_review_schedule": ("reports_weekly", "0 7 * * 1", dt.datetime(2026, 3, 16, 7, 0, tzinfo=UTC)),
    "monthly_pack_schedule": ("reports_monthly", "30 7 1 * *", dt.datetime(2026, 4, 1, 7, 30, tzinfo=UTC)),
}
# The period each report schedule renders at its tick: the last one complete.
REPORT_PERIODS = {"daily_flash_schedule": "2026-03-14", "weekly_review_schedule": "2026-03-09",
                  "monthly_pack_schedule": "2026-03-01"}


@pytest.fixture(scope="module")
def platform(tmp_path_factory) -> tuple[Settings, dg.Definitions]:
    from orchestration.definitions import build_definitions
    from orchestration.warehouse.resources import prepare_manifest

    settings = Settings(home=tmp_path_factory.mktemp("schedules") / "home")
    prepare_manifest(settings)
    return settings, build_definitions(settings)


def selected(defs: dg.Definitions, job_name: str) -> set[str]:
    job = defs.resolve_job_def(job_name)
    return {key.to_user_string() for key in job.asset_layer.executable_asset_keys}


def run_tick(defs: dg.Definitions, name: str) -> dg.ExecuteInProcessResult:
    """The schedule's run request at its tick, executed (it must succeed)."""
    job_name, _, tick = SCHEDULES[name]
    [request] = defs.get_schedule_def(name).evaluate_tick(
        dg.build_schedule_context(scheduled_execution_time=tick)).run_requests
    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def(request.job_name or job_name).execute_in_process(
            run_config=request.run_config, tags=request.tags, instance=instance)
    assert result.success
    return result


def test_exactly_these_schedules(platform):
    _, defs = platform
    assert {s.name for s in defs.schedules} == set(SCHEDULES)


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_each_schedule_targets_its_job_on_its_cron_running_by_default(platform, name):
    _, defs = platform
    job_name, cron, tick = SCHEDULES[name]
    schedule = defs.get_schedule_def(name)
    assert schedule.job_name == job_name
    assert schedule.cron_schedule == cron
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert schedule.execution_timezone in (None, "UTC")
    job = defs.resolve_job_def(job_name)  # the job is in the code location
    assert job.name == job_name

    result = schedule.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=tick))
    assert result.skip_message is None
    [request] = result.run_requests
    assert request.job_name in (None, job_name)  # None: the schedule's own job
    assert request.tags["dagster/schedule_name"] == name
    assert request.asset_selection is None  # the whole job, as defined


@pytest.mark.parametrize("name", sorted(REPORT_PERIODS))
def test_each_report_schedule_renders_the_last_complete_period(platform, name):
    _, defs = platform
    tick = SCHEDULES[name][2]
    result = defs.get_schedule_def(name).evaluate_tick(
        dg.build_schedule_context(scheduled_execution_time=tick))
    [request] = result.run_requests
    assert request.partition_key == REPORT_PERIODS[name]


def test_what_each_scheduled_job_builds(platform):
    _, defs = platform
    pms = {f"bronze/{n}" for n, s in SOURCES.items() if s.folder == "pms"}
    hourly = selected(defs, "pms_sync")
    assert pms <= hourly and "warehouse/marts_file" in hourly
    assert not {k for k in hourly if k.startswith(("bronze/", )) and k not in pms}  # PMS only
    assert not {k for k in hourly if k.startswith(("models/", "features/", "pricing/"))}

    nightly = selected(defs, RETRAIN_ALL_JOB)
    assert {f"models/{name}" for name in MODELS} <= nightly
    assert {k for k in nightly if k.startswith("features/")}
    assert not {k for k in nightly if k.startswith(("bronze/", "warehouse/", "pricing/"))}

    # the 03:00 run: the prices, then the PMS's rate update of what moved
    assert selected(defs, "pricing_optimisation") == {"pricing/price_schedule", "pricing/rate_update"}
    assert selected(defs, "attendance_no_shows") == {"ops/no_shows"}
    assert selected(defs, "task_escalation") == {"ops/task_escalations"}
    assert selected(defs, "monthly_archival") == {"ops/archival"}
    assert selected(defs, "lake_maintenance") == set()  # an op job, not assets
    assert [n.name for n in defs.resolve_job_def("lake_maintenance").nodes] == ["maintain_lake_tables"]


def test_the_maintenance_tick_runs_and_compacts_the_settings_lake(platform):
    """The monthly tick's run request, executed: every lake table of the settings' home is
    compacted, and reads the same afterwards."""
    from lake.ingest import LandingZone

    settings, defs = platform
    zone = LandingZone.from_settings(settings)
    lines = extract_lines(60)
    inserted = 0
    for i in range(3):  # three commits, three small files
        inserted += zone.ingest(drop(settings.home, "pms", f"day{i}.csv",
                                     "\n".join([lines[0], *lines[1 + 20 * i: 21 + 20 * i]]) + "\n")).rows_inserted
    before = zone.lake.read("bronze/pms_bookings").sort("booking_id")
    assert before.height == inserted > 50

    report = run_tick(defs, "monthly_lake_maintenance").output_for_node("maintain_lake_tables")
    assert {"bronze/pms_bookings", "quarantine", "ingest_log"} <= set(report)
    assert report["bronze/pms_bookings"]["files_removed"] >= 3
    assert report["bronze/pms_bookings"]["files_added"] == 1
    after = zone.lake.read("bronze/pms_bookings").sort("booking_id")
    assert after.equals(before)


def test_the_hourly_tick_compacts_the_prediction_log_alone(platform):
    """The API's prediction log (a commit per flush) is compacted every hour, and only it:
    its rows read the same afterwards, and a flush after it still lands."""
    from lake.delta_tables import Lake
    from lake.tables import ML_PREDICTIONS
    from serving.services.predictions import PredictionLog

    settings, defs = platform
    lake = Lake.from_settings(settings)
    log = PredictionLog(lake, settings.home / "serving" / "predictions_spool")
    for i in range(4):  # four flushes, four small files
        log.record(model="cancellation", version="1", endpoint="churn/predict",
                   inputs={"booking_id": f"B{i}"}, outputs={"churn_probability": i / 10},
                   latency_ms=1.0)
        assert log.flush() == 1
    before = lake.read(ML_PREDICTIONS.name).sort("prediction_id")

    report = run_tick(defs, "hourly_prediction_log_compaction").output_for_node("maintain_lake_tables")
    assert set(report) == {ML_PREDICTIONS.name}
    assert report[ML_PREDICTIONS.name]["files_removed"] >= 4
    assert lake.read(ML_PREDICTIONS.name).sort("prediction_id").equals(before)
    log.record(model="cancellation", version="1", endpoint="churn/predict", inputs={},
               outputs={}, latency_ms=1.0)
    assert log.flush() == 1 and lake.read(ML_PREDICTIONS.name).height == before.height + 1


def test_maintenance_refuses_a_table_not_in_the_registry(platform):
    """A mistyped table name in the job's config fails the run and names the known tables."""
    _, defs = platform
    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("lake_maintenance").execute_in_process(
            run_config={"ops": {"maintain_lake_tables": {"config": {"tables": ["serving/ml_prediction"]}}}},
            instance=instance, raise_on_error=False)
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert "serving/ml_prediction" in str(failure.step_failure_data.error.message)
    assert "serving/ml_predictions" in str(failure.step_failure_data.error.message)


def test_the_vector_maintenance_tick_compacts_the_lancedb_tables(platform):
    """The weekly tick's run request, executed on a LanceDB table of three small appends:
    compacted into fewer fragments, every row still there."""
    import lancedb
    import pyarrow as pa

    settings, defs = platform
    db = lancedb.connect(settings.vectors_root)
    table = db.create_table("maintenance_probe", pa.table({"id": [0], "vector": [[0.0, 1.0]]}))
    for i in (1, 2):
        table.add(pa.table({"id": [i], "vector": [[float(i), 1.0]]}))
    job_name, _, tick = SCHEDULES["weekly_vector_maintenance"]
    [request] = defs.get_schedule_def("weekly_vector_maintenance").evaluate_tick(
        dg.build_schedule_context(scheduled_execution_time=tick)).run_requests
    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def(request.job_name or job_name).execute_in_process(
            run_config=request.run_config, tags=request.tags, instance=instance)
    assert result.success
    report = result.output_for_node("maintain_vector_tables")["maintenance_probe"]
    assert report["fragments_before"] == 3 and report["fragments_after"] == 1
    assert report["rows"] == 3 == db.open_table("maintenance_probe").count_rows()


def test_a_run_may_set_the_as_of_day_the_models_train_on(platform, tmp_path):
    """The `training` resource carries the settings' timeline; a run's config may set
    another as-of day (a backfill: retrain as the platform would have on that day)."""
    from orchestration.definitions import build_definitions
    from orchestration.warehouse.resources import prepare_manifest

    settings, defs = platform
    for job in (RETRAIN_ALL_JOB, MODELS["cancellation"].retrain_job):
        job_def = defs.resolve_job_def(job)
        dg.validate_run_config(job_def, {"resources": {"training": {"config": {"as_of": "2016-12-31"}}}})
        with pytest.raises(dg.DagsterInvalidConfigError):
            dg.validate_run_config(job_def, {"resources": {"training": {"config": {"as_of": 20161231}}}})
    assert defs.resources["training"].timeline().as_of == dt.date.today() - dt.timedelta(days=1)
    # what a model asset is handed when a run sets the day
    seen = {}

    @dg.asset
    def probe(training: TrainingTimeline):
        seen["timeline"] = training.timeline()

    assert dg.materialize([probe], resources={"training": defs.resources["training"]},
                          run_config={"resources": {"training": {"config": {"as_of": "2016-12-31"}}}}).success
    assert seen["timeline"].as_of == dt.date(2016, 12, 31)
    backfill = Settings(home=tmp_path / "home", as_of=dt.date(2016, 12, 31), evaluation_months=8)
    prepare_manifest(backfill)
    training = build_definitions(backfill).resources["training"].timeline()
    assert (training.as_of, training.evaluation_months) == (dt.date(2016, 12, 31), 8)
