"""The synthetic chain generator: determinism, layout, calibration, integrity, scale, and
the chain as it stands on its end day (nothing booked, settled, posted or stamped later)."""

from __future__ import annotations

import gzip
import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest
import yaml

from lake.synthetic import generate_chain, writer
from lake.synthetic.calibration import BUNDLED_EXTRACT
from lake.synthetic.property_master import BUNDLED_PROPERTIES, load_properties, template_for

REAL_EXTRACT = BUNDLED_EXTRACT
STAMP = "%Y-%m-%dT%H:%M:%SZ"
N_BOOKINGS = 20_000
END = date(2024, 9, 30)  # the test chain's end day (any day would do)
HISTORY_DAYS, AHEAD_DAYS = 730, 120  # generate_chain's defaults
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]


def arrival_date() -> pl.Expr:
    return pl.date(
        pl.col("arrival_date_year").cast(pl.Int32),
        pl.col("arrival_date_month").replace_strict(MONTHS, list(range(1, 13))),
        pl.col("arrival_date_day_of_month").cast(pl.Int32),
    )


def holds(frame: pl.DataFrame, condition: pl.Expr) -> bool:
    """The condition is true on every row."""
    return bool(frame.select(condition.all()).item())


def read_csv(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema_length=0)  # strings, as written


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def parse_ts(value: str) -> datetime:
    assert value.endswith("Z"), value
    return datetime.strptime(value, STAMP)


def midnight(day: date) -> datetime:
    """The day's 00:00 UTC (naive, as parse_ts gives)."""
    return datetime(day.year, day.month, day.day)


def with_dates(frame: pl.DataFrame) -> pl.DataFrame:
    """Bookings with their arrival, booking, departure and status dates."""
    return frame.with_columns(arrival=arrival_date()).with_columns(
        booked=pl.col("arrival") - pl.duration(days=pl.col("lead_time").cast(pl.Int64)),
        departure=pl.col("arrival") + pl.duration(
            days=pl.col("stays_in_weekend_nights").cast(pl.Int64) + pl.col("stays_in_week_nights").cast(pl.Int64)),
        status_date=pl.col("reservation_status_date").str.to_date("%Y-%m-%d"),
    )


@pytest.fixture(scope="module")
def master() -> dict[str, dict]:
    raw = yaml.safe_load(BUNDLED_PROPERTIES.read_text())
    return {p["name"]: p for p in raw["properties"]}


@pytest.fixture(scope="module")
def real() -> pl.DataFrame:
    return read_csv(REAL_EXTRACT)


