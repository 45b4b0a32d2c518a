"""Full build from the real extract: landing -> bronze -> dbt marts -> published marts file.

What it measures, in one process:

* Innsight: with ``INNSIGHT_HOME`` a fresh temporary folder holding only the bundled real
  extract in ``landing/pms/``, ``innsight build --no-seed`` (``innsight.cli.main``): Dagster
  instance, dbt parse, then the ``build_lakehouse`` job in process -- bronze ingest of every source
  (contracts, quarantine, Delta merge, ingest log, asset checks), ``dbt build`` (staging,
  intermediate and mart models with their tests) and the atomic publish of the marts file.
  Wall time from the call to its return, imports it does included; the per-step breakdown
  comes from the run's Dagster event log.
* Baseline: a plain DuckDB one-shot with no lake and no checks: ``read_csv`` of the same
  gzipped extract and the daily occupancy aggregate (hotel x room type x day, zero-filled
  over each hotel's calendar, rooms sold, room revenue, occupancy, ADR, RevPAR against the
  inventory of ``lake/reference/properties.yaml``) written to a table of a DuckDB file.

The ratio Innsight / baseline is a reference point for the price of governance (contracts,
quarantine, Delta, dbt tests, Dagster), not a target. The two occupancy results are printed
side by side (total room-nights sold) as a sanity check.

Run (from the repository root)::

    OMP_WAIT_POLICY=passive .venv/bin/python bench/full_build.py
    .venv/bin/python bench/full_build.py --keep     # keep the temporary data home, print it
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
EXTRACT = REPO_ROOT / "data" / "hotel_bookings.csv.gz"
PROPERTIES = REPO_ROOT / "lake" / "reference" / "properties.yaml"

OCCUPANCY_SQL = """
create or replace table fct_daily_occupancy as
with raw as (
    select * from read_csv('{extract}', header = true, nullstr = ['NULL', 'NA'])
),
bookings as (
    select
        hotel,
        coalesce(assigned_room_type, reserved_room_type) as room_type,
        make_date(arrival_date_year,
                  month(strptime(arrival_date_month, '%B')),
                  arrival_date_day_of_month) as arrival_date,
        cast(stays_in_weekend_nights + stays_in_week_nights as integer) as nights,
        is_canceled,
        adr
    from raw
),
nights as (
    select b.hotel, b.room_type, b.adr,
           cast(unnest(generate_series(b.arrival_date, b.arrival_date + b.nights - 1,
                                       interval 1 day)) as date) as stay_date
    from bookings as b
    where b.is_canceled = 0 and b.nights > 0
),
calendar as (
    select hotel,
           cast(unnest(generate_series(min(arrival_date),
                                       max(greatest(arrival_date, arrival_date + nights - 1)),
                                       interval 1 day)) as date) as date_day
    from bookings
    group by hotel
),
room_types as (
    select hotel, room_type from inventory
    union
    select distinct hotel, room_type from nights
),
sold as (
    select hotel, room_type, stay_date, count(*) as rooms_sold, sum(adr) as room_revenue
    from nights
    group by all
)
select c.hotel, rt.room_type, c.date_day as date,
       coalesce(inv.rooms, 0) as rooms_available,
       coalesce(s.rooms_sold, 0) as rooms_sold,
       coalesce(s.room_revenue, 0.0) as room_revenue,
       coalesce(s.rooms_sold, 0) / nullif(inv.rooms, 0) as occupancy,
       s.room_revenue / nullif(s.rooms_sold, 0) as adr,
       coalesce(s.room_revenue, 0.0) / nullif(inv.rooms, 0) as revpar
from calendar as c
join room_types as rt on rt.hotel = c.hotel
left join inventory as inv on inv.hotel = c.hotel and inv.room_type = rt.room_type
left join sold as s on s.hotel = c.hotel and s.room_type = rt.room_type
                   and s.stay_date = c.date_day
