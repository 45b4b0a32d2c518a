"""Bronze ingest throughput: Innsight's ingest path against pandas + SQLite, same files.

What it measures, for each number of synthetic bookings (default 1M and 10M):

* Innsight: every ``pms/bookings_chain*.csv`` of a synthetic chain goes through
  ``lake.ingest.LandingZone.ingest`` -- the real path: parse, contract validation, derivations,
  quarantine, Delta merge into ``bronze/pms_bookings``, ingest log -- with ``INNSIGHT_HOME``
  pointing to a fresh temporary folder.
* Baseline: the same parse-validate-load work written the usual way, with pandas and SQLite:
  ``pandas.read_csv`` of the same files, the same contract rules in vectorised pandas
  (type coercion with ``errors='coerce'``, required fields, allowed values, ranges, unknown
  hotel against ``lake/reference/properties.yaml``, derived arrival_date, booking_date, nights,
  departure_date, room_revenue, in-file duplicate keys), bad rows into a ``quarantine``
  table, good rows upserted (``INSERT ... ON CONFLICT(booking_id) DO UPDATE`` through
  ``executemany``) into a SQLite table keyed on ``booking_id``, one transaction per file,
  and an ingest-log row per file, in a file database.

Each side runs in its own child process (this script with ``--side``), so its wall time
excludes interpreter start-up and imports, and its peak RSS (``VmHWM`` of that process, not
the parent's it started from: ``base.memory``) is its own. The table gives both sides and
the ratio baseline seconds / Innsight seconds, and the run fails if the two sides did not
load and quarantine the same number of rows.

The chain is generated once per (bookings, seed) with ``lake.synthetic.generate_chain`` and
kept in a cache folder (``--cache-dir``, default ``/tmp/innsight-bench-cache``) for the next run.

Run (from the repository root)::

    OMP_WAIT_POLICY=passive .venv/bin/python bench/ingest_throughput.py            # 1M and 10M
    OMP_WAIT_POLICY=passive .venv/bin/python bench/ingest_throughput.py --quick    # 200k
    .venv/bin/python bench/ingest_throughput.py --bookings 2000000 --baseline-max-bookings 0
    .venv/bin/python bench/ingest_throughput.py --quick --profile   # cProfile of the Innsight side
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from base.memory import peak_rss_mb
from innsight.cli import PROCESS_ENV  # each side runs as `innsight` runs an ingest
from lake.sources.pms import BOOKING_TIME_ATTRIBUTES  # the key rule is the lake's own

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULT_TAG = "BENCH_RESULT "
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "innsight-bench-cache"
TARGET_SPEEDUP = 20.0


# --------------------------------------------------------------------------- helpers


def emit(result: dict) -> None:
    print(RESULT_TAG + json.dumps(result), flush=True)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def chain_files(chain_dir: Path) -> list[Path]:
    return sorted((chain_dir / "pms").glob("bookings_chain*.csv"))


def run_child(args: list[str], env_extra: dict[str, str] | None = None) -> dict:
    """Run this script as a child process and return the result line it prints."""
    env = {**PROCESS_ENV, **os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "passive"),
           "PYTHONUNBUFFERED": "1", **(env_extra or {})}
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args],
                          cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_TAG)]
    for ln in proc.stdout.splitlines():
        if not ln.startswith(RESULT_TAG):
            print(ln)
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"child {' '.join(args[:2])} failed (exit code {proc.returncode})")
    return json.loads(lines[-1][len(RESULT_TAG):])


# --------------------------------------------------------------------------- chain


def ensure_chain(bookings: int, seed: int, cache_dir: Path) -> Path:
    """The cached chain for (bookings, seed), generated in a child process if missing."""
    chain_dir = cache_dir / f"chain-{bookings}-seed{seed}"
    if (chain_dir / ".complete").exists() and chain_files(chain_dir):
        log(f"chain: reusing {chain_dir}")
        return chain_dir
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = cache_dir / f".partial-{bookings}-seed{seed}-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    log(f"chain: generating {bookings:,} bookings (seed {seed}) into {chain_dir} ...")
    try:
        result = run_child(["--side", "generate", "--out", str(partial),
                            "--n", str(bookings), "--seed", str(seed)])
        # Keep only the bookings files: at 10M bookings the folio lines, guests, staff and
        # camera files are another ~7 GB that this benchmark never reads.
        for path in partial.rglob("*"):
            if path.is_file() and not (path.parent.name == "pms"
                                       and path.name.startswith("bookings_chain")):
                path.unlink()
        shutil.rmtree(chain_dir, ignore_errors=True)
        partial.rename(chain_dir)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    (chain_dir / ".complete").write_text(json.dumps(result))
    log(f"chain: generated in {result['seconds']:.1f} s: {result['counts']}")
    return chain_dir


def ensure_export(chain_dir: Path) -> Path:
    """The chain's bookings as one export file (every side reads this same file): the
    chain's files, one header, concatenated once and cached."""
    files = chain_files(chain_dir)
    if len(files) == 1:
        return files[0]
    export = chain_dir / "export" / "pms" / "bookings_export.csv"
    if not export.exists():
        export.parent.mkdir(parents=True, exist_ok=True)
        partial = export.with_suffix(".partial")
        with partial.open("wb") as out:
            for i, path in enumerate(files):
                with path.open("rb") as f:
                    header = f.readline()
                    if i == 0:
                        out.write(header)
                    shutil.copyfileobj(f, out, 16 << 20)
        partial.rename(export)
    return export


def ensure_corrected(chain_dir: Path, export: Path, share: float) -> Path:
    """The same export issued again later, ``share`` of its rows changed the way a PMS's
    next export changes them: the bookings on the books whose stays come first (no status
    yet) now have one (checked out, or cancelled). Cached next to the export."""
    corrected = chain_dir / "corrected" / "pms" / f"bookings_export_{share:g}.csv"
    if corrected.exists():
        return corrected
    import polars as pl

    df = pl.read_csv(export, infer_schema=False).with_row_index("_i")
    n = int(df.height * share)
    # on the books: no status yet; the earliest arrivals (the file's order) first
    pending = df.filter(pl.col("reservation_status").is_null()).head(n)["_i"]
    if pending.len() < n:  # a chain with fewer: the latest bookings of the file
        pending = pl.concat([pending, df["_i"].tail(n - pending.len())])
    chosen = pl.col("_i").is_in(pending.implode())
    odd = (pl.col("_i") % 3 == 0)  # a third cancelled, the rest checked out
    df = df.with_columns(
        is_canceled=pl.when(chosen & odd).then(pl.lit("1")).otherwise("is_canceled"),
        reservation_status=pl.when(chosen).then(
            pl.when(odd).then(pl.lit("Canceled")).otherwise(pl.lit("Check-Out"))
        ).otherwise("reservation_status"),
    )
    corrected.parent.mkdir(parents=True, exist_ok=True)
    df.drop("_i").write_csv(corrected.with_suffix(".partial"))
    corrected.with_suffix(".partial").rename(corrected)
    return corrected


