"""dbt models as assets (dbt tests become asset checks), then the atomically published marts file."""


import os
from pathlib import Path
from typing import Any, Mapping

import dagster as dg
import duckdb
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from base.files import atomic_path
from orchestration.ingest.assets import BRONZE
from orchestration.warehouse import MARTS_FILE
from orchestration.warehouse.resources import Warehouse

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


def warehouse_assets(project) -> list[dg.AssetsDefinition]:
    """The dbt models of the project's manifest and the published marts file."""
    if not Path(project.manifest_path).exists():
        raise FileNotFoundError(
            f"no dbt manifest at {project.manifest_path}: run `innsight build` (or "
            "`innsight serve`), which writes it, before loading the definitions")

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        dagster_dbt_translator=InnsightTranslator(
            settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)),
    )
    def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource,
                   warehouse: dg.ResourceParam[Warehouse]):
        # dbt reads its profile's paths from the environment of the process it runs in
        os.environ.update(warehouse.dbt_env())
        warehouse.build_path.parent.mkdir(parents=True, exist_ok=True)
        yield from dbt.cli(["build"], context=context).stream()

    mart_keys = [key for key, group in dbt_models.group_names_by_key.items() if group == "marts"]

    @dg.asset(
        key=MARTS_FILE,
        group_name="warehouse",
        deps=mart_keys,
        kinds={"duckdb"},
        description="The DuckDB file analysts open (var/warehouse/marts.duckdb). dbt builds into a "
                    "private file; this copies it and swaps it in with an atomic rename, so "
                    "readers never see a half-built file and never block a build.",
        check_specs=[dg.AssetCheckSpec("readable", asset=MARTS_FILE,
                                       description="The published file opens read-only and holds every mart.")],
    )
    def marts_file(context: dg.AssetExecutionContext,
                   warehouse: dg.ResourceParam[Warehouse]) -> dg.MaterializeResult:
        published = publish(warehouse.build_path, warehouse.marts_path)
        with duckdb.connect(str(published), read_only=True) as con:
            tables = dict(con.execute(
                "select table_name, estimated_size from duckdb_tables() "
                "where schema_name = 'main' order by table_name").fetchall())
        marts = [k.path[-1] for k in mart_keys]
        missing = [m for m in marts if m not in tables]
        return dg.MaterializeResult(
            metadata={"path": dg.MetadataValue.path(str(published)),
                      "size_bytes": published.stat().st_size,
                      "tables": dg.MetadataValue.json(tables)},
            check_results=[dg.AssetCheckResult(check_name="readable", passed=not missing,
                                               metadata={"missing_marts": missing})],
        )

    return [dbt_models, marts_file]


def publish(build_path: Path, published_path: Path) -> Path:
    """Copy the built database next to the published file, then rename over it.

    The rename is atomic: a reader sees the old file or the new one, never a half-built
    one, and readers holding the old file keep it until they close. The copy is written
    in a storage version the DuckDB 1.4+ CLI reads as well as DuckDB 2.
    """
    with atomic_path(published_path) as tmp:
        with duckdb.connect() as con:
            con.execute(f"ATTACH '{build_path}' AS build (READ_ONLY)")
            con.execute(f"ATTACH '{tmp}' AS published (STORAGE_VERSION '{PUBLISHED_STORAGE_VERSION}')")
            con.execute("COPY FROM DATABASE build TO published")
    return published_path
