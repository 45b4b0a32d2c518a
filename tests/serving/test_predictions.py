"""The prediction log: batches reach the lake on flush, on close, on its own triggers, from
many threads, and through a spool file when the lake refuses them, without duplicates."""

from __future__ import annotations

import gc
import logging
import shutil
import threading
import time
import uuid
from datetime import date, timedelta

import numpy as np

import orjson
import polars as pl
import pytest
from deltalake import DeltaTable

from lake.delta_tables import Lake
from lake.tables import ML_PREDICTIONS
from serving.services.predictions import PredictionLog

SCHEMA, TABLE = ML_PREDICTIONS.schema, ML_PREDICTIONS.name


def prediction_log(home, lake: Lake, flush_seconds: float = 10.0,
                   batch_rows: int = 5_000) -> PredictionLog:
    """A log writing to `lake`, spooling under `home` (as the app builds it)."""
    return PredictionLog(lake, home / "serving" / "predictions_spool", flush_seconds, batch_rows)


def rows(lake: Lake) -> pl.DataFrame:
    return lake.read(TABLE)


def record(log: PredictionLog, i: int = 0, **kw) -> str:
    return log.record(model="cancellation", version="3", endpoint="/predict/churn",
                      inputs={"booking_id": f"B{i}", "lead_time": i},
                      outputs={"probability": 0.25}, latency_ms=1.5,
                      correlation_id=f"req-{i}", client="frontdesk", **kw)