def side_generate(out: Path, n: int, seed: int) -> None:
    from lake.synthetic import generate_chain

    started = time.perf_counter()
    counts = generate_chain(out, bookings=n, seed=seed)
    emit({"seconds": time.perf_counter() - started,
          "counts": {str(k): int(v) for k, v in dict(counts or {}).items()}})


# --------------------------------------------------------------------------- Innsight side


def side_innsight(files: list[Path], profile: bool, reingest: Path | None = None) -> None:
    """Ingest every file through LandingZone.ingest (this child is an entry point: its
    settings come from INNSIGHT_HOME, set by the parent)."""
    import pyarrow.dataset  # noqa: F401  (imported lazily by the first Delta read: an import)

    from base.settings import Settings
    from lake.ingest import LandingZone

    zone = LandingZone.from_settings(Settings())

    totals = dict(read=0, loaded=0, quarantined=0, collapsed=0, inserted=0, updated=0)
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    for path in files:
        t0 = time.perf_counter()
        r = zone.ingest(path)
        totals["read"] += r.rows_read
        totals["loaded"] += r.rows_loaded
        totals["quarantined"] += r.rows_quarantined
        totals["collapsed"] += r.duplicates_collapsed
        totals["inserted"] += r.rows_inserted
        totals["updated"] += r.rows_updated
        log(f"  innsight {path.name}: {r.rows_read:,} read, {r.rows_loaded:,} loaded "
            f"({r.rows_inserted:,} new, {r.rows_updated:,} updated), "
            f"{r.rows_quarantined:,} quarantined in {time.perf_counter() - t0:.1f} s; "
            f"peak RSS so far {peak_rss_mb():,.0f} MB")
    seconds = time.perf_counter() - started
    load = os.getloadavg()[0]
    if profiler is not None:
        import pstats

        profiler.disable()
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("cumulative").print_stats(35)
        stats.sort_stats("tottime").print_stats(20)
    rss = peak_rss_mb()
    out = {"seconds": seconds, "peak_rss_mb": rss, "load": load, **totals}
    if reingest is not None:
        # The corrected export: its time against the first load's, and the files rewritten.
        files_before = set(zone.lake._table("bronze/pms_bookings").file_uris())
        t0 = time.perf_counter()
        r = zone.ingest(reingest)
        out["reingest"] = {"seconds": time.perf_counter() - t0, "read": r.rows_read,
                           "inserted": r.rows_inserted, "updated": r.rows_updated,
                           "peak_rss_mb": peak_rss_mb()}
        files_after = set(zone.lake._table("bronze/pms_bookings").file_uris())
        out["reingest"]["files"] = len(files_before)
        out["reingest"]["files_rewritten"] = len(files_before - files_after)
        log(f"  innsight re-ingest {reingest.name}: {r.rows_updated:,} updated, "
            f"{r.rows_inserted:,} new in {out['reingest']['seconds']:.1f} s; "
            f"{len(files_before - files_after)} of {len(files_before)} files rewritten")
    # Outside the timing: what the bronze table holds now.
    table = zone.lake.read("bronze/pms_bookings", columns=["booking_id"])
    quarantine = zone.lake.read("quarantine", columns=["source"])
    emit({**out, "table_rows": table.height, "distinct_keys": table["booking_id"].n_unique(),
          "quarantine_rows": quarantine.height})


# --------------------------------------------------------------------------- baseline side

