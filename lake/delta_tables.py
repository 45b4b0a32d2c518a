"""Delta tables with polars + deltalake: create, append, idempotent merge, read, maintain.

Every write is one Delta commit: a crash leaves the table at its previous version.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import TableNotFoundError

from innsight.settings import get_settings

ROW_HASH = "_row_hash"


@dataclass
class MergeResult:
    inserted: int = 0
    updated: int = 0


def storage_options() -> dict[str, str] | None:
    return get_settings().lake_storage_options or None


def table_exists(uri: str) -> bool:
    return DeltaTable.is_deltatable(uri, storage_options=storage_options())


def ensure_table(uri: str, schema: dict[str, pl.DataType],
                 partition_by: list[str] | None = None) -> None:
    """Create an empty table with this schema if there is none (so readers always find one).

    Appends to a partitioned table follow its partitioning without being told again.
    """
    if not table_exists(uri):
        empty = pl.DataFrame(schema=schema).to_arrow()
        write_deltalake(uri, empty, mode="append", partition_by=partition_by,
                        storage_options=storage_options())


def read(uri: str, columns: list[str] | None = None) -> pl.DataFrame:
    try:
        table = DeltaTable(uri, storage_options=storage_options())
    except TableNotFoundError:
        return pl.DataFrame()
    return pl.from_arrow(table.to_pyarrow_table(columns=columns))


def append(uri: str, df: pl.DataFrame) -> int:
    if df.height:
        write_deltalake(uri, df.to_arrow(), mode="append", storage_options=storage_options())
    return df.height


def merge(uri: str, df: pl.DataFrame, keys: list[str], insert_only: bool = False) -> MergeResult:
    """Upsert by business key; rows whose _row_hash is unchanged are left alone.

    Re-running the same data therefore commits nothing new: the merge is idempotent.
    With insert_only (event streams), existing keys are never rewritten. When none of the
    keys exist yet (most exports) the rows are appended: still one commit, and much cheaper
    than a join against the whole table. One writer per table at a time (Dagster pools).
    """
    if df.height == 0:
        return MergeResult()
    existing = read(uri, columns=keys)
    if df.join(existing, on=keys, how="semi").is_empty():
        write_deltalake(uri, df.to_arrow(), mode="append", storage_options=storage_options())
        return MergeResult(inserted=df.height)
    table = DeltaTable(uri, storage_options=storage_options())
    on = " AND ".join(f"t.{k} = s.{k}" for k in keys)
    merger = table.merge(df.to_arrow(), predicate=on, source_alias="s", target_alias="t")
    if not insert_only:
        merger = merger.when_matched_update_all(predicate=f"t.{ROW_HASH} <> s.{ROW_HASH}")
    metrics = merger.when_not_matched_insert_all().execute()
    return MergeResult(inserted=int(metrics.get("num_target_rows_inserted", 0)),
                       updated=int(metrics.get("num_target_rows_updated", 0)))


def version(uri: str) -> int | None:
    return DeltaTable(uri, storage_options=storage_options()).version() if table_exists(uri) else None


def maintain(uri: str, retention_hours: int = 168) -> dict[str, int]:
    """Compact small files, then vacuum files older than the retention window."""
    table = DeltaTable(uri, storage_options=storage_options())
    compact = table.optimize.compact()
    removed = table.vacuum(retention_hours=retention_hours, dry_run=False,
                           enforce_retention_duration=False)
    table.create_checkpoint()
    return {"files_added": int(compact.get("numFilesAdded", 0)),
            "files_removed": int(compact.get("numFilesRemoved", 0)),
            "files_vacuumed": len(removed)}
