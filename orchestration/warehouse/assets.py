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


def layer(props: Mapping[str, Any]) -> str:
    """A model's layer: its folder under models/ (staging, intermediate, marts)."""
    fqn = props["fqn"]
    return fqn[1] if len(fqn) > 2 else "warehouse"


class InnsightTranslator(DagsterDbtTranslator):
    """The dbt nodes as the catalog shows them: sources are the bronze assets; a model's key
    is [layer, name], its description its yml docs (never its SQL), its table the one in the
    published file analysts open (dbt's build file is private and replaced every build)."""

    def __init__(self, published: Path):
        # Source metadata would tag the bronze deps with dbt's transient copy of them.
        super().__init__(DagsterDbtTranslatorSettings(enable_asset_checks=True,
                                                      enable_source_metadata=False))
        self.published = Path(published)

    def get_asset_key(self, props: Mapping[str, Any]) -> dg.AssetKey:
        if props["resource_type"] == "source":
            return dg.AssetKey([BRONZE, props["name"]])
        return dg.AssetKey([layer(props), props["name"]])

    def get_group_name(self, props: Mapping[str, Any]) -> str:
        return layer(props)

    def get_description(self, props: Mapping[str, Any]) -> str:
        return props.get("description") or (
            f"dbt {props['resource_type']} {props['name']} (not documented in its _*.yml)")

    def get_metadata(self, props: Mapping[str, Any]) -> Mapping[str, Any]:
        metadata = dict(super().get_metadata(props))
        if props["resource_type"] != "source":
            # The build file's catalog (marts_build) is not what anyone reads: every model is
            # published, schema and all, in the file whose stem names its catalog.
            metadata["dagster/table_name"] = f"{self.published.stem}.{props['schema']}.{props['alias']}"
            metadata["dagster/uri"] = str(self.published)
        return metadata


def with_row_counts(events: list, nodes: Mapping[str, Any], database: Path) -> list:
    """The dbt run's events, each model's materialization with its table's ``dagster/row_count``."""
    if not Path(database).exists():  # dbt failed before it wrote anything
        return events
    out = []
    with duckdb.connect(str(database), read_only=True) as con:
        for event in events:
            node = (nodes.get(event.metadata["unique_id"].value)
                    if isinstance(event, (dg.Output, dg.AssetMaterialization))
                    and "unique_id" in event.metadata else None)
            if node and node["config"].get("materialized") != "view" and node.get("relation_name"):
                try:
                    rows = con.execute(f"select count(*) from {node['relation_name']}").fetchone()[0]
                except duckdb.Error:  # a model that failed to build: its event says so
                    pass
                else:
                    event = event.with_metadata({**event.metadata, "dagster/row_count": rows})
            out.append(event)
    return out


def warehouse_assets(project, published: Path) -> list[dg.AssetsDefinition]:
    """The dbt models of the project's manifest and the published marts file (``published``:
    where analysts open it, settings.marts_path)."""
    if not Path(project.manifest_path).exists():
        raise FileNotFoundError(
            f"no dbt manifest at {project.manifest_path}: run `innsight build` (or "
            "`innsight serve`), which writes it, before loading the definitions")

    # No `project=`: dagster-dbt would put the DbtProject object in every model's metadata,
    # where the UI can only print "[DbtProject] (unserializable)"; the dbt resource knows it.
    @dbt_assets(manifest=project.manifest_path, dagster_dbt_translator=InnsightTranslator(published))
    def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource,
                   warehouse: dg.ResourceParam[Warehouse]):
        # dbt reads its profile's paths from the environment of the process it runs in
        os.environ.update(warehouse.dbt_env())
        warehouse.build_path.parent.mkdir(parents=True, exist_ok=True)
        invocation = dbt.cli(["build"], context=context)
        # dbt holds the DuckDB file until it ends: its events wait for it, then each model's
        # gets its row count, all counted on one read-only connection (dagster-dbt's
        # fetch_row_counts does the same through a dbt adapter per model, ~20 s slower).
        events, failure = [], None
        try:
            for event in invocation.stream():
                events.append(event)
        except Exception as e:  # dbt failed: the models it built still materialize, then this
            failure = e
        if failure is not None:  # dbt may still hold its file: no row counts, dbt's own error
            yield from events
            raise failure
        yield from with_row_counts(events, invocation.manifest["nodes"], warehouse.build_path)

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
