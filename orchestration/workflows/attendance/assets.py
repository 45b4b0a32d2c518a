"""Late check-ins and no-shows, told to the department's supervisor once each."""

from datetime import timedelta

import dagster as dg
import duckdb
import polars as pl

from orchestration.warehouse import MARTS_FILE
from orchestration.warehouse.resources import Warehouse
from orchestration.workflows.resources import WORKFLOWS, Operations
from operations.workflows import attendance_late, no_shows

FCT_ATTENDANCE = dg.AssetKey(["marts", "fct_attendance"])
# Lateness this recent is news; older rows of the mart were told (or predate the workflow).
LOOKBACK = timedelta(hours=12)


@dg.asset(
    key=["ops", "attendance_notices"], group_name=WORKFLOWS, deps=[FCT_ATTENDANCE, MARTS_FILE],
    kinds={"duckdb", "email"},
    description="Late check-ins of the last 12 hours in `fct_attendance` (late beyond the grace "
                "period): one notice per shift to the department's supervisor, through the "
                "outbox (keyed attendance-late:<shift_id>, so a repeated event or a retried run "
                "sends nothing new).",
)
def attendance_notices(context: dg.AssetExecutionContext, ops: dg.ResourceParam[Operations],
                       warehouse: dg.ResourceParam[Warehouse]) -> dg.MaterializeResult:
    since = ops.now() - LOOKBACK
    with duckdb.connect(str(warehouse.marts_path), read_only=True) as con:
        late = pl.from_arrow(con.sql(
            "select shift_id, employee_id, hotel, department, start_at, check_in_at, minutes_late "
            "from fct_attendance where is_late and check_in_at >= ? order by check_in_at",
            params=[since]).to_arrow_table())
    counts = ops.send(attendance_late(late, ops.hotels))
    context.log.info(f"{late.height} late check-ins since {since:%Y-%m-%d %H:%M}: {counts}")
    return dg.MaterializeResult(metadata={"late_shifts": late.height, **counts,
                                          "shifts": dg.MetadataValue.json(late["shift_id"].to_list()[:50])})


@dg.asset(
    key=["ops", "no_shows"], group_name=WORKFLOWS, kinds={"delta", "email"},
    deps=[dg.AssetKey(["bronze", "shifts"]), dg.AssetKey(["bronze", "attendance_events"])],
    description="Shifts of the last 12 hours that started more than the grace period ago with "
                "no check-in: a notice to the department's supervisor per shift (keyed "
                "attendance-absent:<shift_id>). Checked every 15 minutes.",
)
def no_show_notices(context: dg.AssetExecutionContext,
                    ops: dg.ResourceParam[Operations]) -> dg.MaterializeResult:
    lake, at = ops.lake, ops.now()
    shifts = lake.read("bronze/shifts", columns=["shift_id", "employee_id", "hotel", "start_at", "end_at"])
    if shifts.is_empty():
        return dg.MaterializeResult(metadata={"no_shows": 0, "note": "no shifts in the lake yet"})
    events = lake.read("bronze/attendance_events", columns=["employee_id", "event_at", "action"])
    if not events.columns:  # no event ever: every started shift is a no-show
        events = pl.DataFrame(schema={"employee_id": pl.String, "action": pl.String,
                                      "event_at": pl.Datetime("us", "UTC")})
    employees = ops.board.roster.employees().with_columns(full_name=pl.lit(None, pl.String))
    missing, messages = no_shows(shifts, events, employees, at, ops.grace_minutes, ops.hotels)
    counts = ops.send(messages)
    context.log.info(f"{missing.height} no-shows: {counts}")
    return dg.MaterializeResult(metadata={"no_shows": missing.height, **counts,
                                          "shifts": dg.MetadataValue.json(missing["shift_id"].to_list()[:50])})