@pytest.fixture(scope="module")
def chain(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("chain")
    return out, generate_chain(out, bookings=N_BOOKINGS, seed=11, end=END)


@pytest.fixture(scope="module")
def bookings(chain) -> pl.DataFrame:
    out, _ = chain
    return read_csv(out / "pms" / "bookings_chain.csv").with_columns(
        pl.col(
            "is_canceled", "lead_time", "stays_in_weekend_nights", "stays_in_week_nights",
            "is_repeated_guest", "previous_cancellations", "previous_bookings_not_canceled",
            "total_of_special_requests",
        ).cast(pl.Int64),
        pl.col("adr").cast(pl.Float64),
    )


@pytest.fixture(scope="module")
def settled(bookings) -> pl.DataFrame:
    """The bookings whose outcome is known on the end day."""
    return bookings.filter(pl.col("reservation_status").is_not_null())


def all_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- determinism -------------------------------------------------------------------------


def test_same_seed_and_end_give_identical_bytes_other_seed_or_end_differ(tmp_path):
    a = generate_chain(tmp_path / "a", bookings=3_000, seed=5, end=END)
    b = generate_chain(tmp_path / "b", bookings=3_000, seed=5, end=END)
    generate_chain(tmp_path / "c", bookings=3_000, seed=6, end=END)
    later = END + timedelta(days=45)
    generate_chain(tmp_path / "d", bookings=3_000, seed=5, end=later)
    assert a == b
    files_a, files_b, files_c, files_d = (all_bytes(tmp_path / x) for x in "abcd")
    assert files_a == files_b
    assert set(files_a) == set(files_c) == set(files_d)
    for name in ("pms/bookings_chain.csv", "pms/guests_chain.csv", "pms/folio_chain.csv",
                 "attendance/events_chain.jsonl", "camera/inspections_chain.jsonl"):
        assert files_a[name] != files_c[name], name
        assert files_a[name] != files_d[name], name
    # the inventory is reference data, not random
    assert files_a["pms/rooms_chain.csv"] == files_c["pms/rooms_chain.csv"] == files_d["pms/rooms_chain.csv"]
    # another end day moves the whole calendar with it
    for x, end in (("a", END), ("d", later)):
        d = with_dates(read_csv(tmp_path / x / "pms" / "bookings_chain.csv"))
        assert d["booked"].max() <= end < d["arrival"].max() <= end + timedelta(days=AHEAD_DAYS)
        assert d["arrival"].min() >= end - timedelta(days=HISTORY_DAYS - 1)
        shifts = read_csv(tmp_path / x / "attendance" / "shifts_chain.csv")
        assert shifts["shift_date"].max() == (end - timedelta(days=1)).isoformat()


def test_returns_rows_written_per_kind(chain):
    out, written = chain
    files = {
        "rooms": "pms/rooms_chain.csv", "guests": "pms/guests_chain.csv",
        "bookings": "pms/bookings_chain.csv", "folio": "pms/folio_chain.csv",
        "employees": "attendance/employees_chain.csv", "shifts": "attendance/shifts_chain.csv",
        "events": "attendance/events_chain.jsonl", "inspections": "camera/inspections_chain.jsonl",
        "anomalies": "camera/anomalies_chain.jsonl",
    }
    assert set(written) == set(files)
    assert written["bookings"] == N_BOOKINGS
    for kind, name in files.items():
        lines = (out / name).read_text().splitlines()
        header = 1 if name.endswith(".csv") else 0
        assert len(lines) - header == written[kind] > 0, kind


# --- layout ------------------------------------------------------------------------------


def test_bookings_use_the_reference_layout(chain):
    out, _ = chain
    with gzip.open(REAL_EXTRACT, "rt") as f:
        real_header = f.readline().strip().split(",")
    header = (out / "pms" / "bookings_chain.csv").read_text().split("\n", 1)[0].split(",")
    assert len(real_header) == 32
    assert header[:32] == real_header
    assert header[32:] == ["booking_id", "guest_id", "room_number"]


def test_booking_values_follow_the_extract_conventions(bookings, real, master):
    assert set(bookings["arrival_date_month"].unique()) <= set(MONTHS)
    for col in ("meal", "market_segment", "distribution_channel", "deposit_type", "customer_type"):
        assert set(bookings[col].unique()) <= set(real[col].unique()), col
    assert set(bookings["reservation_status"].drop_nulls().unique()) == {"Check-Out", "Canceled", "No-Show"}
    assert set(bookings["hotel"].unique()) == {n for n, p in master.items() if not p["real"]}
    # blanks: NULL for agent/company/country, NA for children; never empty
    for col in ("agent", "company", "country", "children"):
        assert bookings[col].null_count() == 0 and (bookings[col] != "").all(), col
    assert (bookings["company"] == "NULL").any() and (bookings["agent"] == "NULL").any()
    kids = bookings.filter(pl.col("children") != "NA")["children"].cast(pl.Int64)
    assert kids.min() >= 0
    assert bookings["booking_id"].n_unique() == bookings.height
    assert bookings["booking_id"].str.contains(r"^B\d+$").all()
    assert (bookings["adr"] >= 0).all()
    nights = bookings["stays_in_weekend_nights"] + bookings["stays_in_week_nights"]
    assert (nights >= 1).all()

    d = with_dates(bookings).with_columns(
        nights=pl.col("stays_in_weekend_nights") + pl.col("stays_in_week_nights"),
    )
    assert d["arrival"].min() >= END - timedelta(days=HISTORY_DAYS - 1)
    assert d["arrival"].max() <= END + timedelta(days=AHEAD_DAYS)
    out = d.filter(pl.col("reservation_status") == "Check-Out")
    assert holds(out, pl.col("status_date") == pl.col("arrival") + pl.duration(days=pl.col("nights")))
    assert (out["is_canceled"] == 0).all()
    cancelled = d.filter(pl.col("reservation_status") == "Canceled")
    assert (cancelled["is_canceled"] == 1).all()
    assert (cancelled["status_date"] <= cancelled["arrival"]).all()
    assert holds(cancelled, pl.col("status_date") >= pl.col("arrival") - pl.duration(days=pl.col("lead_time")))
    with_lead = cancelled.filter(pl.col("lead_time") > 0)
    assert (with_lead["status_date"] < with_lead["arrival"]).all()
    # weekend nights are the Saturday and Sunday nights of the stay
    wk = d.filter((pl.col("nights") == 1))
    sat_or_sun = wk["arrival"].dt.weekday() >= 6
    assert (wk["stays_in_weekend_nights"] == sat_or_sun.cast(pl.Int64)).all()
    # assigned room type mostly the reserved one, but not always
    same = (bookings["reserved_room_type"] == bookings["assigned_room_type"]).mean()
    assert 0.7 < same < 1.0


# --- the chain as it stands on its end day -------------------------------------------------


def test_nothing_is_booked_or_settled_after_the_end_day(bookings):
    d = with_dates(bookings)
    assert d["booked"].max() <= END
    known = d.filter(pl.col("reservation_status").is_not_null())
    assert known["status_date"].null_count() == 0 and known["status_date"].max() <= END
    # an outcome not known yet: no status, no date, not cancelled, and still to come
    unsettled = d.filter(pl.col("reservation_status").is_null())
    assert unsettled.height > 0
    assert unsettled["reservation_status_date"].null_count() == unsettled.height
    assert (unsettled["is_canceled"] == 0).all()
    assert (unsettled["departure"] > END).all()
    assert (d.filter(pl.col("reservation_status") == "Check-Out")["departure"] <= END).all()
    # a stay in progress on the end day has no outcome yet
    in_house = d.filter((pl.col("arrival") < END) & (pl.col("departure") > END) & (pl.col("is_canceled") == 0))
    assert in_house.height > 0 and in_house["reservation_status"].null_count() == in_house.height


def test_bookings_on_the_books_for_the_months_ahead(bookings):
    d = with_dates(bookings)
    ahead = d.filter(pl.col("arrival") > END)
    assert ahead.height > 0.03 * d.height
    assert set(ahead["hotel"]) == set(d["hotel"])
    # cancelled already (dated by the end day), else not settled: never a check-out or no-show
    assert set(ahead["reservation_status"].drop_nulls()) == {"Canceled"}
    cancelled = ahead.filter(pl.col("is_canceled") == 1)
    assert cancelled.height > 0 and (cancelled["status_date"] <= END).all()
    assert (cancelled["reservation_status"] == "Canceled").all()
    # the further the arrival, the fewer bookings made by the end day
    near = ahead.filter(pl.col("arrival") <= END + timedelta(days=30)).height
    far = ahead.filter(pl.col("arrival") > END + timedelta(days=AHEAD_DAYS - 30)).height
    assert near > 1.5 * far > 0


def test_the_default_end_day_is_today(tmp_path):
    """Without an end day the chain is live: nothing booked or settled after today, nothing
    stamped after now, bookings on the books for the days ahead."""
    generate_chain(tmp_path, bookings=2_000, seed=2, properties=["Innsight Saigon Riverside"])
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    today = date.today()
    d = with_dates(read_csv(tmp_path / "pms" / "bookings_chain.csv"))
    assert d["booked"].max() <= today and d["status_date"].max() <= today
    assert d["arrival"].max() > today
    stamps = (
        read_csv(tmp_path / "pms" / "folio_chain.csv")["posted_at"].to_list()
        + read_csv(tmp_path / "attendance" / "shifts_chain.csv")["end_at"].to_list()
        + [e["timestamp"] for e in read_jsonl(tmp_path / "attendance" / "events_chain.jsonl")]
        + [i["inspected_at"] for i in read_jsonl(tmp_path / "camera" / "inspections_chain.jsonl")]
    )
    assert max(parse_ts(x) for x in stamps) <= now
    last_shift = date.fromisoformat(read_csv(tmp_path / "attendance" / "shifts_chain.csv")["shift_date"].max())
    assert last_shift >= today - timedelta(days=2)  # yesterday, in UTC or local time


def test_week_number_follows_the_extract(real):
    """The extract numbers weeks from Sunday, week 1 holding January 1st: check our rule on it."""
    from lake.synthetic.bookings import _week_number

    d = real.select(
        arrival_date().alias("arrival"),
        pl.col("arrival_date_week_number").cast(pl.Int32),
    )
    assert (d.select(_week_number(pl.col("arrival")))["arrival"] == d["arrival_date_week_number"]).all()


# --- calibration ---------------------------------------------------------------------------


def test_cancellation_and_lead_time_match_the_real_extract(bookings, settled, real):
    real_rate = real["is_canceled"].cast(pl.Int64).mean()
    real_lead = real["lead_time"].cast(pl.Int64).mean()
    assert abs(settled["is_canceled"].mean() - real_rate) < 0.04
    assert abs(bookings["lead_time"].mean() - real_lead) / real_lead < 0.12
    # no-shows are a small share of the cancellations
    cancelled = settled.filter(pl.col("is_canceled") == 1)
    no_show = (cancelled["reservation_status"] == "No-Show").mean()
    assert 0.0 < no_show < 0.1


def test_cancellation_is_learnable_from_lead_deposit_and_segment(settled):
    def rate(expr: pl.Expr) -> float:
        return settled.filter(expr)["is_canceled"].mean()

    assert rate(pl.col("deposit_type") == "Non Refund") > rate(pl.col("deposit_type") == "No Deposit") + 0.3
    assert rate(pl.col("lead_time") > 180) > rate(pl.col("lead_time") < 7) + 0.2
    assert rate(pl.col("market_segment") == "Groups") > rate(pl.col("market_segment") == "Direct") + 0.1
    assert rate(pl.col("total_of_special_requests") > 0) < rate(pl.col("total_of_special_requests") == 0)


def test_adr_follows_room_type_base_rates_and_season(bookings, master):
    paid = bookings.filter(pl.col("market_segment") != "Complementary")
    means = paid.group_by("hotel", "reserved_room_type").agg(pl.col("adr").mean())
    for hotel, part in means.group_by("hotel"):
        types = master[hotel[0]]["room_types"]
        by_base = sorted(part["reserved_room_type"].to_list(), key=lambda t: types[t]["base_rate"])
        by_adr = part.sort("adr")["reserved_room_type"].to_list()
        assert by_adr == by_base, hotel
        # around the property's base rate
        for t, adr in zip(part["reserved_room_type"], part["adr"]):
            assert 0.6 < adr / types[t]["base_rate"] < 1.6, (hotel, t)
    # summer dearer than winter at the beach property, like the real resort
    beach = paid.filter(pl.col("hotel").str.contains("Beach"))
    summer = beach.filter(pl.col("arrival_date_month").is_in(["July", "August"]))["adr"].mean()
    winter = beach.filter(pl.col("arrival_date_month").is_in(["January", "November"]))["adr"].mean()
    assert summer > 1.5 * winter


def test_repeat_guests_are_heavy_tailed_and_consistent(chain, bookings):
    per_guest = bookings.group_by("guest_id").len()
    repeat_share = (per_guest["len"] >= 2).mean()
    assert 0.05 < repeat_share < 0.5
    assert per_guest["len"].max() >= 8
    first = bookings.filter(pl.col("is_repeated_guest") == 0)
    assert (first["previous_cancellations"] + first["previous_bookings_not_canceled"] == 0).all()
    prev = bookings["previous_cancellations"] + bookings["previous_bookings_not_canceled"]
    assert (prev > 0).any()
    # no more previous bookings than the guest has in the file
    joined = bookings.with_columns(prev=prev).join(per_guest, on="guest_id")
    assert (joined["prev"] < joined["len"]).all()
    # loyalty tiers reflect the guest's value
    guests = read_csv(chain[0] / "pms" / "guests_chain.csv").join(per_guest, on="guest_id")
    tiers = dict(guests.group_by("loyalty_tier").agg(pl.col("len").mean()).iter_rows())
    assert tiers["none"] < tiers["silver"] < tiers["gold"] < tiers["platinum"]


# --- referential integrity -----------------------------------------------------------------


def test_bookings_reference_guests_and_rooms(chain, bookings, master):
    out, _ = chain
    guests = read_csv(out / "pms" / "guests_chain.csv")
    rooms = read_csv(out / "pms" / "rooms_chain.csv")
    assert guests["guest_id"].n_unique() == guests.height
    assert set(bookings["guest_id"].unique()) == set(guests["guest_id"])
    assert rooms.select(pl.struct("hotel", "room_number").n_unique()).item() == rooms.height
    # the real hotels' inventory is there too, per the property master
    for name, p in master.items():
        counts = rooms.filter(pl.col("hotel") == name).group_by("room_type").len()
        assert dict(zip(counts["room_type"], counts["len"])) == {t: v["rooms"] for t, v in p["room_types"].items()}, name
    matched = bookings.join(rooms, on=["hotel", "room_number"], how="left")
    assert matched["room_type"].null_count() == 0
    assert (matched["room_type"] == matched["assigned_room_type"]).all()
    assert (matched["room_number"].cast(pl.Int64) // 100 == matched["floor"].cast(pl.Int64)).all()

    assert set(guests["segment"].unique()) <= {"business", "leisure", "corporate", "group"}
    assert set(guests["loyalty_tier"].unique()) <= {"none", "silver", "gold", "platinum"}
    assert guests["email"].str.contains(r"^[a-z0-9.\-]+@[a-z0-9.\-]+$").all()
    assert guests["phone"].str.contains(r"^\+\d{8,}$").all()
    # a guest's profile is created with their first booking
    first_booked = bookings.group_by("guest_id").agg(
        (arrival_date() - pl.duration(days=pl.col("lead_time"))).min().alias("first_booked")
    )
    created = guests.select("guest_id", pl.col("created_at").str.to_date("%Y-%m-%d")).join(first_booked, on="guest_id")
    assert (created["created_at"] == created["first_booked"]).all()


def test_folio_lines_belong_to_stays(chain, bookings):
    out, _ = chain
    folio = read_csv(out / "pms" / "folio_chain.csv").with_columns(
        pl.col("quantity").cast(pl.Int64), pl.col("unit_price", "amount").cast(pl.Float64)
    )
    assert folio["folio_line_id"].n_unique() == folio.height
    assert set(folio["category"].unique()) == {"room", "fnb", "spa", "minibar"}
    assert (folio["amount"] >= 0).all() and (folio["quantity"] >= 1).all()
    assert ((folio["amount"] - folio["quantity"] * folio["unit_price"]).abs() <= 0.011).all()
    joined = folio.join(bookings, on="booking_id", how="left", suffix="_b")
    assert joined["is_canceled"].null_count() == 0
    assert (joined["is_canceled"] == 0).all()
    assert (joined["hotel"] == joined["hotel_b"]).all() and (joined["guest_id"] == joined["guest_id_b"]).all()
    # one room line per night, at the booking's ADR
    rooms = joined.filter(pl.col("category") == "room")
    assert (rooms["amount"] == rooms["adr"]).all()
    # every night of a settled stay, the nights before the end day of a stay in progress
    lines = rooms.group_by("booking_id").len()
    expected = (
        with_dates(bookings)
        .filter((pl.col("reservation_status") == "Check-Out") | pl.col("reservation_status").is_null())
        .select("booking_id", (pl.min_horizontal("departure", pl.lit(END)) - pl.col("arrival")).dt.total_days().alias("n"))
        .filter(pl.col("n") > 0)
    )
    assert dict(zip(lines["booking_id"], lines["len"])) == dict(zip(expected["booking_id"], expected["n"]))
    assert expected.height > bookings.filter(pl.col("reservation_status") == "Check-Out").height  # in house too
    # nothing posted on or after the end day
    assert max(parse_ts(x) for x in folio["posted_at"]) < midnight(END)
    # posted during the stay
    posted = joined.select(
        pl.col("posted_at").str.to_datetime(STAMP).alias("at"),
        arrival_date().cast(pl.Datetime("us")).alias("arrival"),
        (pl.col("stays_in_weekend_nights") + pl.col("stays_in_week_nights")).alias("nights"),
    )
    assert (posted["at"] >= posted["arrival"]).all()
    assert holds(posted, pl.col("at") <= pl.col("arrival") + pl.duration(days=pl.col("nights"), hours=12))
    assert folio["posted_at"].str.contains(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$").all()
    # extras exist, and the spa is used more at the beach than in the city
    assert (folio["category"] != "room").mean() > 0.05
    spa = joined.group_by("hotel").agg((pl.col("category") == "spa").sum() / pl.col("booking_id").n_unique())
    spa = dict(zip(spa["hotel"], spa["category"]))
    assert spa["Innsight Da Nang Beach"] > spa["Innsight Saigon Riverside"]


def test_a_guests_extras_follow_their_segment_and_repeat_across_stays(chain):
    """Business guests favour the bar, leisure guests dinners; a guest's later stay orders
    much the same items as their earlier stays, clearly more than another guest's stays."""
    out, _ = chain
    folio = read_csv(out / "pms" / "folio_chain.csv").filter(pl.col("category").is_in(["fnb", "spa", "minibar"]))
    guests = read_csv(out / "pms" / "guests_chain.csv").select("guest_id", "segment")
    fnb = folio.filter(pl.col("category") == "fnb").join(guests, on="guest_id")
    bar = dict(fnb.group_by("segment").agg((pl.col("description") == "Bar").mean()).iter_rows())
    dinner = dict(fnb.group_by("segment").agg((pl.col("description") == "Restaurant dinner").mean()).iter_rows())
    assert bar["business"] > bar["leisure"] + 0.05
    assert dinner["leisure"] > dinner["business"] + 0.05

    stays = (
        folio.group_by("guest_id", "booking_id")
        .agg(pl.col("description").unique().alias("items"), pl.col("posted_at").min().alias("at"))
        .sort("guest_id", "at", "booking_id")
        .with_columns(k=pl.int_range(pl.len()).over("guest_id"), n=pl.len().over("guest_id"))
        .filter(pl.col("n") >= 2)
    )
    last = stays.filter(pl.col("k") == pl.col("n") - 1).select("guest_id", "items").sort("guest_id")
    before = (
        stays.filter(pl.col("k") < pl.col("n") - 1).explode("items")
        .group_by("guest_id").agg(pl.col("items").unique().alias("history")).sort("guest_id")
    )
    assert last["guest_id"].to_list() == before["guest_id"].to_list() and last.height > 500
    own = [set(x) for x in last["items"]]
    history = [set(x) for x in before["history"]]
    other = history[len(history) // 2:] + history[: len(history) // 2]  # someone else's stays

    def jaccard(a: list[set], b: list[set]) -> float:
        return sum(len(x & y) / len(x | y) for x, y in zip(a, b)) / len(a)

    assert jaccard(own, history) > jaccard(own, other) + 0.06


def test_attendance_references_employees_and_shifts(chain, master):
    out, _ = chain
    employees = read_csv(out / "attendance" / "employees_chain.csv")
    shifts = read_csv(out / "attendance" / "shifts_chain.csv")
    events = read_jsonl(out / "attendance" / "events_chain.jsonl")
    assert employees["employee_id"].n_unique() == employees.height
    assert set(employees["department"].unique()) <= {
        "front_office", "housekeeping", "fnb", "spa", "maintenance", "security", "management"}
    assert set(employees["hotel"]) <= set(master)
    assert shifts["shift_id"].n_unique() == shifts.height
    assert set(shifts["employee_id"]) <= set(employees["employee_id"])
    hotel_of = dict(zip(employees["employee_id"], employees["hotel"]))
    assert all(hotel_of[e] == h for e, h in zip(shifts["employee_id"], shifts["hotel"]))
    starts = [parse_ts(s) for s in shifts["start_at"]]
    ends = [parse_ts(s) for s in shifts["end_at"]]
    assert all(e > s for s, e in zip(starts, ends))
    assert {s.hour for s in starts} == {7, 15, 23}
    # the 60 days before the end day, every shift over (and checked out of) by its 00:00 UTC
    shift_days = {date.fromisoformat(d) for d in shifts["shift_date"]}
    assert max(shift_days) == END - timedelta(days=1) and min(shift_days) == END - timedelta(days=60)
    assert max(ends) < midnight(END)
    assert max(parse_ts(e["timestamp"]) for e in events) < midnight(END)
    hired = {e: date.fromisoformat(h) for e, h in zip(employees["employee_id"], employees["hired_on"])}
    assert all(hired[e] <= date.fromisoformat(d) for e, d in zip(shifts["employee_id"], shifts["shift_date"]))

    ids = {e["event_id"] for e in events}
    assert len(ids) == len(events)
    assert {e["employee_id"] for e in events} <= set(employees["employee_id"])
    assert {e["action"] for e in events} == {"check_in", "check_out"}
    assert {e["source"] for e in events} == {"face", "door"}
    assert all(0.8 <= e["confidence"] <= 0.99 for e in events)
    for e in events:
        parse_ts(e["timestamp"])
    # check-ins near the start of a shift: most on time, some late, a few absent
    start_of = {}
    for emp, s in zip(shifts["employee_id"], starts):
        start_of.setdefault(emp, []).append(s)
    delays = []
    for e in (x for x in events if x["action"] == "check_in"):
        at = parse_ts(e["timestamp"])
        delays.append(min((at - s for s in start_of[e["employee_id"]]), key=abs).total_seconds() / 60)
    assert all(-30 <= d <= 60 for d in delays)
    late = sum(d > 5 for d in delays) / len(delays)
    assert 0.02 < late < 0.25
    assert len(delays) < shifts.height  # some absences


def test_camera_files_are_valid_and_consistent(chain):
    out, _ = chain
    rooms = read_csv(out / "pms" / "rooms_chain.csv")
    employees = read_csv(out / "attendance" / "employees_chain.csv")
    inspections = read_jsonl(out / "camera" / "inspections_chain.jsonl")
    anomalies = read_jsonl(out / "camera" / "anomalies_chain.jsonl")
    room_keys = set(zip(rooms["hotel"], rooms["room_number"]))
    staff = {e: (h, d) for e, h, d in zip(employees["employee_id"], employees["hotel"], employees["department"])}
    assert len({i["inspection_id"] for i in inspections}) == len(inspections)
    dirt = {"bed_unmade", "towel_missing", "amenity_incomplete", "trash_present"}
    for i in inspections:
        assert (i["hotel"], i["room_number"]) in room_keys
        assert staff[i["inspector_id"]] == (i["hotel"], "housekeeping")
        assert i["status"] in {"clean", "dirty", "maintenance", "inspected"}
        assert parse_ts(i["inspected_at"]) < midnight(END)
        labels = {t["label"] for t in i["tags"]}
        assert all(0.0 <= t["confidence"] <= 1.0 for t in i["tags"])
        if i["status"] == "dirty":
            assert labels and labels <= dirt
        elif i["status"] in {"clean", "inspected"}:
            assert labels == {"clean_bed"}
        else:
            assert labels <= {"amenity_incomplete"}
    assert {i["status"] for i in inspections} == {"clean", "dirty", "maintenance", "inspected"}
    assert len({a["alert_id"] for a in anomalies}) == len(anomalies) > 0
    for a in anomalies:
        assert a["type"] in {"fire", "flood", "intrusion", "smoke"}
        assert a["severity"] in {"low", "medium", "high", "critical"}
        assert 0.0 <= a["confidence"] <= 1.0
        box = a["box"]
        assert box["x"] >= 0 and box["y"] >= 0 and box["w"] > 0 and box["h"] > 0
        assert box["x"] + box["w"] <= 1920 and box["y"] + box["h"] <= 1080
        assert parse_ts(a["detected_at"]) < midnight(END)
    assert len(anomalies) < len(inspections) / 100  # rare


# --- options, parts, scale -----------------------------------------------------------------


def test_property_selection_and_inventory_option(tmp_path, master):
    written = generate_chain(tmp_path, bookings=1_000, properties=["Innsight Hoi An Garden"],
                             include_real_inventory=False, end=date(2017, 5, 31), days=92, ahead_days=0)
    rooms = read_csv(tmp_path / "pms" / "rooms_chain.csv")
    assert set(rooms["hotel"]) == {"Innsight Hoi An Garden"}
    assert written["rooms"] == sum(v["rooms"] for v in master["Innsight Hoi An Garden"]["room_types"].values())
    b = read_csv(tmp_path / "pms" / "bookings_chain.csv")
    assert set(b["hotel"]) == {"Innsight Hoi An Garden"} and b.height == 1_000
    assert set(b["arrival_date_month"]) <= {"March", "April", "May"}
    with pytest.raises(ValueError, match="unknown"):
        generate_chain(tmp_path, bookings=10, properties=["No Such Hotel"])


def test_large_outputs_are_split_into_parts(tmp_path, monkeypatch):
    monkeypatch.setattr(writer, "PART_ROWS", 1_000)
    written = generate_chain(tmp_path, bookings=2_500, seed=3)
    pms = tmp_path / "pms"
    parts = sorted(p.name for p in pms.glob("bookings_chain*.csv"))
    assert parts == ["bookings_chain_0001.csv", "bookings_chain_0002.csv", "bookings_chain_0003.csv"]
    frames = [read_csv(pms / p) for p in parts]
    assert [f.height for f in frames] == [1_000, 1_000, 500]
    ids = pl.concat(frames)["booking_id"]
    assert ids.n_unique() == 2_500 == written["bookings"]
    for kind in ("folio", "guests"):
        files = sorted(pms.glob(f"{kind}_chain_*.csv"))
        assert len(files) >= 2 and not (pms / f"{kind}_chain.csv").exists()
        part_frames = [read_csv(p) for p in files]
        assert all(0 < f.height <= 1_000 for f in part_frames)
        assert sum(f.height for f in part_frames) == written[kind]
    folio = pl.concat([read_csv(p) for p in sorted(pms.glob("folio_chain_*.csv"))])
    assert folio["folio_line_id"].n_unique() == folio.height
    assert set(folio["booking_id"]) <= set(ids)
    assert not list(tmp_path.rglob(".*"))  # no temporary file left
    # a later, smaller run leaves no stale parts behind
    monkeypatch.setattr(writer, "PART_ROWS", 2_000_000)
    generate_chain(tmp_path, bookings=500, seed=3)
    for kind in ("bookings", "folio", "guests"):
        assert sorted(p.name for p in pms.glob(f"{kind}_chain*")) == [f"{kind}_chain.csv"]


def test_tiny_chain(tmp_path):
    written = generate_chain(tmp_path, bookings=1, days=1, end=END, properties=["Innsight Hanoi Old Quarter"])
    assert written["bookings"] == written["guests"] == 1
    assert read_csv(tmp_path / "pms" / "bookings_chain.csv").height == 1
    assert (tmp_path / "pms" / "folio_chain.csv").read_text().startswith("folio_line_id,")
    shifts = read_csv(tmp_path / "attendance" / "shifts_chain.csv")
    assert set(shifts["shift_date"]) == {(END - timedelta(days=1)).isoformat()}


# --- calibration templates -------------------------------------------------------------------


def test_templates_are_the_real_properties_of_the_master_and_kind_picks_one(tmp_path):
    master = load_properties(BUNDLED_PROPERTIES)
    real = [p for p in master if p.real]
    assert real and {p.kind for p in real} == {"resort", "city"}
    for p in master:
        t = template_for(p, real)
        assert t.real and t.kind == p.kind
    # a kind given in the master wins over the name: a beach property booked like a city hotel
    raw = yaml.safe_load(BUNDLED_PROPERTIES.read_text())
    beach = next(p for p in raw["properties"] if not p.get("real") and template_for(
        next(q for q in master if q.name == p["name"]), real).kind == "resort")
    beach["kind"] = "city"
    path = tmp_path / "properties.yaml"
    path.write_text(yaml.safe_dump(raw))
    generate_chain(tmp_path / "out", bookings=6_000, seed=4, end=END, properties=[beach["name"]],
                   properties_file=path)
    paid = read_csv(tmp_path / "out" / "pms" / "bookings_chain.csv").filter(
        pl.col("market_segment") != "Complementary").with_columns(pl.col("adr").cast(pl.Float64))
    summer = paid.filter(pl.col("arrival_date_month").is_in(["July", "August"]))["adr"].mean()
    winter = paid.filter(pl.col("arrival_date_month").is_in(["January", "November"]))["adr"].mean()
    assert summer < 1.5 * winter  # the resort's seasons are far wider (see the ADR test)
    # no real property to calibrate on: said plainly
    for p in raw["properties"]:
        p["real"] = False
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ValueError, match="real"):
        generate_chain(tmp_path / "none", bookings=10, end=END, properties_file=path)
