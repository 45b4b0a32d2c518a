"""Ingest on real rows of the extract: contracts, quarantine, idempotency, upserts, crashes."""

import os
import signal
import subprocess
import sys
import textwrap
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import pytest

from base.settings import REPO_ROOT
from lake import readers
from lake.delta_tables import Lake
from lake.ingest import LandingZone
from lake.readers import LandingFileError
from lake.tables import INGEST_LOG, QUARANTINE
from tests.conftest import drop, extract_lines


def bronze(lake: Lake, name: str) -> pl.DataFrame:
    return lake.read(f"bronze/{name}")


def quarantine(lake: Lake) -> pl.DataFrame:
    return lake.read(QUARANTINE.name)


def mutate(line: str, **changes: str) -> str:
    header = extract_lines(0)[0].split(",")
    fields = line.split(",")
    for column, value in changes.items():
        fields[header.index(column)] = value
    return ",".join(fields)


def test_real_rows_land_typed_with_lineage_and_derived_columns(home, zone, lake):
    lines = extract_lines(200)
    result = zone.ingest(drop(home, "pms", "export.csv", "\n".join(lines) + "\n"))
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (200, 200, 0)
    b = bronze(lake, "pms_bookings")
    assert b.height == 200 and b["booking_id"].n_unique() == 200
    first = b.filter(pl.col("_source_file") == "landing/pms/export.csv").sort("booking_id")
    assert first["_batch_id"].str.starts_with("pms_bookings-").all()
    # booking date = arrival − lead time; nights = weekend + week nights
    row = b.row(0, named=True)
    assert (row["arrival_date"] - row["booking_date"]).days == row["lead_time"]
    assert row["nights"] == row["stays_in_weekend_nights"] + row["stays_in_week_nights"]
    assert row["room_revenue"] == pytest.approx(row["adr"] * row["nights"])


def test_broken_rows_go_to_quarantine_with_reason_and_raw_line(home, zone, lake):
    lines = extract_lines(20)
    broken = {
        "invalid arrival date 2015-February-30": mutate(lines[1], arrival_date_month="February",
                                                        arrival_date_day_of_month="30"),
        "negative nights (-1)": mutate(lines[2], stays_in_weekend_nights="-1"),
        "unknown hotel 'Grand Budapest'": mutate(lines[3], hotel="Grand Budapest"),
        "unparseable lead_time 'soon'": mutate(lines[4], lead_time="soon"),
        "expected 32 fields, found 31": lines[5].rsplit(",", 1)[0],
        # the Resort Hotel's dearest base rate is 147 EUR: an extra digit, not a price
        "adr 14700.5 is over 50 times the hotel's highest base rate": mutate(lines[6], adr="14700.5"),
    }
    text = "\n".join([lines[0], *broken.values(), *lines[7:]]) + "\n"
    result = zone.ingest(drop(home, "pms", "broken.csv", text))
    assert (result.rows_loaded, result.rows_quarantined) == (14, 6)
    q = quarantine(lake).sort("line_number")
    assert q["line_number"].to_list() == [2, 3, 4, 5, 6, 7]
    for (reason, raw), row in zip(broken.items(), q.iter_rows(named=True)):
        assert reason in row["reason"]
        assert row["raw"] == raw and row["source_file"] == "landing/pms/broken.csv"
    assert bronze(lake, "pms_bookings").height == 14


def test_same_file_again_changes_nothing(home, zone, lake):
    path = drop(home, "pms", "export.csv", "\n".join(extract_lines(50)) + "\n")
    zone.ingest(path)
    versions = {n: lake.version(n) for n in ("bronze/pms_bookings", QUARANTINE.name, INGEST_LOG.name)}
    again = zone.ingest(path)
    assert again.skipped
    assert {n: lake.version(n) for n in versions} == versions
    copy = drop(home, "pms", "export_copy.csv", path.read_text())  # same content, new name
    assert zone.ingest(copy).skipped


