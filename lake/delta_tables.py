"""Delta tables with polars + deltalake: create, append, idempotent merge, read, maintain.

Every write is one Delta commit: a crash leaves the table at its previous version. Rows can
come as a frame, a LazyFrame, frames one after another (an ingest's checked batches) or
staged files (``Staged``): they are written batch by batch, so memory follows a batch, not
the rows.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import queue
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import polars as pl
import pyarrow as pa
from deltalake import ColumnProperties, DeltaTable, WriterProperties, write_deltalake
from deltalake.exceptions import TableNotFoundError
from deltalake.fs import DeltaStorageHandler
from deltalake.transaction import AddAction
from pyarrow.fs import FileSelector, FileType

ROW_HASH = "_row_hash"
# Data files of about this size (the table property every write and merge of delta-rs
# follows). A merge rewrites every file holding a changed row (copy-on-write): files of
# ~80k bookings keep a correction to the files of the keys it changes (at 1M bookings, 1%
# changed: 4.6 s with these files, 6.8 s with files of 16 MB; a first load is no slower).
TARGET_FILE_BYTES = 4 << 20
# A checkpoint every 10 commits (Spark Delta's default; delta-rs' is 100): each write and
# each reader replays the commits since the last one, and a table appended to every few
# seconds (the API's prediction log) paid for up to 99 (a 200-row append: 59 ms on average
# over 200 commits, 29 ms with this).
TABLE_CONFIGURATION = {"delta.targetFileSize": str(TARGET_FILE_BYTES),
                       "delta.checkpointInterval": "10"}
# A column whose values are mostly distinct (a key, the row hash, a guest id) is written
# without a Parquet dictionary: one would be built only to be dropped once it outgrows its
# page (a bookings write: 13% of its CPU for the key alone). Judged on the first rows.
DISTINCT_SAMPLE = 100_000
DISTINCT_MIN_ROWS = 1_000
STAGED_PREFIX = "batch-"
# Above this many incoming rows, a merge compares them with the table a slice of keys at a
# time: the table's keys and row hashes of one slice in memory, not of the whole range (a
# 10M-row re-ingest held ~1.6 GB for them at once).
SLICE_ROWS = 1_000_000
_END = object()


@dataclass(frozen=True)
class Staged:
    """Rows written beside a table and not yet in it (an ingest's checked rows): Parquet
    files in a folder of the table's own, kept as a scratch Delta table of one commit.
    ``Lake.merge`` adopts the files into an empty key range (the rows are written once) or
    reads them; ``Lake.discard`` then removes what the table did not adopt. Files a crash
    leaves behind are not in the table: its vacuum removes them."""

    table: str  # the table's name
    folder: str  # relative to the table's root
    uri: str
    storage_options: dict[str, str] | None
    rows: int

    def lazy(self) -> pl.LazyFrame:
        return pl.scan_delta(self.uri, storage_options=self.storage_options)


def _writer_properties(rows: pa.Table) -> WriterProperties | None:
    """Parquet settings for rows like these: no dictionary for the row hash, nor for a
    column of mostly distinct values among the first rows (enough of them to tell)."""
    sample = pl.from_arrow(rows.slice(0, DISTINCT_SAMPLE))
    flat = [c for c, t in sample.schema.items() if not t.is_nested()]
    distinct = (sample.select(pl.col(flat).n_unique()).row(0, named=True)
                if flat and sample.height >= DISTINCT_MIN_ROWS else {})
    plain = {c for c, n in distinct.items() if n > sample.height // 2} | (
        {ROW_HASH} & set(sample.columns))
    return WriterProperties(column_properties={
        c: ColumnProperties(dictionary_enabled=False) for c in sorted(plain)}) if plain else None


def _ahead(frames: Iterable[pl.DataFrame], depth: int = 1) -> Iterator[pa.Table]:
    """The frames' rows as Arrow tables, made in a thread of their own up to ``depth``
    ahead: delta-rs pulls a Python stream only between its own steps, so without this the
    rows' making (an ingest's checks) and their writing take turns. What the making raises,
    the consumer raises; a consumer that stops early stops the making."""
    handoff: queue.Queue = queue.Queue(depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                pass
        return False

    def make() -> None:
        source = iter(frames)
        try:
            for frame in source:
                # text as Arrow string views, polars' own layout, handed over without a
                # copy (the classic layout rebuilds every text column: ~0.5 s of 10M rows).
                # The Delta column is a string; only a file's Arrow schema hint says view.
                if frame.height and not put(frame.to_arrow(compat_level=pl.CompatLevel.newest())):
                    return
            put(_END)
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=make, name="lake-rows", daemon=True)
    thread.start()
    try:
        while (item := handoff.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def _file_ranges(table: DeltaTable, column: str) -> pl.DataFrame | None:
    """The table's data files (path relative to its root) with the smallest and largest
    value of a column by their statistics (null where a file has none); None where a file
    cannot be read on its own (partitioned by the column, deletion vectors, column mapping)."""
    metadata = table.metadata()
    if (column in metadata.partition_columns
            or "deletionVectors" in (table.protocol().reader_features or [])
            or metadata.configuration.get("delta.columnMapping.mode", "none") != "none"):
        return None
    actions = pl.DataFrame(table.get_add_actions(flatten=True))  # Arrow C stream: no copy
    if f"min.{column}" not in actions.columns:
        return actions.select("path", lo=pl.lit(None), hi=pl.lit(None))
    return actions.select("path", pl.col(f"min.{column}").alias("lo"),
                          pl.col(f"max.{column}").alias("hi"))


def _holding(ranges: pl.DataFrame, keys: pl.Series) -> pl.Series:
    """Whether each file's range can hold one of the keys (a file without statistics can)."""
    keys = keys.drop_nulls().sort()
    if keys.is_empty() or ranges.is_empty():
        return pl.Series([False] * ranges.height, dtype=pl.Boolean)
    # a bound that does not cast to the keys' type bounds nothing
    lo, hi = ranges["lo"].cast(keys.dtype, strict=False), ranges["hi"].cast(keys.dtype, strict=False)
    first = keys.search_sorted(lo.fill_null(keys[0]), side="left")
    last = keys.search_sorted(hi.fill_null(keys[-1]), side="right")
    return (first < last) | lo.is_null() | hi.is_null()


