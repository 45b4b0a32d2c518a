"""Feast online read latency for one entity, against a direct key lookup in the same process.

    python bench/feast_online_latency.py [--reads 1000] [--warmup 100] [--redis]

Exports the feature sources from the marts of the current settings (INNSIGHT_HOME) into a
temporary Feast home, applies the definitions and materialises one booking day. Then times
``features.store.online_features("cancellation", [{"booking_id": ...}])`` (the API the serving layer
calls: 32 features of one booking) and, as the baseline, a direct ``sqlite3`` point query by
primary key on a table holding the same bookings (``select * ... where booking_id = ?``,
row turned into a dict). With ``--redis``: the same read on the production profile (Redis
online store, SQL registry in a throw-away PostgreSQL database), against a direct
``HGETALL`` of a Redis hash holding the same row. Prints p50/p99 and the ratios.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sqlite3
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pyarrow.compute as pc
import pyarrow.parquet as pq

from features import config, store
from features.export import export_sources, source_path
from base.settings import Settings, get_settings


def percentiles(samples_s: list[float]) -> tuple[float, float]:
    ms = sorted(s * 1000 for s in samples_s)
    return statistics.median(ms), ms[min(len(ms) - 1, int(round(0.99 * (len(ms) - 1))))]


def timed(fn, reads: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(reads):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def pick_booking(settings: Settings) -> tuple[str, dt.datetime]:
    table = pq.read_table(source_path("booking_features", settings),
                          columns=["booking_id", "event_timestamp", "agent"])
    table = table.filter(pc.is_valid(table["agent"]))
    return table["booking_id"][0].as_py(), table["event_timestamp"][0].as_py()


def sqlite_baseline(settings: Settings, booking_id: str, reads: int, warmup: int):
    bookings = pq.read_table(source_path("booking_features", settings)).drop_columns(
        ["event_timestamp", "created_at"])
    path = settings.home / "baseline.sqlite"
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


def feast_reads(settings: Settings, booking_id: str, reads: int, warmup: int):
    def read():
        return store.online_features("cancellation", [{"booking_id": booking_id}], settings=settings)

    assert read()["lead_time"][0] is not None, "booking not in the online store"
    return timed(read, reads, warmup)


def report(label: str, feast_s: list[float], base_label: str, base_s: list[float]) -> None:
    f50, f99 = percentiles(feast_s)
    b50, b99 = percentiles(base_s)
    print(f"{label:<28} p50 {f50:8.3f} ms   p99 {f99:8.3f} ms")
    print(f"{base_label:<28} p50 {b50:8.3f} ms   p99 {b99:8.3f} ms")
    print(f"{'ratio (Feast / baseline)':<28} p50 {f50 / b50:8.1f} x    p99 {f99 / b99:8.1f} x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--redis", action="store_true", help="also the production profile (Redis)")
    args = parser.parse_args()

    marts = get_settings().marts_path
    with tempfile.TemporaryDirectory(prefix="feast_bench_") as tmp:
        settings = Settings(home=Path(tmp) / "home")
        t = time.perf_counter()
        counts = export_sources(settings, marts_path=marts)
        print(f"marts {marts}: {counts['booking_features']:,} bookings exported "
              f"in {time.perf_counter() - t:.1f} s")
        booking_id, booked_at = pick_booking(settings)
        day = dict(start=booked_at, end=booked_at + dt.timedelta(hours=12),
                   views=["booking_features"])

        store.apply(settings=settings)
        store.materialize(**day, settings=settings)
        service = store.feature_store(settings).get_feature_service("cancellation")
        n_features = sum(len(p.features) for p in service.feature_view_projections)
        print(f"entity: booking {booking_id} (churn service, {n_features} features); "
              f"{args.reads} reads after {args.warmup} warm-up\n")
        report("Feast online (SQLite)", feast_reads(settings, booking_id, args.reads, args.warmup),
               "sqlite3 point query", sqlite_baseline(settings, booking_id, args.reads, args.warmup))

        if args.redis:
            print()
            redis_bench(settings, booking_id, day, args)


def redis_bench(embedded: Settings, booking_id: str, day: dict, args) -> None:
    import psycopg
    import redis

    base = Settings()
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
    settings = Settings(home=embedded.home, profile="production", redis_url=redis_url,
                        postgres_url=urlunsplit(urlsplit(base.postgres_url)._replace(path=f"/{database}")),
                        **({"feast_database": database} if "feast_database" in Settings.model_fields else {}))
    client = redis.Redis.from_url(redis_url)
    key = f"innsight_bench_{suffix}:baseline:{booking_id}"
    try:
        store.apply(settings=settings)
        store.materialize(**day, settings=settings)
        row = store.online_features("cancellation", [{"booking_id": booking_id}], settings=settings)
        client.hset(key, mapping={k: str(v[0]) for k, v in row.items()})
        report("Feast online (Redis)", feast_reads(settings, booking_id, args.reads, args.warmup),
               "redis HGETALL", timed(lambda: client.hgetall(key), args.reads, args.warmup))
    finally:
        client.delete(key)
        store.feature_store(settings).teardown()
        store.reset()
        admin.execute(f'drop database if exists "{database}" with (force)')
        admin.close()


if __name__ == "__main__":
    main()
