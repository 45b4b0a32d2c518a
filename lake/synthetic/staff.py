"""Employees, their shifts and the check-in / check-out events of the staff entrance camera.

Shifts cover the ``ACTIVITY_DAYS`` days before the chain's end day: morning 07-15, evening
15-23, night 23-07 (UTC). Each employee works one shift type, five days a week. Most arrive
a few minutes early; some are late by 5-60 minutes; a few are absent (no events). Only
shifts over by the end day's 00:00 UTC are written (the last night shift, still running
then, is not), so no event is later than that instant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from lake.synthetic import names
from lake.synthetic.property_master import Property
from lake.synthetic.randomness import pick

ACTIVITY_DAYS = 60
STAFF_PER_ROOM = 0.6
SHIFTS = (("morning", 7), ("evening", 15), ("night", 23))  # start hour UTC, 8 hours each
SHIFT_HOURS = 8
# department: (share of staff, roles with weights, shift type weights morning/evening/night)
DEPARTMENTS = {
    "front_office": (0.15, {"receptionist": 6, "concierge": 2, "night_auditor": 1, "front_office_manager": 1}, (0.45, 0.4, 0.15)),
    "housekeeping": (0.34, {"room_attendant": 8, "housekeeping_supervisor": 2, "laundry_attendant": 2}, (0.8, 0.2, 0.0)),
    "fnb": (0.24, {"waiter": 5, "cook": 3, "bartender": 2, "fnb_manager": 1}, (0.5, 0.5, 0.0)),
    "spa": (0.05, {"therapist": 4, "spa_receptionist": 1}, (0.5, 0.5, 0.0)),
    "maintenance": (0.08, {"technician": 4, "engineer": 1}, (0.6, 0.25, 0.15)),
    "security": (0.08, {"security_officer": 5, "security_supervisor": 1}, (0.35, 0.35, 0.3)),
    "management": (0.06, {"general_manager": 1, "revenue_manager": 1, "hr_manager": 1, "finance_manager": 1}, (1.0, 0.0, 0.0)),
}
ABSENT_RATE = 0.03
LATE_RATE = 0.09
DOOR_RATE = 0.12  # events read by the badge door instead of the face camera
MAX_OVERTIME = 45 * 60  # latest check-out after a shift's end (seconds)
EMPLOYEE_ID_WIDTH = 4
HOUR, DAY = 3600, 86_400


@dataclass(frozen=True, eq=False)
class Staff:
    employees: pl.DataFrame
    hotel: np.ndarray  # property index of each employee
    department: np.ndarray  # department name of each employee
    ids: list[str]


def activity_window(end: date, days: int) -> tuple[int, int]:
    """(first day, number of days) of the staff and camera activity, days since epoch: the
    days before ``end`` (at most ``days``)."""
    last = int(np.datetime64(end, "D").astype(np.int64))
    n = min(ACTIVITY_DAYS, days)
    return last - n, n


def employee_ids(n: int) -> list[str]:
    """``EMP0001`` ... for n employees."""
    width = max(EMPLOYEE_ID_WIDTH, len(str(n)))
    return [f"EMP{k:0{width}d}" for k in range(1, n + 1)]


def generate_staff(props: list[Property], rng: np.random.Generator, first_day: int) -> Staff:
    depts = list(DEPARTMENTS)
    share = np.array([DEPARTMENTS[d][0] for d in depts])
    hotel, dept = [], []
    for pi, p in enumerate(props):
        n = max(len(depts), int(round(p.total_rooms * STAFF_PER_ROOM)))
        per = np.maximum(1, np.floor(share * n)).astype(int)  # every department staffed
        per[depts.index("housekeeping")] += n - per.sum() if n > per.sum() else 0
        hotel.append(np.full(per.sum(), pi))
        dept.append(np.repeat(np.arange(len(depts)), per))
    hotel_a = np.concatenate(hotel)
    dept_a = np.concatenate(dept)
    E = len(hotel_a)
    role = np.empty(E, dtype=object)
    for d, dname in enumerate(depts):
        m = dept_a == d
        roles = list(DEPARTMENTS[dname][1])
        role[m] = np.array(roles, dtype=object)[pick(rng, np.array(list(DEPARTMENTS[dname][1].values()), float), int(m.sum()))]
    # Names follow the property's country.
    country_vocab = tuple(sorted({p.country for p in props}))
    region = names.region_of(np.array([country_vocab.index(props[h].country) for h in hotel_a]), country_vocab)
    first_all, f_start, f_size = names.flat_lists(names.FIRST)
    last_all, l_start, l_size = names.flat_lists(names.LAST)
    first = f_start[region] + (rng.random(E) * f_size[region]).astype(np.int64)
    last = l_start[region] + (rng.random(E) * l_size[region]).astype(np.int64)
    hired = first_day - 1 - (rng.random(E) ** 1.5 * 3000).astype(np.int64)
    ids = employee_ids(E)
    employees = pl.DataFrame(
        {
            "employee_id": ids,
            "hotel": [props[h].name for h in hotel_a],
            "full_name": [f"{first_all[a]} {last_all[b]}" for a, b in zip(first, last)],
            "department": [depts[d] for d in dept_a],
            "role": role.tolist(),
            "hired_on": pl.Series(hired.astype(np.int32)).cast(pl.Date).dt.strftime("%Y-%m-%d"),
        }
    )
    return Staff(employees=employees, hotel=hotel_a, department=np.array(depts)[dept_a], ids=ids)


def generate_shifts(
    staff: Staff, props: list[Property], rng: np.random.Generator, first_day: int, n_days: int, cut: int,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(shifts, attendance events) of the shifts over by ``cut`` (seconds since the epoch)."""
    E = len(staff.ids)
    shift_type = np.zeros(E, dtype=np.int64)
    for dname, (_, _, weights) in DEPARTMENTS.items():
        m = staff.department == dname
        shift_type[m] = pick(rng, np.array(weights), int(m.sum()))
    off1 = rng.integers(0, 7, E)  # two consecutive days off a week
    day = first_day + np.arange(n_days)
    emp = np.repeat(np.arange(E), n_days)
    d = np.tile(day, E)
    weekday = (d + 3) % 7
    works = (weekday != off1[emp]) & (weekday != (off1[emp] + 1) % 7)
    start_at = d * DAY + np.array([h for _, h in SHIFTS])[shift_type[emp]] * HOUR
    # a shift whose check-out may fall after the cut-off is left out
    works &= start_at + SHIFT_HOURS * HOUR + MAX_OVERTIME <= cut
    emp, d, start_at = emp[works], d[works], start_at[works]
    end_at = start_at + SHIFT_HOURS * HOUR
    order = np.lexsort((emp, start_at))
    emp, d, start_at, end_at = emp[order], d[order], start_at[order], end_at[order]
    S = len(emp)
    width = max(6, len(str(S)))
    ids = pl.Series(staff.ids)
    names_ = pl.Series([p.name for p in props])

    def stamp(col: str) -> pl.Expr:
        return pl.from_epoch(col, time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%SZ")

    shifts = pl.DataFrame(
        {
            "n": np.arange(1, S + 1),
            "employee_id": ids.gather(pl.Series(emp)),
            "hotel": names_.gather(pl.Series(staff.hotel[emp].astype(np.int64))),
            "shift_date": pl.Series(d.astype(np.int32)).cast(pl.Date).dt.strftime("%Y-%m-%d"),
            "start": start_at,
            "end": end_at,
        }
    ).select(
        (pl.lit("SH") + pl.col("n").cast(pl.String).str.zfill(width)).alias("shift_id"),
        "employee_id", "hotel", "shift_date",
        stamp("start").alias("start_at"), stamp("end").alias("end_at"),
    )

    present = rng.random(S) >= ABSENT_RATE
    late = rng.random(S) < LATE_RATE
    early = np.clip(rng.normal(6 * 60, 4 * 60, S), 0, 20 * 60)  # seconds before the start
    check_in = np.where(late, start_at + rng.integers(5 * 60, 60 * 60 + 1, S), start_at - early.astype(np.int64))
    check_out = end_at + np.clip(rng.normal(8 * 60, 8 * 60, S), -5 * 60, MAX_OVERTIME).astype(np.int64)
    e_emp = np.concatenate([emp[present], emp[present]])
    e_at = np.concatenate([check_in[present], check_out[present]])
    e_action = np.concatenate([np.zeros(present.sum(), np.int64), np.ones(present.sum(), np.int64)])
    order = np.lexsort((e_action, e_emp, e_at))
    e_emp, e_at, e_action = e_emp[order], e_at[order], e_action[order]
    V = len(e_emp)
    door = rng.random(V) < DOOR_RATE
    confidence = np.round(np.where(door, rng.uniform(0.95, 0.99, V), 0.99 - 0.19 * rng.beta(1.2, 3.0, V)), 2)
    camera = 1 + (rng.random(V) < 0.3).astype(np.int64)
    events = pl.DataFrame(
        {
            "n": np.arange(1, V + 1),
            "employee_id": ids.gather(pl.Series(e_emp)),
            "at": e_at,
            "action": pl.Series(["check_in", "check_out"]).gather(pl.Series(e_action)),
            "camera": camera,
            "confidence": confidence,
            "source": np.where(door, "door", "face"),
        }
    ).select(
        (pl.lit("EV") + pl.col("n").cast(pl.String).str.zfill(max(8, len(str(V))))).alias("event_id"),
        "employee_id",
        stamp("at").alias("timestamp"),
        "action",
        (pl.lit("cam_staff_entrance_") + pl.col("camera").cast(pl.String).str.zfill(2)).alias("camera_id"),
        "confidence",
        "source",
    )
    return shifts, events