# The bookings contract (lake/sources/pms.py), restated for pandas.
NULL_TOKENS = ["", "NULL", "NA", "null", "None"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
TEXT_COLUMNS = ["hotel", "arrival_date_month", "meal", "country", "market_segment",
                "distribution_channel", "reserved_room_type", "assigned_room_type",
                "deposit_type", "agent", "company", "customer_type", "reservation_status",
                "reservation_status_date", "booking_id", "guest_id", "room_number",
                "arrival_date", "departure_date"]
BOOL_COLUMNS = ["is_canceled", "is_repeated_guest"]
INT_RANGES = {
    "lead_time": (0, 1500), "arrival_date_year": (2000, 2100),
    "arrival_date_week_number": (1, 53), "arrival_date_day_of_month": (1, 31),
    "stays_in_weekend_nights": (0, 365), "stays_in_week_nights": (0, 365),
    "adults": (0, 60), "children": (0, 20), "babies": (0, 20),
    "previous_cancellations": (0, None), "previous_bookings_not_canceled": (0, None),
    "booking_changes": (0, None), "days_in_waiting_list": (0, None),
    "required_car_parking_spaces": (0, 20), "total_of_special_requests": (0, 20),
}
FLOAT_RANGES = {"adr": (0, 10_000)}
DATE_COLUMNS = ["reservation_status_date", "arrival_date", "departure_date"]
REQUIRED = ["hotel", "is_canceled", "lead_time", "adults", "market_segment",
            "reserved_room_type", "adr"]
ALLOWED = {
    "arrival_date_month": set(MONTHS),
    "meal": {"BB", "FB", "HB", "SC", "Undefined"},
    "market_segment": {"Direct", "Corporate", "Online TA", "Offline TA/TO", "Complementary",
                       "Groups", "Undefined", "Aviation"},
    "distribution_channel": {"Direct", "Corporate", "TA/TO", "Undefined", "GDS"},
    "deposit_type": {"No Deposit", "Refundable", "Non Refund"},
    "customer_type": {"Transient", "Contract", "Transient-Party", "Group"},
    "reservation_status": {"Check-Out", "Canceled", "No-Show"},
}
TRUE_VALUES, FALSE_VALUES = {"1", "true", "t", "yes", "y"}, {"0", "false", "f", "no", "n"}
# Bronze columns in order, with their SQLite types.
BRONZE_COLUMNS = {
    "booking_id": "TEXT", "hotel": "TEXT", "is_canceled": "INTEGER", "lead_time": "INTEGER",
    "arrival_date": "TEXT", "booking_date": "TEXT", "arrival_week": "INTEGER",
    "stays_in_weekend_nights": "INTEGER", "stays_in_week_nights": "INTEGER",
    "nights": "INTEGER", "departure_date": "TEXT", "adults": "INTEGER",
    "children": "INTEGER", "babies": "INTEGER", "meal": "TEXT", "country": "TEXT",
    "market_segment": "TEXT", "distribution_channel": "TEXT", "is_repeated_guest": "INTEGER",
    "previous_cancellations": "INTEGER", "previous_bookings_not_canceled": "INTEGER",
    "reserved_room_type": "TEXT", "assigned_room_type": "TEXT", "booking_changes": "INTEGER",
    "deposit_type": "TEXT", "agent": "TEXT", "company": "TEXT",
    "days_in_waiting_list": "INTEGER", "customer_type": "TEXT", "adr": "REAL",
    "required_car_parking_spaces": "INTEGER", "total_of_special_requests": "INTEGER",
    "reservation_status": "TEXT", "reservation_status_date": "TEXT", "room_revenue": "REAL",
    "guest_id": "TEXT", "room_number": "TEXT",
}
LINEAGE_COLUMNS = {"_source_file": "TEXT", "_batch_id": "TEXT", "_ingested_at": "TEXT",
                   "_row_hash": "INTEGER"}
INSERT_CHUNK = 200_000


def _baseline_schema(con) -> None:
    cols = {**BRONZE_COLUMNS, **LINEAGE_COLUMNS}
    ddl = ", ".join(f"{c} {t}" for c, t in cols.items())
    con.executescript(f"""
        CREATE TABLE IF NOT EXISTS pms_bookings ({ddl}, PRIMARY KEY (booking_id));
        CREATE TABLE IF NOT EXISTS quarantine (
            source TEXT, source_file TEXT, file_sha256 TEXT, batch_id TEXT,
            line_number INTEGER, reason TEXT, raw TEXT, quarantined_at TEXT,
            PRIMARY KEY (source, file_sha256, line_number));
        CREATE TABLE IF NOT EXISTS ingest_log (
            source TEXT, source_file TEXT, file_sha256 TEXT, batch_id TEXT, status TEXT,
            rows_read INTEGER, rows_loaded INTEGER, rows_inserted INTEGER,
            rows_updated INTEGER, rows_quarantined INTEGER, started_at TEXT, finished_at TEXT);
    """)


def _hotels() -> dict[str, str]:
    import yaml

    props = yaml.safe_load((REPO_ROOT / "lake/reference/properties.yaml").read_text())
    return {p["name"]: p["code"] for p in props["properties"]}


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read(path: Path):
    """pandas.read_csv: text columns as str, numbers inferred; long lines reported, not guessed."""
    import warnings

    import pandas as pd

    with open(path, encoding="utf-8", errors="replace") as f:
        header = f.readline().strip().lstrip("\ufeff").split(",")
    dtype = {c: str for c in header if c in TEXT_COLUMNS}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = pd.read_csv(path, dtype=dtype, keep_default_na=False, na_values=NULL_TOKENS,
                         on_bad_lines="warn", encoding_errors="replace")
    skipped: list[tuple[int, str]] = []  # (line number, reason) of lines with too many fields
    for w in caught:
        for part in str(w.message).split("\n"):
            if part.startswith("Skipping line "):
                line_no, _, rest = part[len("Skipping line "):].partition(": ")
                skipped.append((int(line_no), rest.strip()))
    return df, skipped


def _raw_lines(path: Path, wanted: set[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    if not wanted:
        return out
    last = max(wanted)
    with open(path, encoding="utf-8", errors="replace") as f:
        for i, line in enumerate(f, start=1):
            if i in wanted:
                out[i] = line.rstrip("\r\n")
            if i >= last:
                break
    return out


def _text(s):
    return s.astype(str)


def _validate(df, hotels: dict[str, str]):
    """Typed frame + the contract's checks: (failing mask, reason) with the reason text built
    only for the failing rows (a string, or a function of those rows' index)."""
    import numpy as np
    import pandas as pd

    checks: list[tuple] = []
    n = len(df)
    for c in TEXT_COLUMNS + BOOL_COLUMNS + list(INT_RANGES) + list(FLOAT_RANGES):
        if c not in df.columns:
            df[c] = pd.Series([None] * n, dtype=object) if c in TEXT_COLUMNS else np.nan
    for c in TEXT_COLUMNS:
        s = df[c]
        if s.dtype == object and s.notna().any():
            s = s.str.strip()
            df[c] = s.where(~s.isin(NULL_TOKENS), None)
    for c in REQUIRED:
        checks.append((df[c].isna(), f"missing {c}"))
    # booleans
    for c in BOOL_COLUMNS:
        s = df[c]
        if pd.api.types.is_bool_dtype(s):
            typed = s
        elif pd.api.types.is_numeric_dtype(s):
            typed = s.map({1: True, 0: False})
        else:
            low = s.astype("string").str.strip().str.lower()
            typed = pd.Series(np.where(low.isin(TRUE_VALUES), True,
                                       np.where(low.isin(FALSE_VALUES), False, None)),
                              index=df.index)
        checks.append((s.notna() & typed.isna(),
                       lambda i, s=s, c=c: f"unparseable {c} '" + _text(s[i]) + "'"))
        df[c] = typed
    # numbers
    for c, (lo, hi) in {**INT_RANGES, **FLOAT_RANGES}.items():
        s = df[c]
        num = s if pd.api.types.is_numeric_dtype(s) else pd.to_numeric(
            s.astype("string").str.strip(), errors="coerce")
        num = num.astype("float64")
        if c in INT_RANGES:
            num = num.where(num == num.round(0))
        checks.append((s.notna() & num.isna(),
                       lambda i, s=s, c=c: f"unparseable {c} '" + _text(s[i]) + "'"))
        if lo is not None:
            checks.append((num < lo, lambda i, s=s, c=c, lo=lo: f"{c} " + _text(s[i])
                           + f" is below {lo:g}"))
        if hi is not None:
            checks.append((num > hi, lambda i, s=s, c=c, hi=hi: f"{c} " + _text(s[i])
                           + f" is above {hi:g}"))
        df[c] = num.astype("Int64") if c in INT_RANGES else num
    # dates
    for c in DATE_COLUMNS:
        s = df[c]
        typed = pd.to_datetime(s, format="%Y-%m-%d", errors="coerce")
        checks.append((s.notna() & typed.isna(),
                       lambda i, s=s, c=c: f"unparseable {c} '" + _text(s[i]) + "'"))
        df[c] = typed
    # allowed values
    for c, allowed in ALLOWED.items():
        s = df[c]
        checks.append((s.notna() & ~s.isin(allowed),
                       lambda i, s=s, c=c, a=sorted(allowed): f"{c} '" + _text(s[i])
                       + f"' is not one of {a}"))
    # derivations
    month = df["arrival_date_month"].map({m: i for i, m in enumerate(MONTHS, start=1)})
    from_parts = pd.to_datetime(
        pd.DataFrame({"year": df["arrival_date_year"], "month": month,
                      "day": df["arrival_date_day_of_month"]}).astype("float64"),
        errors="coerce")
    df["arrival_date"] = df["arrival_date"].fillna(from_parts)
    stay = (df["departure_date"] - df["arrival_date"]).dt.days
    if stay.notna().any():  # PMSs that give only the departure date (never in this chain)
        wd = df["arrival_date"].dt.weekday
        weekend = sum(((stay % 7) > k) & ((wd + k) % 7).isin([5, 6]) for k in range(7))
        weekend = 2 * (stay // 7) + weekend
        df["stays_in_weekend_nights"] = df["stays_in_weekend_nights"].fillna(weekend)
        df["stays_in_week_nights"] = df["stays_in_week_nights"].fillna(stay - weekend)
    df["nights"] = df["stays_in_weekend_nights"] + df["stays_in_week_nights"]
    df["booking_date"] = df["arrival_date"] - pd.to_timedelta(df["lead_time"], unit="D")
    df["departure_date"] = df["arrival_date"] + pd.to_timedelta(df["nights"], unit="D")
    df["arrival_week"] = df["arrival_date"].dt.isocalendar().week.astype("Int64")
    df["room_revenue"] = (df["adr"] * df["nights"]).round(2)
    df["assigned_room_type"] = df["assigned_room_type"].fillna(df["reserved_room_type"])
    need_id = df["booking_id"].isna()
    if need_id.any():  # no PMS id: hotel code + hash of booking-time attributes + occurrence
        sub = df.loc[need_id, BOOKING_TIME_ATTRIBUTES]
        digest = pd.util.hash_pandas_object(sub, index=False).map("{:016x}".format).str[:12]
        occurrence = digest.groupby(digest).cumcount() + 1
        code = sub["hotel"].map(hotels).fillna("UNK")
        df.loc[need_id, "booking_id"] = code + "-" + digest + "-" + occurrence.astype(str)
    # row rules
    checks.append((df["hotel"].notna() & ~df["hotel"].isin(list(hotels)),
                   lambda i: "unknown hotel '" + _text(df["hotel"][i])
                   + "' (not in the property master)"))
    checks.append((df["arrival_date"].isna(),
                   lambda i: "invalid arrival date " + _text(df["arrival_date_year"][i]) + "-"
                   + _text(df["arrival_date_month"][i]) + "-"
                   + _text(df["arrival_date_day_of_month"][i])))
    checks.append((df["nights"] < 0,
                   lambda i: "negative nights (" + _text(df["nights"][i]) + ")"))
    return df, checks


def _reasons(checks, index):
    """'; '-joined reasons of the failing rows only."""
    import pandas as pd

    parts = []
    for mask, reason in checks:
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            continue
        rows = mask.index[mask.values]
        text = reason(rows) if callable(reason) else pd.Series(reason, index=rows)
        parts.append(text)
    if not parts:
        return pd.Series([], dtype=object)
    return pd.concat(parts).groupby(level=0, sort=True).agg("; ".join)


def _sqlite_values(df, columns: list[str], lo: int, hi: int):
    """Rows [lo, hi) as Python tuples for executemany: None for nulls, ISO text for dates."""
    import pandas as pd

    out = []
    for c in columns:
        s = df[c].iloc[lo:hi]
        if pd.api.types.is_datetime64_any_dtype(s):
            text = s.values.astype("datetime64[D]").astype(str).astype(object)
            text[s.isna().values] = None
            out.append(text.tolist())
        else:
            out.append(s.astype(object).where(s.notna(), None).tolist())
    return list(zip(*out))


def _ingest_baseline(con, path: Path, hotels: dict[str, str]) -> dict:
    import numpy as np
    import pandas as pd

    started = pd.Timestamp.now(tz="UTC").isoformat()
    sha = _sha256(path)
    source_file, batch_id = str(path), f"pms_bookings-{sha[:12]}"
    if con.execute("SELECT 1 FROM ingest_log WHERE source = 'pms_bookings' AND file_sha256 = ?",
                   (sha,)).fetchone():
        return {"read": 0, "loaded": 0, "quarantined": 0, "collapsed": 0, "inserted": 0,
                "updated": 0}
    df, skipped = _read(path)
    # Line numbers in the file (header = 1), accounting for the lines pandas skipped.
    skipped_lines = np.array(sorted(ln for ln, _ in skipped), dtype=np.int64)
    line = np.arange(2, len(df) + 2, dtype=np.int64)
    if len(skipped_lines):
        line = line + np.searchsorted(skipped_lines - np.arange(len(skipped_lines)), line,
                                      side="right")
    df.index = pd.RangeIndex(len(df))
    df, checks = _validate(df, hotels)
    reasons = _reasons(checks, df.index)
    valid = ~df.index.isin(reasons.index)
    # In-file duplicate keys: identical repeats collapse, other repeats are quarantined.
    business = list(BRONZE_COLUMNS)
    row_hash = pd.util.hash_pandas_object(df[business], index=False).astype("int64")
    collapsed = 0
    keys = df["booking_id"].where(valid)  # invalid rows take no part in the key check
    dup = (valid & keys.duplicated(keep="first").values)
    if dup.any():
        first_hash = row_hash.where(valid).groupby(keys).transform("first")
        same = (row_hash == first_hash).values
        identical, conflict = dup & same, dup & ~same
        collapsed = int(identical.sum())
        conflict_reason = ("duplicate booking_id '" + df.loc[conflict, "booking_id"]
                           + "' with different content")
        reasons = pd.concat([reasons, conflict_reason]).sort_index()
        valid = valid & ~identical & ~conflict
    good = df[valid]
    good_hash = row_hash[valid]
    # Quarantine rows: structural rejects + contract rejects, with the raw line.
    bad_lines = {int(line[i]): r for i, r in reasons.items()}
    bad_lines.update({ln: r for ln, r in skipped})
    raw = _raw_lines(path, set(bad_lines))
    quarantine = [("pms_bookings", source_file, sha, batch_id, ln, r, raw.get(ln), started)
                  for ln, r in sorted(bad_lines.items())]
    # One transaction: quarantine, upsert, log.
    cols = business + list(LINEAGE_COLUMNS)
    good = good.assign(_source_file=source_file, _batch_id=batch_id, _ingested_at=started,
                       _row_hash=good_hash.values)
    placeholders = ", ".join("?" for _ in cols)
    updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c != "booking_id")
    upsert = (f"INSERT INTO pms_bookings ({', '.join(cols)}) VALUES ({placeholders}) "
              f"ON CONFLICT (booking_id) DO UPDATE SET {updates} "
              f"WHERE pms_bookings._row_hash <> excluded._row_hash")
    with con:
        con.executemany("INSERT OR IGNORE INTO quarantine VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        quarantine)
        before = con.execute("SELECT count(*) FROM pms_bookings").fetchone()[0]
        changes = con.total_changes
        for lo in range(0, len(good), INSERT_CHUNK):
            con.executemany(upsert, _sqlite_values(good, cols, lo, lo + INSERT_CHUNK))
        written = con.total_changes - changes
        inserted = con.execute("SELECT count(*) FROM pms_bookings").fetchone()[0] - before
        result = {"read": len(df) + len(skipped), "loaded": len(good),
                  "quarantined": len(quarantine), "collapsed": collapsed,
                  "inserted": inserted, "updated": written - inserted}
        con.execute("INSERT INTO ingest_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    ("pms_bookings", source_file, sha, batch_id, "loaded", result["read"],
                     result["loaded"], inserted, written - inserted, result["quarantined"],
                     started, pd.Timestamp.now(tz="UTC").isoformat()))
    return result


def side_baseline(files: list[Path], db: Path) -> None:
    import sqlite3

    import pandas  # noqa: F401  (import outside the timing, as on the Innsight side)

    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = NORMAL")
    con.execute("PRAGMA cache_size = -262144")  # 256 MiB page cache
    con.execute("PRAGMA temp_store = MEMORY")
    totals = dict(read=0, loaded=0, quarantined=0, collapsed=0, inserted=0, updated=0)
    started = time.perf_counter()
    _baseline_schema(con)
    hotels = _hotels()
    for path in files:
        t0 = time.perf_counter()
        r = _ingest_baseline(con, path, hotels)
        for k in totals:
            totals[k] += r[k]
        log(f"  baseline {path.name}: {r['read']:,} read, {r['loaded']:,} loaded "
            f"({r['inserted']:,} new, {r['updated']:,} updated), {r['quarantined']:,} "
            f"quarantined in {time.perf_counter() - t0:.1f} s; "
            f"peak RSS so far {peak_rss_mb():,.0f} MB")
    seconds = time.perf_counter() - started
    load = os.getloadavg()[0]
    rss = peak_rss_mb()
    table_rows, distinct = con.execute(
        "SELECT count(*), count(DISTINCT booking_id) FROM pms_bookings").fetchone()
    quarantine_rows = con.execute("SELECT count(*) FROM quarantine").fetchone()[0]
    con.close()
    emit({"seconds": seconds, "peak_rss_mb": rss, "load": load, **totals,
          "table_rows": table_rows,
          "distinct_keys": distinct, "quarantine_rows": quarantine_rows,
          "db_mb": db.stat().st_size / 2**20})


# --------------------------------------------------------------------------- floor side


def side_floor(files: list[Path], table: Path) -> None:
    """The bare floor: polars reads the file (types inferred) and one Delta append writes
    the same rows, nothing else."""
    import polars as pl
    from deltalake import write_deltalake

    started = time.perf_counter()
    df = pl.concat([pl.read_csv(f, infer_schema_length=10_000) for f in files])
    read = time.perf_counter() - started
    write_deltalake(str(table), df.to_arrow(), mode="append")
    seconds = time.perf_counter() - started
    emit({"seconds": seconds, "read_seconds": read, "append_seconds": seconds - read,
          "peak_rss_mb": peak_rss_mb(), "rows": df.height, "load": os.getloadavg()[0]})


# --------------------------------------------------------------------------- DuckDB peer
# The same contract, quarantine, in-file duplicate rule and upsert, in DuckDB SQL into a
# DuckDB table keyed on booking_id (the fair peer: DuckDB's own storage and ON CONFLICT; its
# delta extension cannot be installed here, and handing rows to delta-rs would measure
# delta-rs). Structural rejects come from read_csv's reject table with their line and raw
# text; a contract reject's raw line is its fields joined again (exact for unquoted lines).


def _sql_text(c: str) -> str:
    return c


def _sql_list(values) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in sorted(values))


def _duckdb_checks(header: list[str]) -> tuple[list[str], list[str]]:
    """(typed column expressions, reason expressions) over the raw varchar columns."""
    cols, reasons = [], []

    def src(c):  # the cleaned text, computed once in the query's first step
        return f"x_{c}"

    def unparseable(c, txt, typed):
        return (f"CASE WHEN {txt} IS NOT NULL AND {typed} IS NULL "
                f"THEN 'unparseable {c} ' || chr(39) || {txt} || chr(39) END")

    for c in TEXT_COLUMNS:
        if c not in DATE_COLUMNS:
            cols.append(f"{_sql_text(src(c))} AS {c}")
    for c in BOOL_COLUMNS:
        txt = f"lower({_sql_text(src(c))})"
        typed = (f"CASE WHEN {txt} IN ({_sql_list(TRUE_VALUES)}) THEN true "
                 f"WHEN {txt} IN ({_sql_list(FALSE_VALUES)}) THEN false END")
        cols.append(f"{typed} AS {c}")
        reasons.append(unparseable(c, txt, typed))
    for c, (lo, hi) in {**INT_RANGES, **FLOAT_RANGES}.items():
        txt = _sql_text(src(c))
        num = f"TRY_CAST({txt} AS DOUBLE)"
        if c in INT_RANGES:
            num = f"CASE WHEN {num} = round({num}) THEN {num} END"
        cols.append(f"{num}{'::INTEGER' if c in INT_RANGES else ''} AS {c}")
        reasons.append(unparseable(c, txt, num))
        if lo is not None:
            reasons.append(f"CASE WHEN {num} < {lo} THEN '{c} ' || {txt} || ' is below {lo:g}' END")
        if hi is not None:
            reasons.append(f"CASE WHEN {num} > {hi} THEN '{c} ' || {txt} || ' is above {hi:g}' END")
    for c in DATE_COLUMNS:
        txt = _sql_text(src(c))
        typed = f"TRY_STRPTIME({txt}, '%Y-%m-%d')::DATE"
        cols.append(f"{typed} AS {c}")
        reasons.append(unparseable(c, txt, typed))
    for c in REQUIRED:
        reasons.append(f"CASE WHEN {_sql_text(src(c))} IS NULL THEN 'missing {c}' END")
    for c, allowed in ALLOWED.items():
        txt = _sql_text(src(c))
        reasons.append(f"CASE WHEN {txt} IS NOT NULL AND {txt} NOT IN ({_sql_list(allowed)}) "
                       f"THEN '{c} ' || chr(39) || {txt} || chr(39) || ' is not allowed' END")
    return cols, reasons


def _ingest_duckdb(con, path: Path, hotels: dict[str, str]) -> dict:
    import duckdb

    started = time.time()
    sha = _sha256(path)
    source_file, batch_id = str(path), f"pms_bookings-{sha[:12]}"
    if con.execute("SELECT 1 FROM ingest_log WHERE file_sha256 = ?", [sha]).fetchall():
        return {k: 0 for k in ("read", "loaded", "quarantined", "collapsed", "inserted", "updated")}
    header = duckdb.sql(f"SELECT * FROM read_csv('{path}', all_varchar=true, header=true) LIMIT 0").columns
    cols, reasons = _duckdb_checks(header)
    tokens = ", ".join(repr(t) for t in NULL_TOKENS)
    cleaned = [f"CASE WHEN trim({c}) IN ({tokens}) THEN NULL ELSE trim({c}) END AS x_{c}"
               if c in header else f"NULL::VARCHAR AS x_{c}"
               for c in dict.fromkeys(TEXT_COLUMNS + BOOL_COLUMNS + list(INT_RANGES) + list(FLOAT_RANGES))]
    month = "CASE arrival_date_month " + " ".join(
        f"WHEN '{m}' THEN {i + 1}" for i, m in enumerate(MONTHS)) + " END"
    parts = (f"make_date(arrival_date_year, {month}, 1) + "
             f"(arrival_date_day_of_month - 1) * INTERVAL 1 DAY")
    nights = "stays_in_weekend_nights + stays_in_week_nights"
    con.execute("BEGIN")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE raw AS
        SELECT row_number() OVER () AS rn, * FROM read_csv('{path}', all_varchar=true, header=true,
            store_rejects=true, rejects_table='rejects_now', rejects_scan='rejects_scan_now')""")
    # a row's line: its number + the header + the rejected lines before it (none, usually)
    rejected = [r[0] for r in con.execute("SELECT line FROM rejects_now ORDER BY line").fetchall()]
    shift = " + ".join(f"(rn + {i} >= {ln - 1})::INT" for i, ln in enumerate(rejected)) or "0"
    con.execute(f"CREATE OR REPLACE TEMP TABLE lined AS SELECT *, rn + 1 + {shift} AS line FROM raw")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE typed AS
        WITH clean AS (
            SELECT line, {', '.join(cleaned)}, concat_ws(',', {', '.join(header)}) AS raw FROM lined),
        base AS (
            SELECT t.line, {', '.join(cols)},
                   t.raw, concat_ws('; ', {', '.join(reasons)}) AS reason0
            FROM clean t),
        d AS (SELECT *, coalesce(arrival_date, CASE WHEN day({parts}) = arrival_date_day_of_month
                                                    THEN ({parts})::DATE END) AS arrival FROM base)
        SELECT * EXCLUDE (arrival_date, departure_date, arrival, reason0),
               arrival AS arrival_date, {nights} AS nights,
               (arrival - lead_time * INTERVAL 1 DAY)::DATE AS booking_date,
               (arrival + ({nights}) * INTERVAL 1 DAY)::DATE AS departure_date,
               week(arrival)::INTEGER AS arrival_week,
               round(adr * ({nights}), 2) AS room_revenue,
               nullif(concat_ws('; ', nullif(reason0, ''),
                   CASE WHEN hotel IS NOT NULL AND hotel NOT IN ({_sql_list(hotels)})
                        THEN 'unknown hotel ' || chr(39) || hotel || chr(39) || ' (not in the property master)' END,
                   CASE WHEN arrival IS NULL THEN 'invalid arrival date' END,
                   CASE WHEN {nights} < 0 THEN 'negative nights' END), '') AS reason
        FROM d""")
    business = ", ".join(BRONZE_COLUMNS)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE checked AS
        SELECT *, hash({business}) AS h, first_value(line) OVER w AS first_line,
               first_value(hash({business})) OVER w AS first_h
        FROM typed WHERE reason IS NULL WINDOW w AS (PARTITION BY booking_id ORDER BY line)""")
    read = con.execute("SELECT (SELECT count(*) FROM raw) + (SELECT count(*) FROM rejects_now)").fetchall()[0][0]
    con.execute(f"""
        INSERT OR IGNORE INTO quarantine
        SELECT 'pms_bookings', '{source_file}', '{sha}', '{batch_id}', line, reason, raw, now() FROM (
            SELECT line, error_message AS reason, csv_line AS raw FROM rejects_now
            UNION ALL SELECT line, reason, raw FROM typed WHERE reason IS NOT NULL
            UNION ALL SELECT line, 'duplicate booking_id ' || chr(39) || booking_id || chr(39)
                || ' with different content (first at line ' || first_line || ')', raw
            FROM checked WHERE line > first_line AND h <> first_h)""")
    quarantined = con.execute("SELECT count(*) FROM quarantine WHERE file_sha256 = ?", [sha]).fetchall()[0][0]
    collapsed = con.execute("SELECT count(*) FROM checked WHERE line > first_line AND h = first_h").fetchall()[0][0]
    before = con.execute("SELECT count(*) FROM pms_bookings").fetchall()[0][0]
    cols_out = list(BRONZE_COLUMNS) + list(LINEAGE_COLUMNS)
    updates = ", ".join(f"{c} = excluded.{c}" for c in cols_out if c != "booking_id")
    changed = con.execute(f"""
        INSERT INTO pms_bookings ({', '.join(cols_out)})
        SELECT {business}, '{source_file}', '{batch_id}', now()::VARCHAR, h
        FROM checked WHERE line = first_line
        ON CONFLICT (booking_id) DO UPDATE SET {updates} WHERE pms_bookings._row_hash <> excluded._row_hash
        """).fetchall()[0][0]
    loaded = con.execute("SELECT count(*) FROM checked WHERE line = first_line").fetchall()[0][0]
    inserted = con.execute("SELECT count(*) FROM pms_bookings").fetchall()[0][0] - before
    con.execute("INSERT INTO ingest_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ["pms_bookings", source_file, sha, batch_id, "loaded", read, loaded, inserted,
                 changed - inserted, quarantined, str(started), str(time.time())])
    con.execute("COMMIT")
    return {"read": read, "loaded": loaded, "quarantined": quarantined, "collapsed": collapsed,
            "inserted": inserted, "updated": changed - inserted}


def side_duckdb(files: list[Path], db: Path, reingest: Path | None) -> None:
    import duckdb

    con = duckdb.connect(str(db))
    kinds = {"TEXT": "VARCHAR", "INTEGER": "INTEGER", "REAL": "DOUBLE"}
    dates = {"arrival_date", "booking_date", "departure_date", "reservation_status_date"}
    cols = {**BRONZE_COLUMNS, **LINEAGE_COLUMNS}
    ddl = ", ".join(f"{c} {'DATE' if c in dates else 'BOOLEAN' if c in BOOL_COLUMNS else 'UBIGINT' if c == '_row_hash' else kinds[t]}"
                    for c, t in cols.items())
    con.execute(f"CREATE TABLE pms_bookings ({ddl}, PRIMARY KEY (booking_id))")
    con.execute("""CREATE TABLE quarantine (source VARCHAR, source_file VARCHAR, file_sha256 VARCHAR,
        batch_id VARCHAR, line_number BIGINT, reason VARCHAR, raw VARCHAR, quarantined_at TIMESTAMPTZ,
        PRIMARY KEY (source, file_sha256, line_number))""")
    con.execute("""CREATE TABLE ingest_log (source VARCHAR, source_file VARCHAR, file_sha256 VARCHAR,
        batch_id VARCHAR, status VARCHAR, rows_read BIGINT, rows_loaded BIGINT, rows_inserted BIGINT,
        rows_updated BIGINT, rows_quarantined BIGINT, started_at VARCHAR, finished_at VARCHAR)""")
    hotels = _hotels()
    totals = dict(read=0, loaded=0, quarantined=0, collapsed=0, inserted=0, updated=0)
    started = time.perf_counter()
    for path in files:
        r = _ingest_duckdb(con, path, hotels)
        for k in totals:
            totals[k] += r[k]
    out = {"seconds": time.perf_counter() - started, "peak_rss_mb": peak_rss_mb(),
           "load": os.getloadavg()[0], **totals}
    if reingest is not None:
        t0 = time.perf_counter()
        out["reingest"] = {**_ingest_duckdb(con, reingest, hotels), "seconds": time.perf_counter() - t0}
    out["table_rows"], out["distinct_keys"] = con.execute(
        "SELECT count(*), count(DISTINCT booking_id) FROM pms_bookings").fetchall()[0]
    out["quarantine_rows"] = con.execute("SELECT count(*) FROM quarantine").fetchall()[0][0]
    con.close()
    emit(out)


# --------------------------------------------------------------------------- parent


def measure(bookings: int, args: argparse.Namespace) -> dict:
    chain = ensure_chain(bookings, args.seed, args.cache_dir)
    export = ensure_export(chain)
    corrected = ensure_corrected(chain, export, args.changed) if args.changed else None
    files = [str(export)]
    rows = {"bookings": bookings, "files": len(files)}
    work = Path(tempfile.mkdtemp(prefix="innsight-bench-ingest-"))
    try:
        log(f"floor: polars read + one Delta append of {export}")
        rows["floor"] = run_child(["--side", "floor", "--db", str(work / "floor"), "--files", *files])
        shutil.rmtree(work / "floor", ignore_errors=True)
        home = work / "innsight-home"
        home.mkdir()
        log(f"innsight: {bookings:,} bookings, {len(files)} files, INNSIGHT_HOME={home}")
        side_args = ["--side", "innsight", *(["--profile"] if args.profile else []),
                     *(["--reingest", str(corrected)] if corrected else []), "--files", *files]
        rows["innsight"] = run_child(side_args, {"INNSIGHT_HOME": str(home)})
        shutil.rmtree(home, ignore_errors=True)
        log("duckdb: the same checks and upsert in DuckDB SQL")
        rows["duckdb"] = run_child(["--side", "duckdb", "--db", str(work / "peer.duckdb"), "--files", *files])
        (work / "peer.duckdb").unlink(missing_ok=True)
        if bookings <= args.baseline_max_bookings:
            db = work / "baseline.sqlite"
            log(f"baseline: pandas + SQLite into {db}")
            rows["baseline"] = run_child(["--side", "baseline", "--db", str(db), "--files", *files])
        else:
            log(f"baseline: skipped for {bookings:,} bookings "
                f"(--baseline-max-bookings {args.baseline_max_bookings:,})")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.drop_cache_after:
        shutil.rmtree(chain, ignore_errors=True)
    return rows


def report(results: list[dict]) -> bool:
    """The figures as ratios against the floor measured in the same run; the targets checked."""
    print()
    print("Bronze ingest of one export file: the floor (polars read + one Delta append), "
          "Innsight's full ingest, a DuckDB peer, pandas + SQLite")
    head = (f"{'bookings':>11} | {'floor s':>7} {'(read':>6} {'+ append)':>9} | {'innsight s':>10} "
            f"{'x floor':>7} {'peak MB':>7} | {'duckdb s':>8} {'x inns.':>7} | {'pandas s':>8} {'x inns.':>7}")
    print(head)
    print("-" * len(head))
    ok = True
    for r in results:
        fl, inn, duck, base = r["floor"], r["innsight"], r["duckdb"], r.get("baseline")
        line = (f"{r['bookings']:>11,} | {fl['seconds']:>7.1f} {fl['read_seconds']:>6.1f} "
                f"{fl['append_seconds']:>9.1f} | {inn['seconds']:>10.1f} "
                f"{inn['seconds'] / fl['seconds']:>6.2f}x {inn['peak_rss_mb']:>7,.0f} | "
                f"{duck['seconds']:>8.1f} {duck['seconds'] / inn['seconds']:>6.2f}x | ")
        line += (f"{base['seconds']:>8.1f} {base['seconds'] / inn['seconds']:>6.1f}x" if base
                 else f"{'skipped':>8} {'':>7}")
        print(line)
    print()
    for r in results:
        fl, inn, duck, base = r["floor"], r["innsight"], r["duckdb"], r.get("baseline")
        print(f"{r['bookings']:,} bookings: innsight read {inn['read']:,}, loaded {inn['loaded']:,}, "
              f"quarantined {inn['quarantined']:,}, collapsed {inn['collapsed']:,}; bronze rows "
              f"{inn['table_rows']:,}; floor peak {fl['peak_rss_mb']:,.0f} MB, duckdb peak "
              f"{duck['peak_rss_mb']:,.0f} MB")
        peers = {"duckdb": duck, **({"pandas + SQLite": base} if base else {})}
        for name, peer in peers.items():
            same = all(inn[k] == peer[k] for k in ("read", "loaded", "quarantined", "collapsed")) \
                and inn["table_rows"] == peer["table_rows"] == peer["distinct_keys"]
            print(f"  {name}: read {peer['read']:,}, loaded {peer['loaded']:,}, quarantined "
                  f"{peer['quarantined']:,}: {'same rows' if same else 'MISMATCH'}")
            ok &= same
        ratio = inn["seconds"] / fl["seconds"]
        targets = {"full ingest <= 1.5x the floor": ratio <= 1.5,
                   "faster than the DuckDB peer": inn["seconds"] < duck["seconds"]}
        re = inn.get("reingest")
        if r["bookings"] >= 10_000_000:  # the first load's, and the re-ingest's after it
            targets["peak memory <= 2 GB"] = max(inn["peak_rss_mb"], (re or inn)["peak_rss_mb"]) <= 2048
        print("  targets: " + "; ".join(f"{k}: {'met' if v else 'NOT met'}" for k, v in targets.items()))
        if re:
            print(f"  re-ingest of the corrected export ({re['updated']:,} rows changed, "
                  f"{re['inserted']:,} new of {re['read']:,}): {re['seconds']:.1f} s = "
                  f"{re['seconds'] / inn['seconds']:.2f}x the first load; "
                  f"{re['files_rewritten']} of {re['files']} bronze files rewritten; "
                  f"peak {re['peak_rss_mb']:,.0f} MB")
        print(f"  1-minute load average after each side: floor {fl['load']:.1f}, innsight "
              f"{inn['load']:.1f}, duckdb {duck['load']:.1f} ({os.cpu_count()} cores)")
    return ok


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bookings", type=int, nargs="+", default=[1_000_000, 10_000_000],
                        help="sizes of the synthetic chain (default: 1000000 10000000)")
    parser.add_argument("--quick", action="store_true", help="one small run: 200,000 bookings")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--baseline-max-bookings", type=int, default=10_000_000,
                        help="skip the pandas + SQLite baseline above this size")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE,
                        help="where generated chains are kept for the next run")
    parser.add_argument("--drop-cache-after", action="store_true",
                        help="delete each generated chain after measuring it")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the Innsight side (printed to stderr)")
    parser.add_argument("--changed", type=float, default=0.01,
                        help="share of rows changed in the corrected export re-ingested after "
                             "the first load (0: no re-ingest)")
    parser.add_argument("--memory-test", action="store_true",
                        help="also run tests/lake/test_ingest_memory.py on the largest size's file")
    parser.add_argument("--reingest", type=Path, help=argparse.SUPPRESS)
    # Internal: the child processes.
    parser.add_argument("--side", choices=["generate", "floor", "innsight", "duckdb", "baseline"],
                        help=argparse.SUPPRESS)
    parser.add_argument("--files", nargs="*", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.side == "generate":
        return side_generate(args.out, args.n, args.seed)
    if args.side == "floor":
        return side_floor(args.files, args.db)
    if args.side == "innsight":
        return side_innsight(args.files, args.profile, args.reingest)
    if args.side == "duckdb":
        return side_duckdb(args.files, args.db, None)
    if args.side == "baseline":
        return side_baseline(args.files, args.db)

    sizes = [200_000] if args.quick else args.bookings
    results = [measure(n, args) for n in sizes]
    ok = report(results)
    if args.memory_test:
        chain = ensure_chain(max(sizes), args.seed, args.cache_dir)
        export = ensure_export(chain)
        corrected = ensure_corrected(chain, export, args.changed or 0.01)
        log(f"memory test: tests/lake/test_ingest_memory.py on {export}, then {corrected}")
        test = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider",
                               "tests/lake/test_ingest_memory.py"], cwd=REPO_ROOT,
                              env={**PROCESS_ENV, **os.environ, "INNSIGHT_MEMORY_TEST_FILE": str(export),
                                   "INNSIGHT_MEMORY_TEST_CORRECTED": str(corrected)})
        ok &= test.returncode == 0
    if not ok:
        raise SystemExit("the sides did not load the same rows, or a target check failed")


if __name__ == "__main__":
    sys.path.insert(0, str(REPO_ROOT))
    main()