def test_a_later_export_with_a_new_status_upserts_the_booking(home, zone, lake):
    lines = extract_lines(50)
    zone.ingest(drop(home, "pms", "day1.csv", "\n".join(lines) + "\n"))
    changed = mutate(lines[3], is_canceled="1", reservation_status="Canceled",
                     reservation_status_date="2015-06-20")
    day2 = "\n".join([lines[0], *lines[1:3], changed, *lines[4:]]) + "\n"
    result = zone.ingest(drop(home, "pms", "day2.csv", day2))
    assert (result.rows_inserted, result.rows_updated) == (0, 1)
    b = bronze(lake, "pms_bookings")
    assert b.height == 50
    assert b.filter(pl.col("_source_file") == "landing/pms/day2.csv")["reservation_status"].to_list() == ["Canceled"]


def test_duplicate_key_with_different_content_is_quarantined_identical_repeat_collapses(home, zone, lake):
    lines = extract_lines(3)
    header = lines[0] + ",booking_id"
    rows = [lines[1] + ",B1", lines[1] + ",B1", mutate(lines[2], adr="99") + ",B1", lines[3] + ",B2"]
    result = zone.ingest(drop(home, "pms", "ids.csv", "\n".join([header, *rows]) + "\n"))
    assert (result.rows_loaded, result.duplicates_collapsed, result.rows_quarantined) == (2, 1, 1)
    assert "duplicate booking_id 'B1' with different content (first at line 2)" in quarantine(lake)["reason"][0]


def test_keys_repeated_across_batches_collapse_or_are_quarantined_as_within_one(
        home, zone, lake, monkeypatch):
    # blocks of ~2 KB: every repeat below is in a later batch than its first occurrence
    monkeypatch.setattr("lake.ingest.csv_batches",
                        lambda path: readers.csv_batches(path, block_bytes=2000))
    lines = extract_lines(300)
    header, rows = lines[0] + ",booking_id", [f"{line},K{i}" for i, line in enumerate(lines[1:])]
    identical = [rows[i] for i in range(0, 300, 7)]
    changed = [mutate(lines[i + 1], adr=str(1000 + i)) + f",K{i}" for i in range(3, 300, 11)]
    text = "\n".join([header, *rows, *identical, *changed, *identical[:5]]) + "\n"
    result = zone.ingest(drop(home, "pms", "repeats.csv", text))
    assert (result.rows_loaded, result.duplicates_collapsed, result.rows_quarantined) == (
        300, len(identical) + 5, len(changed))
    reasons = quarantine(lake).sort("line_number")["reason"].to_list()
    assert reasons[0] == "duplicate booking_id 'K3' with different content (first at line 5)"
    assert bronze(lake, "pms_bookings").filter(pl.col("booking_id") == "K3")["adr"].item() != 1003


def test_a_crash_after_quarantine_before_the_bronze_merge_leaves_the_file_unmarked_and_a_rerun_converges(
        home, zone, lake, monkeypatch):
    lines = extract_lines(30)
    text = "\n".join([lines[0], mutate(lines[1], hotel="Nowhere"), *lines[2:]]) + "\n"
    path = drop(home, "pms", "crash.csv", text)
    real_merge = Lake.merge

    def crash_on_bronze(self, name, df, keys, insert_only=False):
        if name == "bronze/pms_bookings":
            raise OSError("disk full")
        return real_merge(self, name, df, keys, insert_only)

    monkeypatch.setattr(Lake, "merge", crash_on_bronze)
    with pytest.raises(OSError, match="disk full"):
        zone.ingest(path)
    assert quarantine(lake).height == 1  # the quarantine commit happened before the crash
    assert bronze(lake, "pms_bookings").height == 0
    assert lake.read(INGEST_LOG.name).height == 0  # the file is not marked done
    monkeypatch.setattr(Lake, "merge", real_merge)
    result = zone.ingest(path)
    assert not result.skipped and result.rows_loaded == 29
    assert bronze(lake, "pms_bookings").height == 29
    assert quarantine(lake).height == 1  # written by both attempts, stored once


