"""dbt models as assets (dbt tests become asset checks), then the atomically published marts file."""


import os
from pathlib import Path
from typing import Any, Mapping

import dagster as dg
import duckdb
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from base.settings import get_settings
from orchestration.ingest.assets import BRONZE
from orchestration.warehouse import MARTS_FILE
from orchestration.warehouse.resources import dbt_project, prepare_manifest, use_current_settings

DBT_PROJECT = dbt_project()
if not DBT_PROJECT.manifest_path.exists():  # first load on a fresh clone
    prepare_manifest()


PUBLISHED_STORAGE_VERSION = "v1.4.0"


class InnsightTranslator(DagsterDbtTranslator):
    """dbt sources are the bronze assets; models are grouped by layer (staging, marts...)."""

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source":
            return spec.replace_attributes(key=dg.AssetKey([BRONZE, props["name"]]))
        layer = props["fqn"][1] if len(props["fqn"]) > 2 else "warehouse"
        return spec.replace_attributes(group_name=layer, kinds={"dbt", "duckdb"})


@dbt_assets(
    manifest=DBT_PROJECT.manifest_path,
    project=DBT_PROJECT,
    dagster_dbt_translator=InnsightTranslator(
        settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)),
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    use_current_settings()
    yield from dbt.cli(["build"], context=context).stream()


MART_KEYS = [key for key, group in dbt_models.group_names_by_key.items() if group == "marts"]


@dg.asset(
    key=MARTS_FILE,
    group_name="warehouse",
    deps=MART_KEYS,
    kinds={"duckdb"},
    description="The DuckDB file analysts open (var/warehouse/marts.duckdb). dbt builds into a "
                "private file; this copies it and swaps it in with an atomic rename, so "
                "readers never see a half-built file and never block a build.",
    check_specs=[dg.AssetCheckSpec("readable", asset=MARTS_FILE,
                                   description="The published file opens read-only and holds every mart.")],
)
def marts_file(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    s = get_settings()
    published = publish(s.dbt_build_path, s.marts_path)
    with duckdb.connect(str(published), read_only=True) as con:
        tables = dict(con.execute(
            "select table_name, estimated_size from duckdb_tables() "
            "where schema_name = 'main' order by table_name").fetchall())
    marts = [k.path[-1] for k in MART_KEYS]
    missing = [m for m in marts if m not in tables]
    return dg.MaterializeResult(
        metadata={"path": dg.MetadataValue.path(str(published)),
                  "size_bytes": published.stat().st_size,
                  "tables": dg.MetadataValue.json(tables)},
        check_results=[dg.AssetCheckResult(check_name="readable", passed=not missing,
                                           metadata={"missing_marts": missing})],
    )


def publish(build_path: Path, published_path: Path) -> Path:
    """Copy the built database next to the published file, then rename over it.

    The rename is atomic: a reader sees the old file or the new one, never a half-built
    one, and readers holding the old file keep it until they close. The copy is written
    in a storage version the DuckDB 1.4+ CLI reads as well as DuckDB 2.
    """
    published_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = published_path.with_name(f".{published_path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    with duckdb.connect() as con:
        con.execute(f"ATTACH '{build_path}' AS build (READ_ONLY)")
        con.execute(f"ATTACH '{tmp}' AS published (STORAGE_VERSION '{PUBLISHED_STORAGE_VERSION}')")
        con.execute("COPY FROM DATABASE build TO published")
    os.replace(tmp, published_path)
    return published_path
