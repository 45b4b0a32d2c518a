"""One bronze asset per source: ingest the files waiting in landing/, report what happened."""

from datetime import timedelta
from pathlib import Path
from typing import Mapping

import dagster as dg
import polars as pl
import yaml

from lake.ingest import IngestResult, LandingZone
from lake.readers import LandingFileError
from lake.sources import SOURCES, Source
from lake.tables import bronze

BRONZE = "bronze"


def bronze_key(source: Source) -> dg.AssetKey:
    return dg.AssetKey([BRONZE, source.name])


def bronze_column_docs(dbt_project_dir: Path) -> dict[str, dict[str, str]]:
    """Column descriptions per bronze table, written once: in the dbt sources
    (models/staging/_sources.yml), which dbt's docs and the bronze assets both show."""
    sources = yaml.safe_load((Path(dbt_project_dir) / "models" / "staging" / "_sources.yml").read_text())
    return {table["name"]: {c["name"]: c.get("description", "") for c in table.get("columns", [])}
            for source in sources["sources"] if source["name"] == BRONZE for table in source["tables"]}


def _table_schema(source: Source, column_docs: Mapping[str, str]) -> dg.TableSchema:
    """The bronze table's columns (the lake's schema: contract columns, derived and lineage
    columns) with their types and descriptions."""
    return dg.TableSchema(columns=[dg.TableColumn(name, str(dtype), description=column_docs.get(name))
                                   for name, dtype in bronze(source).schema.items()])


def _check_specs(source: Source) -> list[dg.AssetCheckSpec]:
    key = bronze_key(source)
    return [
        dg.AssetCheckSpec("contract", asset=key, description=(
            "Rows of the files ingested in this run that broke the source contract (they are "
            "in lake/quarantine with the reason and the raw line). Fails when their share "
            "exceeds the error budget (settings.quarantine_tolerance).")),
        dg.AssetCheckSpec("row_count_sanity", asset=key, description=(
            "Every row read is loaded, collapsed as an identical repeat, or quarantined; "
            "and the table never shrinks.")),
    ]


def build_bronze_asset(source: Source, freshness_hours: int, tolerance: float,
                       column_docs: Mapping[str, str] | None = None) -> dg.AssetsDefinition:
    """The bronze asset of a source; ``tolerance``: the contract check's error budget (share
    of rows read that may be quarantined); ``column_docs``: its columns' descriptions."""

    @dg.asset(
        key=bronze_key(source),
        group_name=BRONZE,
        description=f"{source.description}\n\nLanding: `landing/{source.folder}/` "
                    f"({', '.join(source.patterns)}); key: {', '.join(source.keys)}; "
                    f"{'insert-only' if source.insert_only else 'upsert'} merge.",
        kinds={"delta", "polars"},
        check_specs=_check_specs(source),
        metadata={"dagster/column_schema": _table_schema(source, column_docs or {}),
                  "landing_folder": f"landing/{source.folder}/"},
        pool=f"bronze_{source.name}",  # one writer per Delta table at a time
        freshness_policy=dg.FreshnessPolicy.time_window(
            fail_window=timedelta(hours=freshness_hours),
            warn_window=timedelta(hours=max(1, freshness_hours // 2))),
    )
    def _bronze(context: dg.AssetExecutionContext,
                landing: dg.ResourceParam[LandingZone]) -> dg.MaterializeResult:
        landing.ensure_tables(source)
        # "Never shrinks" is judged against the count this asset last reported, so rows lost
        # between runs (a bad manual delete, a vacuum gone wrong) fail the check too.
        last = _last_row_count(context)
        rows_before = _row_count(landing, source) if last is None else last
        results: list[IngestResult] = []
        unreadable: list[LandingFileError] = []
        for path in landing.files(source):
            try:
                result = landing.ingest(path, source)
            except LandingFileError as exc:
                context.log.error(str(exc))
                unreadable.append(exc)
                continue
            if result.skipped:  # ingested before (same content)
                continue
            context.log.info(
                f"{result.source_file}: {result.rows_loaded} loaded "
                f"({result.rows_inserted} new, {result.rows_updated} updated), "
                f"{result.rows_quarantined} quarantined")
            results.append(result)
        rows_after = _row_count(landing, source)
        summary = _summary(results, rows_after, landing.lake.version(source.table))
        if unreadable:
            # Good files above are committed; the run fails so the operator sees the file.
            raise dg.Failure(
                description="; ".join(str(e) for e in unreadable),
                metadata={**summary, "unreadable_files": [e.path for e in unreadable]},
            )
        quarantined = sum(r.rows_quarantined for r in results)
        read = sum(r.rows_read for r in results)
        accounted = all(r.rows_read == r.rows_loaded + r.rows_quarantined + r.duplicates_collapsed
                        for r in results)
        return dg.MaterializeResult(
            metadata=summary,
            check_results=[
                dg.AssetCheckResult(
                    check_name="contract", passed=quarantined <= tolerance * read,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={"quarantined_rows": quarantined, "rows_read": read,
                              "error_budget": f"{tolerance:.2%} of rows read",
                              "reasons": dg.MetadataValue.json(_merge_reasons(results)),
                              "files": [r.source_file for r in results if r.rows_quarantined]}),
                dg.AssetCheckResult(
                    check_name="row_count_sanity", passed=accounted and rows_after >= rows_before,
                    metadata={"rows_before": rows_before, "rows_after": rows_after,
                              "every_row_accounted_for": accounted}),
            ],
        )

    return _bronze


def _last_row_count(context: dg.AssetExecutionContext) -> int | None:
    event = context.instance.get_latest_materialization_event(context.asset_key)
    if event is None or event.asset_materialization is None:
        return None
    count = event.asset_materialization.metadata.get("dagster/row_count")
    return None if count is None else int(count.value)


def _row_count(landing: LandingZone, source: Source) -> int:
    return landing.lake.read(source.table, columns=["_batch_id"]).height


def _merge_reasons(results: list[IngestResult]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for r in results:
        for reason, n in r.reasons.items():
            merged[reason] = merged.get(reason, 0) + n
    return merged


def _summary(results: list[IngestResult], rows: int, version: int | None) -> dict:
    files = pl.DataFrame([{
        "file": r.source_file, "layout": r.layout, "read": r.rows_read, "loaded": r.rows_loaded,
        "inserted": r.rows_inserted, "updated": r.rows_updated,
        "quarantined": r.rows_quarantined, "collapsed": r.duplicates_collapsed,
    } for r in results]) if results else None
    return {
        "dagster/row_count": rows,
        "delta_version": version if version is not None else -1,
        "files_ingested": len(results),
        "rows_read": sum(r.rows_read for r in results),
        "rows_inserted": sum(r.rows_inserted for r in results),
        "rows_updated": sum(r.rows_updated for r in results),
        "rows_quarantined": sum(r.rows_quarantined for r in results),
        "files": dg.MetadataValue.md(files.to_pandas().to_markdown(index=False))
        if files is not None else "no new files",
        "reasons": dg.MetadataValue.json(_merge_reasons(results)),
    }


def bronze_assets(freshness_hours: int, tolerance: float,
                  column_docs: Mapping[str, Mapping[str, str]]) -> list[dg.AssetsDefinition]:
    """``column_docs``: per table name, its columns' descriptions (``bronze_column_docs``)."""
    return [build_bronze_asset(s, freshness_hours, tolerance, column_docs.get(s.name, {}))
            for s in SOURCES.values()]
