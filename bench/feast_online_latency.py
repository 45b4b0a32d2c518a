"""Feast online read latency for one entity, against a direct key lookup in the same process.

    python bench/feast_online_latency.py [--reads 1000] [--warmup 100] [--redis]

Exports the feature sources from the marts of the current settings (INNSIGHT_HOME) into a
temporary Feast home, applies the definitions and materialises one booking day. Then times,
for the features of one booking, Feast's own read
(``FeatureStore.online_features("cancellation", [{"booking_id": ...}])``) and the API's
one-key read (``FeatureStore.online_record``, what a request calls), against a direct
``sqlite3`` point query by primary key on a table holding the same bookings (``select *
... where booking_id = ?``, row turned into a dict). With ``--redis``: the same reads on the
production profile (Redis online store, SQL registry in a throw-away PostgreSQL database),
against an ``HGETALL`` of a Redis hash holding the same row on a connection held open.
Prints p50/p99 and the ratios.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.timing import percentiles, timed  # noqa: E402
from base.settings import Settings  # noqa: E402
from features import config  # noqa: E402
from features.config import StoreConfig  # noqa: E402
from features.store import FeatureStore  # noqa: E402




def pick_booking(store: FeatureStore) -> tuple[str, dt.datetime]:
    table = pq.read_table(store.config.source_path("booking_features"),
                          columns=["booking_id", "event_timestamp", "agent"])
    table = table.filter(pc.is_valid(table["agent"]))
    return table["booking_id"][0].as_py(), table["event_timestamp"][0].as_py()


def sqlite_baseline(store: FeatureStore, booking_id: str, reads: int, warmup: int):
    bookings = pq.read_table(store.config.source_path("booking_features")).drop_columns(
        ["event_timestamp", "created_at"])
    path = store.config.directory / "baseline.sqlite"
    con = sqlite3.connect(path, check_same_thread=False)
    cols = bookings.column_names
    con.execute(f"create table bookings ({', '.join(cols)}, primary key (booking_id))")
    con.executemany(f"insert into bookings values ({', '.join('?' * len(cols))})",
                    zip(*(bookings[c].to_pylist() for c in cols)))
    con.commit()

    def read():
        cur = con.execute("select * from bookings where booking_id = ?", (booking_id,))
        return dict(zip(cols, cur.fetchone()))

    assert read()["booking_id"] == booking_id
    return timed(read, reads, warmup)


def feast_reads(store: FeatureStore, booking_id: str, reads: int, warmup: int):
    def read():
        return store.online_features("cancellation", [{"booking_id": booking_id}])

    assert read()["lead_time"][0] is not None, "booking not in the online store"
    return timed(read, reads, warmup)


def record_reads(store: FeatureStore, booking_id: str, reads: int, warmup: int):
    """The API's read of the same booking: one key lookup of the service's features."""
    def read():
        return store.online_record("cancellation", {"booking_id": booking_id})

    assert read()["lead_time"] is not None, "booking not in the online store"
    return timed(read, reads, warmup)


def report(reads: list[tuple[str, list[float]]], base_label: str, base_s: list[float]) -> None:
    b50, b99 = percentiles(base_s)
    for label, seconds in reads:
        p50, p99 = percentiles(seconds)
        print(f"{label:<34} p50 {p50:8.3f} ms   p99 {p99:8.3f} ms   "
              f"({p50 / b50:.1f}x / {p99 / b99:.1f}x the baseline)")
    print(f"{base_label:<34} p50 {b50:8.3f} ms   p99 {b99:8.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--redis", action="store_true", help="also the production profile (Redis)")
    args = parser.parse_args()

    base = Settings()  # the marts of this environment (INNSIGHT_HOME)
    marts = base.marts_path
    with tempfile.TemporaryDirectory(prefix="feast_bench_") as tmp:
        store = FeatureStore(StoreConfig(Path(tmp) / "home" / "feast"))
        t = time.perf_counter()
        counts = store.export_sources(marts)
        print(f"marts {marts}: {counts['booking_features']:,} bookings exported "
              f"in {time.perf_counter() - t:.1f} s")
        booking_id, booked_at = pick_booking(store)
        day = dict(start=booked_at, end=booked_at + dt.timedelta(hours=12),
                   views=["booking_features"])

        store.apply()
        store.materialize(**day)
        service = store.feast.get_feature_service("cancellation")
        n_features = sum(len(p.features) for p in service.feature_view_projections)
        print(f"entity: booking {booking_id} (cancellation service, {n_features} features); "
              f"{args.reads} reads after {args.warmup} warm-up\n")
        report([("Feast online (SQLite)", feast_reads(store, booking_id, args.reads, args.warmup)),
                ("API's one-key read (SQLite)", record_reads(store, booking_id, args.reads, args.warmup))],
               "sqlite3 point query", sqlite_baseline(store, booking_id, args.reads, args.warmup))

        if args.redis:
            print()
            redis_bench(base, store, booking_id, day, args)


def redis_bench(base: Settings, embedded: FeatureStore, booking_id: str, day: dict, args) -> None:
    import psycopg
    import redis

    try:
        redis.Redis.from_url(base.redis_url, socket_connect_timeout=3).ping()
        admin = psycopg.connect(base.postgres_url, autocommit=True, connect_timeout=3)
    except Exception as exc:  # noqa: BLE001 - report and skip
        print(f"Redis bench skipped: {exc}")
        return
    suffix = uuid.uuid4().hex[:10]
    database = f"innsight_feast_bench_{suffix}"
    admin.execute(f'create database "{database}"')
    config.PROJECT = f"innsight_bench_{suffix}"
    redis_url = urlunsplit(urlsplit(base.redis_url)._replace(path="/15"))
    # The production profile's store (Redis online store, SQL registry in its own database),
    # over the same parquet exports.
    store = FeatureStore(StoreConfig(embedded.config.directory, production=True,
                                     redis_url=redis_url, postgres_url=base.postgres_url,
                                     database=database))
    client = redis.Redis.from_url(redis_url)
    key = f"innsight_bench_{suffix}:baseline:{booking_id}"
    try:
        store.apply()
        store.materialize(**day)
        row = store.online_features("cancellation", [{"booking_id": booking_id}])
        client.hset(key, mapping={k: str(v[0]) for k, v in row.items()})
        # the floor: the command on a connection held open, without the client's call wrappers
        conn = client.connection_pool.get_connection()

        def hgetall():
            conn.send_command("HGETALL", key)
            return conn.read_response()

        report([("Feast online (Redis)", feast_reads(store, booking_id, args.reads, args.warmup)),
                ("API's one-key read (Redis)", record_reads(store, booking_id, args.reads, args.warmup))],
               "HGETALL on an open connection", timed(hgetall, args.reads, args.warmup))
    finally:
        client.delete(key)
        store.feast.teardown()
        admin.execute(f'drop database if exists "{database}" with (force)')
        admin.close()


if __name__ == "__main__":
    main()
