"""Every prediction of the API, recorded in the lake table serving/ml_predictions
(``lake.tables.ML_PREDICTIONS``).

``record()`` runs on the request path: it appends one tuple to an in-memory buffer under a
lock and returns (no encoding, no I/O). One daemon thread writes the buffer to Delta, one
commit per batch, when the oldest row is ``predictions_flush_seconds`` old or
``predictions_batch_rows`` rows wait. ``close()`` (the app's shutdown) stops the thread and
writes what is left.

Nothing is lost: a batch the lake refuses is written atomically to a JSON-lines spool file
under ``home/serving/predictions_spool/`` and appended later (after the next successful
write, and when the writer starts). A spool file is deleted only after its rows committed,
and only rows whose prediction_id is not in the table yet (read from the batch's date
partitions) are appended, so neither a crash between commit and delete nor a write reported
failed that did commit leaves duplicates. Spool files are claimed with flock: several API
worker processes may share one home.
"""

from __future__ import annotations

import atexit
import fcntl
import logging
import os
import threading
import time
import uuid
from contextlib import ExitStack, contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import orjson
import polars as pl

from base.files import atomic_path
from lake.delta_tables import Lake
from lake.tables import ML_PREDICTIONS

log = logging.getLogger("innsight.serving")

TABLE = ML_PREDICTIONS.name
SCHEMA = ML_PREDICTIONS.schema
PARTITION = list(ML_PREDICTIONS.partition_by)
# The tuple record() buffers, in this order; predicted_at in ns, inputs/outputs as JSON.
FIELDS = [c for c in SCHEMA if c not in PARTITION]
SPOOL_FILES_PER_COMMIT = 50
_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def _uuid4_hex() -> str:
    """uuid.uuid4().hex at a third of its cost (no UUID object is built)."""
    b = bytearray(os.urandom(16))
    b[6], b[8] = b[6] & 0x0F | 0x40, b[8] & 0x3F | 0x80  # version 4, RFC 4122 variant
    return b.hex()


def _default(value: object) -> object:
    return value.model_dump() if hasattr(value, "model_dump") else str(value)


def _json(value: object) -> str:
    try:
        return orjson.dumps(value, default=_default, option=_JSON_OPTIONS).decode()
    except TypeError as e:  # circular, int over 64 bits...: the row is still recorded
        return orjson.dumps({"unencodable": repr(value)[:2000], "error": str(e)}).decode()