def wait_until(condition, timeout: float = 60.0) -> None:
    """Poll (the writer runs on its own thread); the timeout only guards against a hang."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.02)


def spool_files(home) -> list:
    return sorted((home / "serving" / "predictions_spool").glob("*.jsonl"))


def test_flush_writes_every_column_with_json_and_close_writes_the_rest(home, lake):
    log = prediction_log(home, lake)
    pid = log.record(model="price", version=None, endpoint="/predict/price",
                     inputs={"hotel": "City", "arrival": date(2024, 5, 1),
                             "nights": np.int64(3)},
                     outputs={"price": np.float32(120.5), "band": [1, 2]}, latency_ms=7,
                     correlation_id="req-1", client=None)
    assert uuid.UUID(pid).version == 4 and uuid.UUID(pid).hex == pid and log.pending == 1
    assert log.flush() == 1 and log.pending == 0 and log.flush() == 0

    df = rows(lake)
    assert df.schema == pl.Schema(SCHEMA)
    row = df.row(0, named=True)
    assert row["prediction_id"] == pid and row["model"] == "price"
    assert row["model_version"] is None and row["client"] is None
    assert row["endpoint"] == "/predict/price" and row["correlation_id"] == "req-1"
    assert row["latency_ms"] == 7.0
    assert row["predicted_at"].utcoffset() == timedelta(0)
    assert row["predicted_date"] == row["predicted_at"].date()
    assert orjson.loads(row["inputs"]) == {"hotel": "City", "arrival": "2024-05-01", "nights": 3}
    assert orjson.loads(row["outputs"]) == {"price": 120.5, "band": [1, 2]}
    table = DeltaTable(lake.uri(TABLE))
    assert table.metadata().partition_columns == ["predicted_date"]

    ids = {record(log, i) for i in range(3)}
    log.close()
    log.close()  # idempotent
    assert set(rows(lake)["prediction_id"]) == ids | {pid}
    stats = log.stats()
    assert stats["written"] == 4 and stats["pending"] == 0 and stats["failed_batches"] == 0
    assert stats["last_flush_at"] and stats["last_error"] is None


def test_record_only_buffers_encoded_rows(home, lake):
    """No I/O on the request path, and nothing the GC must scan: rows are JSON text."""
    log = prediction_log(home, lake)
    inputs, unencodable = {"a": 1}, object()
    for i in range(100):
        log.record(model="m", version="1", endpoint="/e", inputs=inputs,
                   outputs={"x": unencodable}, latency_ms=i, correlation_id=None, client=None)
    assert log.pending == 100
    assert not (home / "lake").exists() and not (home / "serving").exists()
    gc.collect()  # untracks tuples of atoms (a tuple holding a dict stays tracked)
    assert not any(gc.is_tracked(row) for row in log._buffer)
    # an object the encoder cannot encode becomes its str()
    assert log.flush() == 100
    out = orjson.loads(rows(lake)["outputs"][0])
    assert out["x"].startswith("<object object")


def test_the_writer_flushes_on_age_and_on_size(home, lake):
    log = prediction_log(home, lake, flush_seconds=0.05, batch_rows=1_000_000).start()
    record(log)
    wait_until(lambda: log.stats()["written"] == 1)
    log.close()

    log = prediction_log(home, lake, flush_seconds=3600, batch_rows=10).start()
    for i in range(10):
        record(log, i)
    wait_until(lambda: log.stats()["written"] == 10)
    assert log.pending == 0 and rows(lake).height == 11
    log.close()


def test_concurrent_records_lose_nothing(home, lake):
    log = prediction_log(home, lake, flush_seconds=0.01, batch_rows=300).start()
    threads, per_thread = 8, 1_000
    ids: list[list[str]] = [[] for _ in range(threads)]

    def work(t: int) -> None:
        ids[t] = [record(log, i) for i in range(per_thread)]

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    log.close()
    df = rows(lake)
    assert df.height == threads * per_thread == df["prediction_id"].n_unique()
    assert set(df["prediction_id"]) == {i for batch in ids for i in batch}
    assert log.stats()["written"] == threads * per_thread


def test_a_refused_batch_is_spooled_and_appended_once_the_lake_is_back(home):
    # A real failure: the lake's parent is a plain file, so nothing can be created under it.
    blocker = home / "blocked"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("not a directory")
    blocked = Lake(str(blocker / "lake"))
    log = prediction_log(home, blocked)
    ids = {record(log, i) for i in range(5)}
    assert log.flush() == 0
    stats = log.stats()
    assert stats["failed_batches"] == 1 and stats["spooled_files"] == 1
    assert stats["pending"] == 0 and "failed" in stats["last_error"]
    ids.add(record(log, 5))
    log.close()  # the final flush fails too: spooled as well
    assert len(spool_files(home)) == 2 and log.pending == 0
    lines = spool_files(home)[0].read_bytes().splitlines()
    assert len(lines) == 5 and orjson.loads(lines[0])["inputs"] == '{"booking_id":"B0","lead_time":0}'

    blocker.unlink()  # the lake is back: the next writer appends the spool at start
    keep = home / "spool_copy"
    shutil.copytree(home / "serving" / "predictions_spool", keep)
    log = prediction_log(home, blocked).start()
    wait_until(lambda: log.stats()["spooled_files"] == 0 and log.stats()["written"] == 6)
    assert set(rows(blocked)["prediction_id"]) == ids and rows(blocked).height == 6

    log.close()

    # A crash after the commit but before the delete leaves the files: the next process
    # appends none of their rows again.
    for f in keep.iterdir():
        shutil.copy(f, home / "serving" / "predictions_spool" / f.name)
    log = prediction_log(home, blocked)
    record(log, 6)
    assert log.flush() == 1
    assert spool_files(home) == [] and rows(blocked).height == 7
    assert rows(blocked)["prediction_id"].n_unique() == 7


def test_the_running_writer_spools_then_catches_up_by_itself(home):
    blocker = home / "blocked"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("")
    blocked = Lake(str(blocker / "lake"))
    log = prediction_log(home, blocked, flush_seconds=0.05).start()
    first = record(log, 0)
    wait_until(lambda: log.stats()["spooled_files"] == 1)
    assert log.stats()["failed_batches"] == 1 and log.stats()["running"]
    blocker.unlink()  # no new traffic: the thread retries the spool on its own
    wait_until(lambda: log.stats()["spooled_files"] == 0)
    second = record(log, 1)
    wait_until(lambda: log.stats()["written"] == 2)
    log.close()
    assert sorted(rows(blocked)["prediction_id"]) == sorted([first, second])


def test_an_unreadable_spool_file_is_set_aside(home, lake, caplog):
    spool = home / "serving" / "predictions_spool"
    spool.mkdir(parents=True)
    (spool / "1-bad.jsonl").write_text("{not json\n")
    log = prediction_log(home, lake)
    record(log)
    serving_log = logging.getLogger("innsight.serving")  # the app's logging may not propagate
    serving_log.addHandler(caplog.handler)
    try:
        assert log.flush() == 1
    finally:
        serving_log.removeHandler(caplog.handler)
    assert spool_files(home) == [] and (spool / "1-bad.bad").exists()
    assert "unreadable" in caplog.text


def test_rows_stay_in_memory_when_neither_lake_nor_disk_takes_them(home, monkeypatch):
    blocker = home / "blocked"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("")
    blocked = Lake(str(blocker / "lake"))
    log = prediction_log(blocker / "home", blocked)  # spool refused too
    record(log)
    assert log.flush() == 0 and log.pending == 1
    assert "kept in memory" in log.stats()["last_error"]
    blocker.unlink()
    assert log.flush() == 1 and rows(blocked).height == 1


@pytest.fixture(autouse=True)
def _no_thread_left():
    before = {t for t in threading.enumerate() if t.name == "prediction-log"}
    yield
    assert {t for t in threading.enumerate() if t.name == "prediction-log"} <= before
