"""The 03:00 price schedule: the champion pricing model's suggestions for the coming days."""

from datetime import date, datetime, timezone

import dagster as dg
import pandas as pd
import polars as pl

from base.settings import get_settings
from lake import delta_tables as dt
from ml.dynamic_pricing import SCHEDULE_TABLE, optimise
from ml.registry import champion_version, load_champion
from orchestration.models.assets import MODELS_GROUP

KEYS = ["hotel", "room_type", "date"]


@dg.asset(
    key=["pricing", "price_schedule"], group_name="pricing", deps=[[MODELS_GROUP, "pricing"]],
    kinds={"delta", "mlflow"},
    description="Suggested price per hotel, room type and stay date for the coming days, from "
                "the champion pricing model under the business rules (floor, ceiling, maximum "
                "daily change, band around competitors). Upserted into the lake table "
                f"`{SCHEDULE_TABLE}` (one row per hotel, room type and date).",
)
def price_schedule(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    start = date.today()  # today's row is the price in effect (GET /pricing/current)
    schedule, result, version = publish_schedule(start, get_settings().pricing_horizon_days)
    hotels = schedule["hotel"].nunique()
    context.log.info(f"{len(schedule)} prices for {hotels} hotels from {start}, "
                     f"model v{version}: {result.inserted} new, {result.updated} changed")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(schedule), "model_version": version, "first_date": str(start),
        "hotels": hotels,
        "preview": dg.MetadataValue.md(schedule.head(14).to_markdown(index=False, floatfmt=".2f")),
    })


def publish_schedule(start: date, days: int) -> tuple[pd.DataFrame, dt.MergeResult, str]:
    """The champion's prices for `days` stay dates from `start`, every hotel and room type,
    upserted into the lake table; returns the schedule, the merge result and the version."""
    s = get_settings()
    model = load_champion("pricing")
    version = champion_version("pricing")
    hotels = sorted(model.unwrap_python_model().tables["inventory"]["hotel"].unique())
    schedule = pd.concat([optimise(model, hotel, start, days) for hotel in hotels])
    frame = pl.from_pandas(schedule).with_columns(
        pl.col("date").str.to_date(),
        pl.lit(version).alias("model_version"),
        pl.lit(datetime.now(timezone.utc)).cast(pl.Datetime("us", "UTC")).alias("generated_at"),
    )
    frame = frame.with_columns(
        pl.struct([c for c in frame.columns if c != "generated_at"]).hash().cast(pl.String)
        .alias(dt.ROW_HASH))
    uri = s.table_uri(SCHEDULE_TABLE)
    dt.ensure_table(uri, dict(frame.schema))
    return schedule, dt.merge(uri, frame, KEYS), version