def _columns(rows: list[tuple]) -> dict[str, list]:
    """Buffered tuples -> columns as stored (µs timestamps), in the writer thread."""
    cols = dict(zip(FIELDS, map(list, zip(*rows))))
    cols["predicted_at"] = [ns // 1000 for ns in cols["predicted_at"]]
    return cols


def _frame(cols: dict[str, list]) -> pl.DataFrame:
    at = pl.col("predicted_at")
    schema = {c: pl.Int64 if c == "predicted_at" else SCHEMA[c] for c in FIELDS}
    return (pl.DataFrame(cols, schema=schema, strict=False)
            .with_columns(at.cast(SCHEMA["predicted_at"]))
            .with_columns(predicted_date=at.dt.date())
            .select(list(SCHEMA)))


class PredictionLog:
    """Buffered, background, lossless writer of predictions (one per API process)."""

    def __init__(self, lake: Lake, spool_dir: Path, flush_seconds: float = 10.0,
                 batch_rows: int = 5_000):
        self.lake = lake
        self.spool_dir = Path(spool_dir)
        self.interval = float(flush_seconds)
        self.batch_rows = int(batch_rows)
        self._buffer: list[tuple] = []
        self._lock = threading.Lock()  # guards _buffer and _stopping
        self._cond = threading.Condition(self._lock)  # record() takes the bare lock: cheaper
        self._flush_lock = threading.Lock()  # one flush at a time: the thread or a caller
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._spooled = True  # spool files may wait (leftovers of an earlier process)
        self._hold_until = 0.0  # monotonic: no retry before, after a failure
        self._table_ready = False
        self._written = self._failed_batches = 0
        self._last_flush_at: datetime | None = None
        self._last_error: str | None = None

    # -- request path ------------------------------------------------------------------

    def record(self, *, model: str, version: str | None, endpoint: str, inputs: dict,
               outputs: dict, latency_ms: float, correlation_id: str | None = None,
               client: str | None = None) -> str:
        """Buffer one prediction and return its id. inputs/outputs are encoded to JSON
        here (a few µs): the buffer then holds only strings and numbers, which the cyclic
        GC does not scan (thousands of buffered dicts made its passes stall requests)."""
        prediction_id = _uuid4_hex()
        row = (prediction_id, time.time_ns(), model, version, endpoint, correlation_id,
               client, _json(inputs), _json(outputs), latency_ms)
        with self._lock:
            self._buffer.append(row)
            if len(self._buffer) == self.batch_rows:
                self._cond.notify()
        return prediction_id

    @property
    def pending(self) -> int:
        return len(self._buffer)

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> PredictionLog:
        """Start the writer thread (once); it first appends any spooled batches."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="prediction-log",
                                            daemon=True)
            self._thread.start()
            atexit.register(self.close)  # an app that forgets close() still loses nothing
        return self

    def close(self) -> None:
        """Stop the thread and write (or spool) what is buffered. Safe to call again."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join()
            atexit.unregister(self.close)
        self.flush()
        if self.pending:
            log.error("%d predictions could be neither written nor spooled: %s",
                      self.pending, self._last_error)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and (wait := self._wait_s()) > 0:
                    self._cond.wait(wait)
                if self._stopping:
                    return  # close() does the final flush
            try:
                self.flush()
            except Exception:  # a bug must not kill the thread: rows would pile up
                log.exception("prediction log flush failed")
                self._hold_until = time.monotonic() + self.interval

    def _wait_s(self) -> float:
        """Seconds until the next flush is due (called under the lock)."""
        if len(self._buffer) >= self.batch_rows:
            due = 0.0
        elif self._buffer:  # wall-clock age, capped so a clock step cannot stall the writer
            age = (time.time_ns() - self._buffer[0][1]) / 1e9
            due = min(self.interval - age, self.interval)
        else:
            due = 0.0 if self._spooled else self.interval
        return max(due, self._hold_until - time.monotonic())

    # -- writing -----------------------------------------------------------------------

    def flush(self) -> int:
        """Write everything buffered now, then spooled batches; returns rows committed."""
        with self._flush_lock:
            return self._flush()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Everything buffered and spooled written, and nothing more written until the block
        ends: an erasure vacuums the table, and would lose a file written meanwhile."""
        with self._flush_lock:
            self._flush()
            yield

    def _flush(self) -> int:
        """flush(), under the flush lock."""
        with self._cond:
            rows, self._buffer = self._buffer, []
        written, cols = 0, None
        if rows:
            try:
                cols = _columns(rows)
                written = self._append(_frame(cols))
            except Exception as e:
                self._failed_batches += 1
                self._fail(f"writing {len(rows)} predictions to {self.lake.uri(TABLE)} failed", e)
                self._spool(rows, cols)
                return 0
        if self._spooled:
            written += self._retry_spool()
        self._written += written
        if not self._spooled:  # nothing failed
            self._last_flush_at = datetime.now(timezone.utc)
        return written

    def _ensure_table(self) -> None:
        if not self._table_ready:
            self.lake.ensure(TABLE, SCHEMA, partition_by=PARTITION)
            self._table_ready = True

    def _append(self, df: pl.DataFrame) -> int:
        self._ensure_table()
        return self.lake.append(TABLE, df)

    def _fail(self, message: str, error: BaseException, level: int = logging.WARNING) -> None:
        self._last_error = f"{message}: {type(error).__name__}: {error}"
        self._hold_until = time.monotonic() + self.interval
        log.log(level, self._last_error)

    def _spool(self, rows: list[tuple], cols: dict[str, list] | None) -> None:
        """Keep a refused batch on disk (written atomically: a spool file is always whole);
        if the disk refuses too, back to the front of the buffer for the next flush."""
        path = self.spool_dir / f"{time.time_ns()}-{uuid.uuid4().hex}.jsonl"  # sorts by age
        try:
            cols = cols or _columns(rows)
            with atomic_path(path) as tmp, open(tmp, "wb") as f:
                f.writelines(orjson.dumps(dict(zip(cols, values))) + b"\n"
                             for values in zip(*cols.values()))
                f.flush()
                os.fsync(f.fileno())
            self._spooled = True
            log.warning("spooled %d predictions to %s", len(rows), path)
        except Exception as e:
            with self._cond:
                self._buffer[:0] = rows
            self._fail(f"spooling {len(rows)} predictions to {self.spool_dir} failed; "
                       "kept in memory", e, logging.ERROR)

    def _retry_spool(self) -> int:
        written = 0
        try:
            files = sorted(self.spool_dir.glob("*.jsonl"))
            for i in range(0, len(files), SPOOL_FILES_PER_COMMIT):
                written += self._append_spooled(files[i:i + SPOOL_FILES_PER_COMMIT])
            self._spooled = False
        except Exception as e:
            self._fail("appending spooled predictions failed (kept for the next flush)", e)
        return written

    def _append_spooled(self, files: list[Path]) -> int:
        """One commit for these spool files' rows not yet in the table; then delete them."""
        cols: dict[str, list] = {c: [] for c in FIELDS}
        claimed = []
        with ExitStack() as stack:  # the flocks are held until the files are deleted
            for path in files:
                try:
                    f = stack.enter_context(open(path, "rb"))
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except (FileNotFoundError, BlockingIOError):
                    continue  # done or being done by another worker process
                if os.fstat(f.fileno()).st_nlink == 0:
                    continue  # appended and deleted while we waited for it
                try:
                    records = [orjson.loads(line) for line in f if line.strip()]
                except orjson.JSONDecodeError as e:  # not ours: set aside, never retried
                    os.replace(path, path.with_suffix(".bad"))
                    log.error("spool file %s is unreadable, moved aside: %s", path, e)
                    continue
                for record in records:
                    for c in FIELDS:
                        cols[c].append(record.get(c))
                claimed.append(path)
            if not claimed:
                return 0
            df = _frame(cols).unique("prediction_id", keep="first", maintain_order=True)
            if df.height:
                df = df.join(self._ids_in_table(df), on="prediction_id", how="anti")
            written = self._append(df)
            for path in claimed:
                path.unlink()
        log.info("appended %d spooled predictions from %d files", written, len(claimed))
        return written

    def _ids_in_table(self, df: pl.DataFrame) -> pl.DataFrame:
        """prediction_ids already committed on the batch's dates."""
        self._ensure_table()
        dates = df["predicted_date"].unique().to_list()
        return self.lake.read(TABLE, columns=["prediction_id"],
                              filters=[("predicted_date", "in", dates)])

    # -- health ------------------------------------------------------------------------

    def stats(self) -> dict:
        try:
            spooled = sum(1 for _ in self.spool_dir.glob("*.jsonl"))
        except OSError:
            spooled = None
        return {"running": self._thread is not None and self._thread.is_alive(),
                "pending": self.pending, "written": self._written,
                "failed_batches": self._failed_batches, "spooled_files": spooled,
                "last_flush_at": self._last_flush_at.isoformat() if self._last_flush_at
                else None,
                "last_error": self._last_error}
