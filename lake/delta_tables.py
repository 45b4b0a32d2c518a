"""Delta tables with polars + deltalake: create, append, idempotent merge, read, maintain.

Every write is one Delta commit: a crash leaves the table at its previous version. Rows can
come as a LazyFrame or as an Arrow file (an ingest's staged rows): they are written batch by
batch, so memory follows a batch, not the rows.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow as pa
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import TableNotFoundError
from polars.io.plugins import register_io_source

ROW_HASH = "_row_hash"
# Data files of about this size (the table property every write and merge of delta-rs
# follows). A merge rewrites every file holding a changed row (copy-on-write): files of
# ~80k bookings keep a correction to the files of the keys it changes (at 1M bookings, 1%
# changed: 4.6 s with these files, 6.8 s with files of 16 MB; a first load is no slower).
TARGET_FILE_BYTES = 4 << 20
# delta-rs pulls an Arrow stream as fast as it comes and queues it ahead of its Parquet
# writers: an Arrow file's batches are handed over only while less than this much of them
# waits unwritten, and in slices of this many rows.
HANDOFF_BYTES = 128 << 20
HANDOFF_ROWS = 65_536


@dataclass(frozen=True)
class ArrowFile:
    """Rows in an Arrow IPC file (an ingest's staged rows), read batch by batch from the heap:
    a memory-mapped read would count the whole file as the process's memory."""

    path: Path
    schema: dict[str, pl.DataType]

    def batches(self, columns: list[str] | None = None) -> Iterator[pa.RecordBatch]:
        """The file's batches, one at a time; with ``columns``, only theirs are read."""
        with pa.OSFile(str(self.path)) as f:
            options = None
            if columns is not None:
                names = pa.ipc.open_file(f).schema.names
                options = pa.ipc.IpcReadOptions(included_fields=[names.index(c) for c in columns])
            reader = pa.ipc.open_file(f, options=options)
            for i in range(reader.num_record_batches):
                yield reader.get_batch(i)

    def lazy(self) -> pl.LazyFrame:
        def frames(with_columns, predicate, n_rows, batch_size) -> Iterator[pl.DataFrame]:
            # the columns the query needs (a key range: the keys alone) and its filter
            needed = None
            if with_columns is not None:
                needed = list(with_columns)
                if predicate is not None:
                    needed += [c for c in predicate.meta.root_names() if c not in needed]
            for batch in self.batches(needed):
                frame = pl.from_arrow(batch)
                frame = frame.filter(predicate) if predicate is not None else frame
                yield frame.select(with_columns) if with_columns is not None else frame

        return register_io_source(frames, schema=self.schema)

    def reader(self) -> pa.RecordBatchReader:
        """The rows as an Arrow stream whose consumer cannot run ahead of its writing: the
        batches read and not yet released are pyarrow's memory, so the next slice waits
        while more than HANDOFF_BYTES of them are held."""
        with pa.OSFile(str(self.path)) as f:
            schema = pa.ipc.open_file(f).schema

        def slices() -> Iterator[pa.RecordBatch]:
            start = pa.total_allocated_bytes()
            for batch in self.batches():
                for offset in range(0, batch.num_rows, HANDOFF_ROWS):
                    _wait_until_below(start + HANDOFF_BYTES + batch.nbytes)
                    yield batch.slice(offset, HANDOFF_ROWS)

        return pa.RecordBatchReader.from_batches(schema, slices())


def _wait_until_below(limit: int) -> None:
    """Wait while pyarrow holds more than ``limit`` bytes, however slow the writer, as long
    as it keeps releasing some: a consumer that released nothing for 10 s keeps everything
    to the end, and waiting for it would never end."""
    lowest, since = pa.total_allocated_bytes(), time.monotonic()
    while (held := pa.total_allocated_bytes()) > limit:
        if held < lowest:
            lowest, since = held, time.monotonic()
        elif time.monotonic() - since > 10:
            return
        time.sleep(0.005)


@dataclass
class MergeResult:
    inserted: int = 0
    updated: int = 0


@dataclass(frozen=True)
class Lake:
    """The lake's Delta tables by name (``bronze/pms_bookings``, ``quarantine``...): a local
    folder, or an object-store URI with its storage options. Built once by an entry point
    from the settings and handed down."""

    root: str
    storage_options: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings) -> "Lake":
        return cls(settings.lake_root, dict(settings.lake_storage_options))

    def uri(self, name: str) -> str:
        return f"{self.root.rstrip('/')}/{name}"

    @property
    def _options(self) -> dict[str, str] | None:
        return self.storage_options or None

    def _table(self, name: str) -> DeltaTable:
        return DeltaTable(self.uri(name), storage_options=self._options)

    def exists(self, name: str) -> bool:
        return DeltaTable.is_deltatable(self.uri(name), storage_options=self._options)

    def ensure(self, name: str, schema: dict[str, pl.DataType],
               partition_by: list[str] | None = None) -> None:
        """Create an empty table with this schema if there is none (so readers always find
        one). Appends to a partitioned table follow its partitioning without being told again."""
        if not self.exists(name):
            empty = pl.DataFrame(schema=schema).to_arrow()
            write_deltalake(self.uri(name), empty, mode="append", partition_by=partition_by,
                            configuration={"delta.targetFileSize": str(TARGET_FILE_BYTES)},
                            storage_options=self._options)

    def read(self, name: str, columns: list[str] | None = None,
             filters: list[tuple] | None = None, version: int | None = None) -> pl.DataFrame:
        """The table (or some columns), at its latest or a given version; ``filters`` in
        deltalake's DNF form, e.g. ``[("predicted_date", "in", dates)]``, prune partitions
        before reading."""
        try:
            table = self._table(name)
            if version is not None:
                table.load_as_version(version)
        except TableNotFoundError:
            return pl.DataFrame()
        return pl.from_arrow(table.to_pyarrow_table(columns=columns, filters=filters))

    def append(self, name: str, df: pl.DataFrame | pl.LazyFrame | ArrowFile) -> int:
        """Append the rows in one commit (none: no commit); the number of rows."""
        if isinstance(df, ArrowFile):
            reader = df.reader()
            count = 0

            def counted() -> Iterator[pa.RecordBatch]:
                nonlocal count
                for batch in reader:
                    count += batch.num_rows
                    yield batch

            write_deltalake(self.uri(name), pa.RecordBatchReader.from_batches(reader.schema, counted()),
                            mode="append", storage_options=self._options)
            return count
        frames = df.collect_batches() if isinstance(df, pl.LazyFrame) else iter([df])
        first = next((f for f in frames if f.height), None)
        if first is None:
            return 0
        count = 0

        def batches():
            nonlocal count
            for frame in itertools.chain([first], frames):
                count += frame.height
                yield from frame.to_arrow().to_batches()

        reader = pa.RecordBatchReader.from_batches(first.to_arrow().schema, batches())
        write_deltalake(self.uri(name), reader, mode="append", storage_options=self._options)
        return count

    def merge(self, name: str, df: pl.DataFrame | pl.LazyFrame | ArrowFile, keys: list[str],
              insert_only: bool = False) -> MergeResult:
        """Upsert by business key; rows whose _row_hash is unchanged are left alone (a
        frame without a _row_hash column updates every row it matches).

        Re-running the same data therefore commits nothing new: the merge is idempotent.
        With insert_only (event streams), existing keys are never rewritten. Only the rows
        that are new or changed are written: the table's keys (and row hashes) in the
        incoming key range are read first, Delta's file statistics skipping the other files.
        Rows of new keys only are appended; otherwise a Delta merge of just the changed rows
        rewrites the files that hold them. Still one commit either way. One writer per table
        at a time (Dagster pools).
        """
        rows = df.lazy()
        schema = rows.collect_schema()
        bounds = rows.select(pl.len().alias("_n"), *[pl.col(k).min().alias(f"{k}_min") for k in keys],
                             *[pl.col(k).max().alias(f"{k}_max") for k in keys]).collect().row(0, named=True)
        if bounds["_n"] == 0:
            return MergeResult()
        hashed = ROW_HASH in schema and not insert_only
        in_range = [pl.col(k).is_between(pl.lit(bounds[f"{k}_min"], schema[k]),
                                         pl.lit(bounds[f"{k}_max"], schema[k]))
                    for k in keys if bounds[f"{k}_min"] is not None]
        existing = (pl.scan_delta(self.uri(name), storage_options=self._options)
                    .select(*keys, *([ROW_HASH] if hashed else []))
                    .filter(*in_range or [pl.lit(True)]).collect())
        if existing.is_empty():
            return MergeResult(inserted=self.append(name, df if isinstance(df, ArrowFile) else rows))
        if insert_only:
            return MergeResult(inserted=self.append(name, rows.join(existing.lazy(), on=keys, how="anti")))
        # new keys and changed rows; a table without a row hash (the ops tables: one row
        # changed at a time) takes every matched row as it comes
        changed = rows.join(existing.lazy(), on=keys + [ROW_HASH], how="anti") if hashed else rows
        changed_keys = changed.select(keys).collect()
        if changed_keys.is_empty():
            return MergeResult()
        if changed_keys.join(existing, on=keys, how="semi").is_empty():
            return MergeResult(inserted=self.append(name, changed))
        on = " AND ".join(f"t.{k} = s.{k}" for k in keys)
        # the source's key range lets delta-rs skip the files outside it
        if isinstance(df, ArrowFile) and hashed:
            # an Arrow file's changed rows batch by batch, not the whole file in memory (its
            # keys are unique: an ingest's staged rows)
            source = pl.concat([pl.from_arrow(batch).join(changed_keys, on=keys, how="semi")
                                for batch in df.batches()])
        else:
            source = changed.collect()
        metrics = (self._table(name).merge(source.to_arrow(), predicate=on, source_alias="s",
                                           target_alias="t", streamed_exec=False)
                   .when_matched_update_all().when_not_matched_insert_all().execute())
        return MergeResult(inserted=int(metrics.get("num_target_rows_inserted", 0)),
                           updated=int(metrics.get("num_target_rows_updated", 0)))

    def version(self, name: str) -> int | None:
        return self._table(name).version() if self.exists(name) else None

    def delete(self, name: str, predicate: str) -> int:
        """Delete the rows matching ``predicate`` (SQL): one commit; older versions keep them
        until the maintenance vacuums (``erase`` when they must go at once)."""
        if not self.exists(name):
            return 0
        return int(self._table(name).delete(predicate).get("num_deleted_rows", 0))

    def erase(self, name: str, predicate: str) -> dict[str, int]:
        """Delete the rows matching ``predicate`` (SQL) and then every file no longer in the
        latest version, so no old version can return them either (erasure). Time travel on
        this table ends here. The caller keeps other writers of the table out meanwhile: a
        file being written and not committed yet would be vacuumed too."""
        if not self.exists(name):
            return {"rows_deleted": 0, "files_vacuumed": 0}
        table = self._table(name)
        deleted = int(table.delete(predicate).get("num_deleted_rows", 0))
        removed = table.vacuum(retention_hours=0, dry_run=False, enforce_retention_duration=False)
        return {"rows_deleted": deleted, "files_vacuumed": len(removed)}

    def maintain(self, name: str, retention_hours: int = 168) -> dict[str, int]:
        """Compact small files, then vacuum files older than the retention window."""
        table = self._table(name)
        compact = table.optimize.compact()
        removed = table.vacuum(retention_hours=retention_hours, dry_run=False,
                               enforce_retention_duration=False)
        table.create_checkpoint()
        return {"files_added": int(compact.get("numFilesAdded", 0)),
                "files_removed": int(compact.get("numFilesRemoved", 0)),
                "files_vacuumed": len(removed)}
