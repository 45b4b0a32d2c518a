"""The rate update of each pricing run: what moved since the previous schedule."""

import dagster as dg
import polars as pl

from base.files import atomic_path
from lake.tables import PRICE_SCHEDULE
from orchestration.pricing.assets import PRICING
from orchestration.workflows.resources import Operations
from operations.workflows import price_changes, rate_update_messages


@dg.asset(
    key=[PRICING, "rate_update"], group_name=PRICING, deps=[[PRICING, "price_schedule"]],
    kinds={"csv", "email"},
    description="The prices this run changed (more than 0.5%, or a new date) against the "
                f"previous version of `{PRICE_SCHEDULE.name}`: a CSV for the PMS in "
                "outbound/rates/, the same rates to the PMS webhook (INNSIGHT_RATE_UPDATE_WEBHOOK, "
                "signed) and to each hotel's revenue manager a summary of what moved and why "
                "(expected occupancy, competitors), all through the outbox.",
)
def rate_update(context: dg.AssetExecutionContext,
                ops: dg.ResourceParam[Operations]) -> dg.MaterializeResult:
    lake = ops.lake
    version = lake.version(PRICE_SCHEDULE.name)
    if version is None:
        return dg.MaterializeResult(metadata={"changes": 0, "note": "no price schedule yet"})
    current = lake.read(PRICE_SCHEDULE.name)
    previous = (lake.read(PRICE_SCHEDULE.name, version=version - 1) if version > 0
                else pl.DataFrame(schema=PRICE_SCHEDULE.schema))
    changes = price_changes(previous, current).sort("hotel", "room_type", "date")
    run_key = f"v{version}"  # one update per version of the schedule, whatever retries
    name = f"rates-{run_key}.csv"
    path = ops.outbound_dir / "rates" / name
    if changes.height and not path.exists():
        with atomic_path(path) as tmp:
            changes.select("hotel", "room_type", "date", "suggested_price", "previous_price",
                           "model_version", "generated_at").write_csv(tmp)
    counts = ops.send(rate_update_messages(changes, run_key, name, ops.hotels))
    context.log.info(f"{changes.height} prices changed in schedule {run_key}: {counts}")
    return dg.MaterializeResult(metadata={
        "changes": changes.height, "schedule_version": version, **counts,
        **({"file": dg.MetadataValue.path(str(path))} if changes.height else {})})
