"""The 03:00 price schedule: the champion pricing model's suggestions for the coming days."""

from datetime import date, datetime, timezone

import dagster as dg
import pandas as pd
import polars as pl

from lake.delta_tables import ROW_HASH, Lake, MergeResult
from lake.tables import PRICE_SCHEDULE
from ml.registry import ModelRegistry
from orchestration.models.assets import MODELS_GROUP

PRICING = "pricing"


def build_price_schedule_asset(horizon_days: int) -> dg.AssetsDefinition:
    @dg.asset(
        key=[PRICING, "price_schedule"], group_name=PRICING, deps=[[MODELS_GROUP, "pricing"]],
        kinds={"delta", "mlflow"},
        description="Suggested price per hotel, room type and stay date for the coming "
                    f"{horizon_days} days, from the champion pricing model under the business "
                    "rules (floor, ceiling, maximum daily change, band around competitors). "
                    f"Upserted into the lake table `{PRICE_SCHEDULE.name}` (one row per hotel, "
                    "room type and date).",
    )
    def price_schedule(context: dg.AssetExecutionContext, lake: dg.ResourceParam[Lake],
                       registry: dg.ResourceParam[ModelRegistry]) -> dg.MaterializeResult:
        start = date.today()  # today's row is the price in effect (GET /pricing/current)
        schedule, result, version = publish_schedule(lake, registry, start, horizon_days)
        hotels = schedule["hotel"].nunique()
        context.log.info(f"{len(schedule)} prices for {hotels} hotels from {start}, "
                         f"model v{version}: {result.inserted} new, {result.updated} changed")
        return dg.MaterializeResult(metadata={
            "dagster/row_count": len(schedule), "model_version": version,
            "first_date": str(start), "hotels": hotels,
            "preview": dg.MetadataValue.md(schedule.head(14).to_markdown(index=False, floatfmt=".2f")),
        })

    return price_schedule


def publish_schedule(lake: Lake, registry: ModelRegistry, start: date,
                     days: int) -> tuple[pd.DataFrame, MergeResult, str]:
    """The champion's prices for `days` stay dates from `start`, every hotel and room type,
    upserted into the lake table; returns the schedule, the merge result and the version."""
    version = registry.champion_version("pricing")
    if version is None:
        raise RuntimeError("no pricing champion registered: train the pricing model first")
    model = registry.load_version("pricing", version)
    schedule = pd.concat([model.optimise(hotel, start, days) for hotel in model.hotels()])
    frame = pl.from_pandas(schedule).with_columns(
        pl.col("date").str.to_date(),
        pl.lit(version).alias("model_version"),
        pl.lit(datetime.now(timezone.utc)).cast(pl.Datetime("us", "UTC")).alias("generated_at"),
    )
    frame = frame.with_columns(
        pl.struct([c for c in frame.columns if c != "generated_at"]).hash().cast(pl.String)
        .alias(ROW_HASH)).select(list(PRICE_SCHEDULE.schema))
    lake.ensure(PRICE_SCHEDULE.name, PRICE_SCHEDULE.schema)
    return schedule, lake.merge(PRICE_SCHEDULE.name, frame, list(PRICE_SCHEDULE.keys)), version
