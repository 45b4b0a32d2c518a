"""Cancellation risk of each new booking event, and the retention actions of the risky ones."""

import dagster as dg
import polars as pl

from lake.tables import BOOKING_ACTIONS
from ml.registry import ModelRegistry
from orchestration.workflows.resources import WORKFLOWS, Operations
from operations.workflows import booking_risk

BOOKINGS = dg.AssetKey(["bronze", "pms_bookings"])
MODEL = "cancellation"


@dg.asset(
    key=["ops", "booking_actions"], group_name=WORKFLOWS, deps=[BOOKINGS],
    kinds={"delta", "mlflow", "email"},
    description="Bookings that came as events from the API (not the PMS's bulk exports), live "
                "and not scored yet: the cancellation champion's probability, and for a risk at "
                "or above INNSIGHT_HIGH_RISK_THRESHOLD the recommended actions, recorded in "
                f"`{BOOKING_ACTIONS.name}`, with the front desk's confirmation notice carrying "
                "them (booking-risk:<booking_id>).",
)
def booking_actions(context: dg.AssetExecutionContext, ops: dg.ResourceParam[Operations],
                    registry: dg.ResourceParam[ModelRegistry]) -> dg.MaterializeResult:
    lake, at = ops.lake, ops.now()
    lake.ensure(BOOKING_ACTIONS.name, BOOKING_ACTIONS.schema)
    scored = lake.read(BOOKING_ACTIONS.name, columns=["booking_id"])["booking_id"]
    bookings = lake.read("bronze/pms_bookings")
    new = bookings.filter(pl.col("_source_file").str.contains("-api-")
                          & ~pl.col("is_canceled") & (pl.col("arrival_date") >= at.date())
                          & ~pl.col("booking_id").is_in(scored.implode()))
    if new.is_empty():
        return dg.MaterializeResult(metadata={"bookings_scored": 0, "messages_queued": 0})
    version = registry.champion_version(MODEL)
    if version is None:
        raise RuntimeError("no cancellation champion registered: train the models first "
                           "(the nightly_retraining job)")
    model = registry.load_version(MODEL, version)
    scores = pl.from_pandas(model.predict(new.drop([c for c in new.columns if c.startswith("_")])
                                          .to_pandas()))
    rows, messages = booking_risk(new, scores, ops.high_risk_threshold, ops.hotels, MODEL,
                                  version, at)
    counts = ops.send(messages)  # the outbox first: a crash before the record rescores (same keys)
    lake.merge(BOOKING_ACTIONS.name, rows, list(BOOKING_ACTIONS.keys))
    high = rows.filter(pl.col("probability") >= ops.high_risk_threshold)
    context.log.info(f"{rows.height} bookings scored, {high.height} high risk: {counts}")
    return dg.MaterializeResult(metadata={
        "bookings_scored": rows.height, "high_risk": high.height, "model_version": version,
        **counts, "preview": dg.MetadataValue.md(
            rows.select("booking_id", "hotel", "probability", "risk_level").head(20)
            .to_pandas().to_markdown(index=False, floatfmt=".2f"))})