# The child ingests with the real code, but dies by SIGKILL the moment the ingest log is
# about to be written: the bronze merge has committed, the file is not marked done.
KILLED_AFTER_BRONZE = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from base.settings import Settings
    from lake.ingest import LandingZone

    def die(self, result, started, status, error=None):
        if status == "loaded":
            os.kill(os.getpid(), signal.SIGKILL)

    LandingZone._log = die
    zone = LandingZone.from_settings(Settings(home=Path(sys.argv[1])))
    zone.ingest(Path(sys.argv[2]))
    print("survived")  # never reached
""")


def test_a_kill_between_the_bronze_commit_and_the_ingest_log_reruns_to_the_same_rows(home, zone, lake):
    lines = extract_lines(30)
    changed = mutate(lines[2], adr="123.45")  # a row the rerun must not duplicate or rewrite
    text = "\n".join([lines[0], mutate(lines[1], hotel="Nowhere"), changed, *lines[3:]]) + "\n"
    path = drop(home, "pms", "killed.csv", text)

    child = subprocess.run([sys.executable, "-c", KILLED_AFTER_BRONZE, str(home), str(path)],
                           cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    assert "survived" not in child.stdout
    # The window: bronze (and quarantine) committed by the dead process, no ingest log row.
    killed = bronze(lake, "pms_bookings")
    assert killed.height == 29 and killed["booking_id"].n_unique() == 29
    assert quarantine(lake).height == 1
    assert lake.read(INGEST_LOG.name).is_empty()
    versions = {n: lake.version(n) for n in ("bronze/pms_bookings", QUARANTINE.name)}

    result = zone.ingest(path)  # the scheduler runs the file again: it is not marked done
    assert not result.skipped
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (30, 29, 1)
    assert (result.rows_inserted, result.rows_updated) == (0, 0)  # all there already, unchanged
    after = bronze(lake, "pms_bookings")
    assert after.height == 29 and after["booking_id"].n_unique() == 29
    assert after.sort("booking_id").equals(killed.sort("booking_id"))  # the child's rows, untouched
    assert after.filter(pl.col("adr") == 123.45).height == 1
    assert quarantine(lake).height == 1
    assert {n: lake.version(n) for n in versions} == versions  # nothing new committed
    log = lake.read(INGEST_LOG.name)
    assert log.select("source_file", "status", "rows_loaded").rows() == [
        ("landing/pms/killed.csv", "loaded", 29)]
    assert zone.ingest(path).skipped  # and now it is done
    assert lake.read(INGEST_LOG.name).height == 1


def test_an_unreadable_file_fails_naming_it_and_is_logged(home, zone, lake):
    path = drop(home, "pms", "garbage.csv", b"\x00\x01\x02binary\x00" * 100)
    with pytest.raises(LandingFileError, match="garbage.csv"):
        zone.ingest(path)
    log = lake.read(INGEST_LOG.name)
    assert log["status"].to_list() == ["failed"] and "binary" in log["error"][0]


def test_a_file_that_breaks_after_rows_were_written_fails_as_itself_and_lands_nothing(
        home, zone, lake, monkeypatch):
    # the good rows are written beside bronze as they are checked: a later block that
    # cannot be read must still leave bronze, quarantine and the table's folder as they were
    path = drop(home, "pms", "cut.csv", "\n".join(extract_lines(40)) + "\n")
    real = LandingZone._batches

    def cut_short(self, file, source):
        layout, batches = real(self, file, source)

        def then_fail():
            yield from batches
            raise LandingFileError(file, "not a readable text file (truncated)")
        return layout, then_fail()

    monkeypatch.setattr(LandingZone, "_batches", cut_short)
    with pytest.raises(LandingFileError, match="truncated"):
        zone.ingest(path)
    assert bronze(lake, "pms_bookings").height == 0 and quarantine(lake).height == 0
    log = lake.read(INGEST_LOG.name)
    assert log["status"].to_list() == ["failed"] and "truncated" in log["error"][0]
    table = Path(lake.uri("bronze/pms_bookings"))
    assert [p.name for p in table.iterdir()] == ["_delta_log"]  # nothing staged is left


def test_an_unknown_layout_names_the_missing_columns(home, zone, lake):
    path = drop(home, "pms", "other_pms.csv", "ResNo,Guest,Arrive\n1,2,3\n")
    with pytest.raises(LandingFileError, match="unrecognised PMS layout.*add a mapping YAML"):
        zone.ingest(path)


def test_guest_contact_details_never_land_in_clear(home, zone, lake):
    text = ("guest_id,first_name,last_name,email,phone,country,birth_year,segment,loyalty_tier,created_at\n"
            "G1,Ana,Silva,ana.silva@example.pt,+351 912 345 678,PRT,1980,leisure,gold,2016-01-02\n"
            "G2,Bao,Nguyen,not-an-email,+84 90 000 0000,VNM,1990,business,none,2016-03-04\n")
    result = zone.ingest(drop(home, "pms", "guests_day1.csv", text))
    assert (result.rows_loaded, result.rows_quarantined) == (1, 1)
    stored = bronze(lake, "pms_guests").write_csv() + quarantine(lake).write_csv()
    for secret in ("Ana", "Silva", "ana.silva", "912 345", "Nguyen", "not-an-email"):
        assert secret not in stored
    g = bronze(lake, "pms_guests").row(0, named=True)
    assert g["email_domain"] == "example.pt" and len(g["email_token"]) == 32
    assert "malformed email" in quarantine(lake)["reason"][0]


def test_a_birth_year_after_the_year_of_the_check_is_quarantined(home, zone, lake):
    this_year = datetime.now(timezone.utc).year
    text = ("guest_id,first_name,last_name,email,phone,country,birth_year,segment,loyalty_tier,created_at\n"
            f"G1,Ana,Silva,ana@example.pt,,PRT,{this_year},leisure,gold,2016-01-02\n"
            f"G2,Bao,Nguyen,bao@example.vn,,VNM,{this_year + 1},business,none,2016-03-04\n")
    result = zone.ingest(drop(home, "pms", "guests_years.csv", text))
    assert (result.rows_loaded, result.rows_quarantined) == (1, 1)
    assert bronze(lake, "pms_guests")["guest_id"].to_list() == ["G1"]
    assert quarantine(lake)["reason"].to_list() == [
        f"birth_year {this_year + 1} is after this year ({this_year})"]


def test_events_are_insert_only_and_json_breakage_is_quarantined(home, zone, lake):
    text = ('{"event_id": "e1", "employee_id": "EMP0001", "timestamp": "2017-03-01T06:58:12Z", '
            '"action": "check_in", "camera_id": "cam_staff_01", "confidence": 0.97, "source": "face"}\n'
            '{"event_id": "e2", "employee_id": "EMP0001", "timestamp": "2017-03-01T15:01:00Z", '
            '"action": "check_out", "confidence": 1.7}\n'
            '{"event_id": "e3", "employee_id": "EMP0002", "timestamp": "yesterday", "action": "check_in"}\n'
            '{broken\n')
    result = zone.ingest(drop(home, "attendance", "events_0301.jsonl", text))
    assert (result.rows_loaded, result.rows_quarantined) == (1, 3)
    reasons = " | ".join(quarantine(lake).sort("line_number")["reason"].to_list())
    assert "confidence 1.7 is above 1" in reasons
    assert "unparseable timestamp 'yesterday'" in reasons and "invalid JSON" in reasons
    e = bronze(lake, "attendance_events").row(0, named=True)
    assert e["event_at"].isoformat() == "2017-03-01T06:58:12+00:00"
