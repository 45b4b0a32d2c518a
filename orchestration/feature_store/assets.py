"""The Feast feature repository as assets: sources exported from the marts, `feast apply`,
and materialisation to the online store (SQLite, or Redis in production)."""

import dagster as dg

from features.store import FeatureStore
from orchestration.warehouse import MARTS_FILE
from orchestration.warehouse.resources import Warehouse

FEATURES = "features"


@dg.asset(key=[FEATURES, "sources"], group_name=FEATURES, deps=[MARTS_FILE], kinds={"parquet"},
          description="Feature sources: parquet exports of the marts (event timestamps in "
                      "microseconds, UTC), written atomically, read by Feast's offline store.")
def feature_sources(context: dg.AssetExecutionContext, feature_store: dg.ResourceParam[FeatureStore],
                    warehouse: dg.ResourceParam[Warehouse]) -> dg.MaterializeResult:
    counts = feature_store.export_sources(warehouse.marts_path)
    context.log.info(f"exported {counts}")
    return dg.MaterializeResult(metadata={"rows": dg.MetadataValue.json(counts),
                                          "dagster/row_count": sum(counts.values())})


@dg.asset(key=[FEATURES, "registry"], group_name=FEATURES, deps=[feature_sources], kinds={"feast"},
          description="`feast apply`: entities (booking, guest, hotel, room type, date), "
                      "feature views over the marts and a feature service per model.")
def feature_registry(context: dg.AssetExecutionContext,
                     feature_store: dg.ResourceParam[FeatureStore]) -> dg.MaterializeResult:
    applied = feature_store.apply()
    return dg.MaterializeResult(metadata={k: dg.MetadataValue.json(v) for k, v in applied.items()})


@dg.asset(key=[FEATURES, "online_store"], group_name=FEATURES, deps=[feature_registry],
          kinds={"feast"},
          description="Latest feature values per entity materialised to the online store, "
                      "where the serving API reads them.")
def online_store(context: dg.AssetExecutionContext,
                 feature_store: dg.ResourceParam[FeatureStore]) -> dg.MaterializeResult:
    result = feature_store.materialize()
    return dg.MaterializeResult(metadata={
        "online_store": result["online_store"], "seconds": result["seconds"],
        "feature_views": dg.MetadataValue.json(result["feature_views"])})


FEATURE_ASSETS = [feature_sources, feature_registry, online_store]