def _key_ranges(table: DeltaTable, column: str, keys: pl.Series) -> str | None:
    """A SQL condition on the target's column that holds in every file that can hold one of
    the keys and in as few others as the statistics allow (ranges of adjacent files run
    together); None where it would not narrow the files or cannot be written."""
    if not (keys.dtype == pl.String or keys.dtype.is_integer()):
        return None
    ranges = _file_ranges(table, column)
    if ranges is None or ranges.is_empty():
        return None
    ranges = ranges.with_columns(hit=_holding(ranges, keys)).sort("lo", nulls_last=True)
    unbounded = pl.any_horizontal(pl.col("lo", "hi").is_null())
    if ranges["hit"].all() or ranges.filter("hit").select(unbounded.any()).item():
        return None
    spans: list[list] = []
    for lo, hi, hit in ranges.select("lo", "hi", "hit").iter_rows():
        if hit and spans and spans[-1][2]:
            spans[-1][1] = max(spans[-1][1], hi)
        else:
            spans.append([lo, hi, hit])
    literal = (lambda v: "'" + v.replace("'", "''") + "'") if keys.dtype == pl.String else str
    return " OR ".join(f"(t.{column} >= {literal(lo)} AND t.{column} <= {literal(hi)})"
                       for lo, hi, hit in spans if hit)