"""


def _inventory_rows() -> list[tuple[str, str, int]]:
    import yaml

    props = yaml.safe_load(PROPERTIES.read_text())["properties"]
    return [(p["name"], str(rt), int((spec or {}).get("rooms") or 0))
            for p in props for rt, spec in (p.get("room_types") or {}).items()]


def duckdb_baseline(work: Path) -> dict:
    """The occupancy aggregate straight from the CSV with DuckDB (no lake, no checks)."""
    import duckdb

    db = work / "baseline.duckdb"
    started = time.perf_counter()
    con = duckdb.connect(str(db))
    con.execute("set TimeZone = 'UTC'")
    con.execute("create table inventory (hotel varchar, room_type varchar, rooms integer)")
    con.executemany("insert into inventory values (?, ?, ?)", _inventory_rows())
    con.execute(OCCUPANCY_SQL.format(extract=str(EXTRACT).replace("'", "''")))
    con.close()
    seconds = time.perf_counter() - started
    with duckdb.connect(str(db), read_only=True) as con:
        rows, sold = con.execute(
            "select count(*), sum(rooms_sold) from fct_daily_occupancy "
            "where hotel in ('Resort Hotel', 'City Hotel')").fetchone()
    return {"seconds": seconds, "rows": rows, "rooms_sold": sold}


def innsight_build(verbose: bool) -> dict:
    """`innsight build --no-seed` in this process (INNSIGHT_HOME already points to the temp home).

    Timed from the first import of the orchestration code to the command's return; the
    imports and the dbt parse are timed apart for the breakdown.
    """
    out = sys.stdout if verbose else io.StringIO()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    status = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            t0 = time.perf_counter()
            import orchestration.definitions  # noqa: F401  (what cmd_build imports)
            import orchestration.warehouse.resources as project
            from innsight import cli
            timings["imports"] = time.perf_counter() - t0
            parse = project.prepare_manifest

            def timed_parse(settings):
                t = time.perf_counter()
                manifest = parse(settings)
                timings["dbt parse"] = time.perf_counter() - t
                return manifest

            project.prepare_manifest = timed_parse  # cmd_build imports it at call time
            try:
                cli.main(["build", "--no-seed", "--job", "build_lakehouse"])
            finally:
                project.prepare_manifest = parse
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    seconds = time.perf_counter() - started
    printed = "" if verbose else out.getvalue()
    summary = [ln for ln in printed.splitlines()
               if ln.startswith(("build succeeded", "build FAILED", "checks not passing"))]
    if status != 0 and not verbose:
        print(printed[-6000:])
    return {"seconds": seconds, "status": status, "printed": "\n".join(summary),
            **timings, **_run_breakdown(), **_marts_totals()}


def _run_breakdown() -> dict:
    """Seconds per step of the latest Dagster run, from its event log."""
    from dagster import DagsterEventType, DagsterInstance

    with DagsterInstance.get() as instance:
        records = instance.get_run_records(limit=1)
        if not records:
            return {"steps": {}, "run_seconds": None}
        run = records[0]
        starts, ends = {}, {}
        for entry in instance.all_logs(run.dagster_run.run_id):
            event = entry.dagster_event
            if event is None or not entry.step_key:
                continue
            if event.event_type == DagsterEventType.STEP_START:
                starts[entry.step_key] = entry.timestamp
            elif event.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
                ends[entry.step_key] = entry.timestamp
        run_seconds = (run.end_time - run.start_time) if run.end_time and run.start_time else None
    steps = {k: ends[k] - starts[k] for k in starts if k in ends}
    return {"steps": steps, "run_seconds": run_seconds}


def _marts_totals() -> dict:
    import duckdb

    from base.settings import Settings

    path = Settings().marts_path  # this driver's settings: INNSIGHT_HOME, set in main()
    if not path.exists():
        return {"rows": None, "rooms_sold": None}
    with duckdb.connect(str(path), read_only=True) as con:
        rows, sold = con.execute(
            "select count(*), sum(rooms_sold) from fct_daily_occupancy "
            "where hotel in ('Resort Hotel', 'City Hotel')").fetchone()
    return {"rows": rows, "rooms_sold": sold}


def _stage(step_key: str) -> str:
    if step_key.startswith("bronze"):
        return "bronze ingest (all sources, with contract checks)"
    if "dbt" in step_key:
        return "dbt build (models + tests)"
    if "marts_file" in step_key:
        return "publish marts file"
    return step_key


def report(inn: dict, base: dict) -> None:
    print()
    print("Full build from the real extract (119,390 bookings): innsight build --no-seed vs "
          "a DuckDB one-shot")
    failed = "" if inn["status"] == 0 else f"  (exit status {inn['status']})"
    print(f"  innsight build (landing -> bronze -> dbt -> marts): {inn['seconds']:8.1f} s{failed}")
    print(f"  duckdb one-shot (read_csv -> daily occupancy):       {base['seconds']:8.2f} s")
    print(f"  ratio innsight / duckdb:                             {inn['seconds'] / base['seconds']:8.0f}x")
    print(f"  peak RSS of this process (both sides; dbt runs in a child process, not counted): "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")
    if inn.get("steps"):
        print()
        print("  innsight build by stage (Dagster step wall times):")
        stages: dict[str, float] = {}
        for key, secs in inn["steps"].items():
            stages[_stage(key)] = stages.get(_stage(key), 0.0) + secs
        for name, secs in sorted(stages.items(), key=lambda kv: -kv[1]):
            print(f"    {name:<52} {secs:7.1f} s")
        run = inn.get("run_seconds")
        if run is not None:
            print(f"    {'Dagster run, total (steps + orchestration)':<52} {run:7.1f} s")
            before = inn["seconds"] - run - inn.get("imports", 0) - inn.get("dbt parse", 0)
            print(f"    {'imports (dagster, dagster-dbt, code location)':<52} "
                  f"{inn.get('imports', 0):7.1f} s")
            print(f"    {'dbt parse (manifest)':<52} {inn.get('dbt parse', 0):7.1f} s")
            print(f"    {'rest (Dagster instance, job setup)':<52} {before:7.1f} s")
        slowest = sorted(inn["steps"].items(), key=lambda kv: -kv[1])[:5]
        print("    slowest steps: " + ", ".join(f"{k} {v:.1f} s" for k, v in slowest))
    print()
    print(f"  sanity: fct_daily_occupancy rows / room-nights sold for the two real hotels: "
          f"innsight {inn['rows']} / {inn['rooms_sold']}, duckdb {base['rows']} / {base['rooms_sold']}"
          " (innsight drops quarantined rows)")
    if inn["printed"]:
        print("  innsight printed: " + inn["printed"].replace("\n", "\n    "))
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print("  note: PYTHONDONTWRITEBYTECODE is set, so every import compiles from source "
              "(slower imports than a normal install)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary data home")
    parser.add_argument("--verbose", action="store_true",
                        help="show the build's own output (Dagster and dbt logs)")
    args = parser.parse_args(argv)

    home = Path(tempfile.mkdtemp(prefix="innsight-bench-build-"))
    # The build runs `innsight build` in this process: the command reads its settings from
    # the environment, as it does for a user.
    os.environ["INNSIGHT_HOME"] = str(home)
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    try:
        landing = home / "landing" / "pms"
        landing.mkdir(parents=True)
        shutil.copyfile(EXTRACT, landing / EXTRACT.name)
        base = duckdb_baseline(home)
        inn = innsight_build(args.verbose)
        report(inn, base)
        if inn["status"] != 0:
            raise SystemExit("the innsight build failed (see above)")
    finally:
        if args.keep:
            print(f"kept {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, str(REPO_ROOT))
    main()