class _Held:
    """What a table holds, as two 64-bit hashes of each row's keys and row hash, read one
    data file at a time as incoming keys reach it (a file's key range from its statistics),
    each file once: which incoming rows the table holds already as they are. A row is taken
    as held only when both hashes match; one taken as changed by mistake is only compared
    again by the merge."""

    def __init__(self, lake: "Lake", name: str, keys: list[str], ranges: pl.DataFrame):
        self.lake, self.name, self.keys = lake, name, keys
        self.columns = [*keys, ROW_HASH]
        self.unread = ranges
        # runs of (first hash, second hash) sorted by the first, each over twice the next
        # one's size: few runs to search, and a row copied once per doubling of the runs
        self.runs: list[tuple[np.ndarray, np.ndarray]] = []

    @classmethod
    def of(cls, lake: "Lake", name: str, keys: list[str]) -> "_Held | None":
        """None where the table holds no row (a first load: every row is new) or has no
        row hash, or its files cannot be read one by one."""
        if not lake.exists(name):
            return None
        table = lake._table(name)
        if ROW_HASH not in [f.name for f in table.schema().fields]:
            return None
        ranges = _file_ranges(table, keys[0])
        return None if ranges is None or ranges.is_empty() else cls(lake, name, keys, ranges)

    def _hashes(self, rows: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Both hashes of the rows, sorted by the first (a sorted search runs through
        memory in order), and the rows' order."""
        row = pl.struct(self.columns)
        both = rows.select(row.hash(1).alias("a"), row.hash(2).alias("b"),
                           pl.int_range(pl.len(), dtype=pl.UInt32).alias("i")).sort("a")
        return both["a"].to_numpy(), both["b"].to_numpy(), both["i"].to_numpy()

    def _read(self, reach: pl.Series) -> None:
        uris = [f"{self.lake.uri(self.name)}/{unquote(p)}" for p in self.unread.filter(reach)["path"]]
        self.unread = self.unread.filter(~reach)
        # a file from before the row hash (schema evolution) reads it null: held by none
        first, second, _ = self._hashes(pl.read_parquet(
            uris, columns=self.columns, missing_columns="insert",
            storage_options=self.lake._options))
        while self.runs and len(self.runs[-1][0]) <= 2 * len(first):
            a, b = self.runs.pop()
            first, second = np.concatenate([a, first]), np.concatenate([b, second])
            order = np.argsort(first, kind="stable")  # two sorted runs: merged in one pass
            first, second = first[order], second[order]
        self.runs.append((first, second))

    def new_or_changed(self, rows: pl.DataFrame) -> pl.DataFrame:
        if rows.is_empty() or ROW_HASH not in rows.columns:
            return rows
        reach = _holding(self.unread, rows[self.keys[0]])
        if reach.any():
            self._read(reach)
        first, second, index = self._hashes(rows)
        held = np.zeros(len(first), bool)
        for a, b in self.runs:
            at = np.minimum(np.searchsorted(a, first), len(a) - 1)
            held |= (a[at] == first) & (b[at] == second)
        if not held.any():
            return rows
        keep = np.ones(rows.height, bool)
        keep[index[held]] = False
        return rows.filter(pl.Series(keep))


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
                            configuration=TABLE_CONFIGURATION,
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

    def is_empty(self, name: str) -> bool:
        """Whether the table holds no data file (an empty table takes a plain append)."""
        return not self._table(name).file_uris()

    def append(self, name: str, rows: pl.DataFrame | pl.LazyFrame | Iterable[pl.DataFrame]) -> int:
        """Append the rows (frames one after another: made beside the writing, as they
        come) in one commit (none: no commit); the number of rows."""
        if isinstance(rows, pl.DataFrame):
            tables = iter([rows.to_arrow()] if rows.height else [])
        elif isinstance(rows, pl.LazyFrame):
            tables = (f.to_arrow() for f in rows.collect_batches() if f.height)
        else:
            tables = _ahead(rows)
        return self._write(self.uri(name), tables)

    def stage(self, name: str, rows: Iterable[pl.DataFrame], keys: list[str] | None = None) -> Staged:
        """Write the rows as files beside the table, not yet in it (see ``Staged``), made
        beside the writing as they come. Given the table's keys, rows with a _row_hash that
        the table holds already as they are (same key, same row hash) are left out: a
        corrected export writes what changed, not the whole file again (``_Held``)."""
        folder = f"{STAGED_PREFIX}{uuid.uuid4().hex}"
        staged = Staged(name, folder, f"{self.uri(name)}/{folder}", self._options, rows=0)
        held = _Held.of(self, name, keys) if keys else None
        if held is not None:
            rows = (held.new_or_changed(frame) for frame in rows)
        try:
            return replace(staged, rows=self._write(staged.uri, _ahead(rows), TABLE_CONFIGURATION))
        except BaseException:
            self.discard(staged)
            raise

    def discard(self, staged: Staged) -> None:
        """Remove what the table did not adopt of staged rows: its scratch log, and its
        files unless adopted (in the table, they are the table's)."""
        handler = DeltaStorageHandler(self.uri(staged.table), self._options)
        adopted = {uri.rsplit("/", 1)[-1] for uri in self._table(staged.table).file_uris()
                   if f"/{staged.folder}/" in uri}
        folder = handler.get_file_info_selector(FileSelector(staged.folder, allow_not_found=True))
        for info in folder:
            name = info.path.rsplit("/", 1)[-1]
            if info.type == FileType.Directory:
                handler.delete_dir(info.path)
            elif name not in adopted:
                handler.delete_file(info.path)
        if "://" not in staged.uri:  # a local folder also keeps its emptied directories
            for folder in (Path(staged.uri) / "_delta_log", Path(staged.uri)):
                with contextlib.suppress(OSError):
                    folder.rmdir()

    def _write(self, uri: str, tables: Iterator[pa.Table],
               configuration: dict[str, str] | None = None) -> int:
        """One append of the tables' rows (none: no commit); the number of rows."""
        try:
            first = next(tables, None)
            if first is None:
                return 0
            count = 0

            def batches() -> Iterator[pa.RecordBatch]:
                nonlocal count
                for table in itertools.chain([first], tables):
                    count += table.num_rows
                    yield from table.to_batches()

            write_deltalake(uri, pa.RecordBatchReader.from_batches(first.schema, batches()),
                            mode="append", configuration=configuration,
                            writer_properties=_writer_properties(first),
                            storage_options=self._options)
            return count
        finally:
            close = getattr(tables, "close", None)
            if close is not None:
                close()

    def _adopt(self, name: str, staged: Staged) -> int:
        """Make the staged files part of the table in one commit, as they are, with the
        statistics their writing recorded (the scratch table's one commit)."""
        handler = DeltaStorageHandler(staged.uri, self._options)
        with handler.open_input_file(f"_delta_log/{0:020d}.json") as log:
            adds = [json.loads(line)["add"] for line in log.read().decode().splitlines()
                    if line.startswith('{"add"')]
        table = self._table(name)
        table.create_write_transaction(
            [AddAction(f"{staged.folder}/{a['path']}", a["size"], a["partitionValues"],
                       a["modificationTime"], True, a["stats"]) for a in adds],
            mode="append", schema=table.schema())
        return staged.rows

    def merge(self, name: str, df: pl.DataFrame | pl.LazyFrame | Staged, keys: list[str],
              insert_only: bool = False) -> MergeResult:
        """Upsert by business key; rows whose _row_hash is unchanged are left alone (a
        frame without a _row_hash column updates every row it matches).

        Re-running the same data therefore commits nothing new: the merge is idempotent.
        With insert_only (event streams), existing keys are never rewritten. Only the rows
        that are new or changed are written: the table's keys (and row hashes) in the
        incoming key range are read first, Delta's file statistics skipping the other files
        (many rows: a slice of the keys at a time, so memory follows a slice).
        Rows of new keys only are appended; otherwise a Delta merge of just the changed rows
        rewrites the files that hold them, reading only the files whose statistics can hold
        a changed key (``_key_ranges``). Still one commit either way. One writer per table
        at a time (Dagster pools). Staged rows all new are adopted as they were written.
        """
        if isinstance(df, Staged) and not df.rows:
            return MergeResult()
        rows = df.lazy()
        schema = rows.collect_schema()
        bounds = rows.select(pl.len().alias("_n"), *[pl.col(k).min().alias(f"{k}_min") for k in keys],
                             *[pl.col(k).max().alias(f"{k}_max") for k in keys]
                             ).collect(engine="streaming").row(0, named=True)
        if bounds["_n"] == 0:
            return MergeResult()
        hashed = ROW_HASH in schema and not insert_only
        in_range = [pl.col(k).is_between(pl.lit(bounds[f"{k}_min"], schema[k]),
                                         pl.lit(bounds[f"{k}_max"], schema[k]))
                    for k in keys if bounds[f"{k}_min"] is not None]
        sliced = hashed and bounds["_n"] > SLICE_ROWS
        existing = (pl.scan_delta(self.uri(name), storage_options=self._options)
                    .select(*keys, *([ROW_HASH] if hashed else []))
                    .filter(*in_range or [pl.lit(True)]))
        # compared by slices: here only whether the range holds any row; otherwise only the
        # table's rows of the incoming keys are kept as they stream by (a 1% correction's
        # keys span the whole range: its 10M keys and hashes held at once took +0.7 GB)
        existing = existing.head(1).collect() if sliced else existing.join(
            rows.select(keys), on=keys, how="semi").collect(engine="streaming")
        if existing.is_empty():
            adopt = isinstance(df, Staged) and not self._table(name).metadata().partition_columns
            return MergeResult(inserted=self._adopt(name, df) if adopt else self.append(name, rows))
        if insert_only:
            return MergeResult(inserted=self.append(name, rows.join(existing.lazy(), on=keys, how="anti")))
        # new keys and changed rows; a table without a row hash (the ops tables: one row
        # changed at a time) takes every matched row as it comes
        if sliced:
            changed_keys, updates = self._changed_by_slice(name, rows, keys, bounds["_n"], in_range)
            changed = rows.join(changed_keys.lazy(), on=keys, how="semi", nulls_equal=True)
        else:
            changed = rows.join(existing.lazy(), on=keys + [ROW_HASH], how="anti") if hashed else rows
            changed_keys = changed.select(keys).collect(engine="streaming")
            updates = not changed_keys.join(existing, on=keys, how="semi").is_empty()
        if changed_keys.is_empty():
            return MergeResult()
        if not updates:
            return MergeResult(inserted=self.append(name, changed))
        on = " AND ".join(f"t.{k} = s.{k}" for k in keys)
        # the changed rows by their keys, streamed: not the whole of the rows in memory
        source = rows.join(changed_keys.lazy(), on=keys, how="semi").collect(engine="streaming")
        table = self._table(name)
        # Only the files whose statistics can hold a changed key are scanned: delta-rs reads
        # every file in the source's key range otherwise (a 1% correction of 10M bookings:
        # +1.7 GB with the range, +0.56 GB with the files).
        within = _key_ranges(table, keys[0], source[keys[0]])
        arrow = source.to_arrow()
        metrics = (table.merge(arrow, predicate=f"{on} AND ({within})" if within else on,
                               source_alias="s", target_alias="t", streamed_exec=False,
                               writer_properties=_writer_properties(arrow))
                   .when_matched_update_all().when_not_matched_insert_all().execute())
        return MergeResult(inserted=int(metrics.get("num_target_rows_inserted", 0)),
                           updated=int(metrics.get("num_target_rows_updated", 0)))

    def _changed_by_slice(self, name: str, rows: pl.LazyFrame, keys: list[str], n: int,
                          in_range: list[pl.Expr]) -> tuple[pl.DataFrame, bool]:
        """The keys of the rows new or changed against the table, and whether any of them
        is in the table already: compared a slice of the first key's range at a time, the
        slices cut at the quantiles of a sample of the incoming keys."""
        first = pl.col(keys[0])
        sample = (rows.select(first.gather_every(max(n // 10_000, 1)))
                  .collect(engine="streaming")[keys[0]].drop_nulls().sort())
        count = -(-n // SLICE_ROWS)
        cuts = sample.gather([len(sample) * i // count for i in range(1, count)]).unique(
            maintain_order=True).to_list() if len(sample) else []
        # null keys (never in the table) with the first slice
        slices = [first.is_null() | (first < cuts[0]) if cuts else pl.lit(True),
                  *[(first >= lo) & (first < hi) for lo, hi in zip(cuts, cuts[1:])],
                  *([first >= cuts[-1]] if cuts else [])]
        table = pl.scan_delta(self.uri(name), storage_options=self._options).select(*keys, ROW_HASH)
        parts, updates = [], False
        for part in slices:
            existing = table.filter(*in_range, part).collect(engine="streaming")
            changed = (rows.filter(part).join(existing.lazy(), on=keys + [ROW_HASH], how="anti")
                       .select(keys).collect(engine="streaming"))
            updates = updates or not changed.join(existing, on=keys, how="semi").is_empty()
            parts.append(changed)
        return pl.concat(parts), updates

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
        """Compact small files, then vacuum files older than the retention window. A table
        made before a property of ``TABLE_CONFIGURATION`` was set gets it here."""
        table = self._table(name)
        configured = table.metadata().configuration
        missing = {k: v for k, v in TABLE_CONFIGURATION.items() if configured.get(k) != v}
        if missing:
            table.alter.set_table_properties(missing)
        compact = table.optimize.compact()
        removed = table.vacuum(retention_hours=retention_hours, dry_run=False,
                               enforce_retention_duration=False)
        table.create_checkpoint()
        return {"files_added": int(compact.get("numFilesAdded", 0)),
                "files_removed": int(compact.get("numFilesRemoved", 0)),
                "files_vacuumed": len(removed), "properties_set": len(missing)}
