"""When a model trains, and on what: the as-of day and the held-out period before it.

Every model reads the marts as the platform saw them on the as-of day (nothing dated after
it: no booking made later, no status settled later, no stay night later) and is evaluated
out of time on each property's most recent months whose outcomes are known. No calendar
date and no property name lives in model code: both come from the data and this object.

- ``as_of``: the last day read (default: yesterday).
- ``evaluation_months``: each property's held-out period is its last N months of known
  outcomes up to the as-of day; training reads only what lies before it.
- ``min_history_days``: a property with less history than this before its held-out period
  cannot be judged on its own: all its rows train the group model and it is reported as
  ``evaluated: false`` with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd


@dataclass(frozen=True)
class PropertyWindow:
    """One property's place on the timeline: its known history, the start of its held-out
    period, and whether it is evaluated on its own (with the reason when not)."""

    hotel: str
    first_day: date
    last_day: date  # last day of known outcomes, at most the as-of day
    test_start: date  # first day of the held-out period
    evaluated: bool
    reason: str | None = None

    def as_dict(self) -> dict:
        return {"hotel": self.hotel, "first_day": self.first_day.isoformat(),
                "last_day": self.last_day.isoformat(), "test_start": self.test_start.isoformat(),
                "evaluated": self.evaluated, "reason": self.reason}


@dataclass(frozen=True)
class Timeline:
    as_of: date
    evaluation_months: int = 3
    min_history_days: int = 90

    def __post_init__(self):
        if self.evaluation_months < 1:
            raise ValueError(f"evaluation_months must be >= 1, got {self.evaluation_months}")
        if self.min_history_days < 1:
            raise ValueError(f"min_history_days must be >= 1, got {self.min_history_days}")

    @classmethod
    def of(cls, as_of: date | str | None = None, evaluation_months: int = 3,
           min_history_days: int = 90) -> "Timeline":
        """A timeline as of a day (a date or ISO text); None means yesterday, the last whole
        day a nightly run can know."""
        if as_of is None or as_of == "":
            day = date.today() - timedelta(days=1)
        elif isinstance(as_of, str):
            try:
                day = date.fromisoformat(as_of)
            except ValueError:
                raise ValueError(f"as_of must be a date as YYYY-MM-DD, got {as_of!r}") from None
        else:
            day = as_of
        return cls(day, evaluation_months, min_history_days)

    @classmethod
    def from_settings(cls, settings) -> "Timeline":
        return cls.of(settings.as_of, settings.evaluation_months, settings.min_history_days)

    @property
    def as_of_ts(self) -> pd.Timestamp:
        return pd.Timestamp(self.as_of)

    def months_before(self, day: date, months: int) -> date:
        """The day `months` calendar months before `day` (clamped to month ends)."""
        return (pd.Timestamp(day) - pd.DateOffset(months=months)).date()

    def held_out_start(self, last_day: date) -> date:
        """First day of the held-out period that ends on `last_day`."""
        return self.months_before(last_day, self.evaluation_months) + timedelta(days=1)

    def windows(self, days: pd.DataFrame, unit: str = "days") -> dict[str, PropertyWindow]:
        """Each property's window, from a frame of (hotel, day) rows of known outcomes (one
        row per booking or per day: only the first and last day per hotel matter). Rows
        after the as-of day are ignored. A property with no known outcome yet is absent."""
        d = days.dropna(subset=["hotel", "day"])
        d = d[pd.to_datetime(d["day"]) <= self.as_of_ts]
        out: dict[str, PropertyWindow] = {}
        for hotel, g in d.groupby("hotel", sort=True):
            first = pd.Timestamp(g["day"].min()).date()
            last = pd.Timestamp(g["day"].max()).date()
            start = self.held_out_start(last)
            history = (start - first).days
            if history < self.min_history_days:
                out[hotel] = PropertyWindow(
                    hotel, first, last, last + timedelta(days=1), False,
                    f"{history} day(s) of {unit} before its last {self.evaluation_months} "
                    f"month(s) (needs {self.min_history_days}): trained into the group model, "
                    f"not evaluated on its own")
            else:
                out[hotel] = PropertyWindow(hotel, first, last, start, True)
        return out

    def held_out(self, frame: pd.DataFrame, day: str = "arrival_date", unit: str = "arrivals"):
        """Each property's window from the rows of ``frame`` (hotel, ``day``), and per row its
        property's test start, whether it trains (before that start) and whether it is held
        out (from that start, for a property evaluated on its own). Returns
        (windows, starts, train, test); a property with no known day yet is in neither."""
        windows = self.windows(frame[["hotel", day]].rename(columns={day: "day"}), unit=unit)
        starts = frame["hotel"].map({h: pd.Timestamp(w.test_start) for h, w in windows.items()})
        judged = frame["hotel"].map({h: w.evaluated for h, w in windows.items()}).fillna(False).astype(bool)
        days = pd.to_datetime(frame[day])
        train = (days < starts).to_numpy()
        return windows, starts, train, (days >= starts).to_numpy() & judged.to_numpy()

    def params(self) -> dict:
        """What MLflow records of the timeline (the champion gate compares as_of)."""
        return {"as_of": self.as_of.isoformat(), "evaluation_months": self.evaluation_months,
                "min_history_days": self.min_history_days}


def bookings_as_of(bookings: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Bookings as the PMS showed them at the end of the as-of day: bookings made later are
    gone; a status settled later is not yet known (status, status date and the cancellation
    flag cleared). ``outcome_known``: the arrival day has passed (the guest came or did not)
    or the booking was already cancelled. Labels are taken only from bookings whose arrival
    has passed: using the cancellations of future arrivals without their stays would bias
    the labels towards cancelling."""
    day = pd.Timestamp(as_of)
    df = bookings[pd.to_datetime(bookings["booking_date"]) <= day].copy()
    status_day = pd.to_datetime(df["reservation_status_date"])
    settled = status_day.notna() & (status_day <= day)
    cancelled = df["is_canceled"].fillna(False).astype(bool) & settled
    df["is_canceled"] = cancelled
    df["reservation_status_date"] = status_day.where(settled)
    if "reservation_status" in df.columns:
        df["reservation_status"] = df["reservation_status"].where(settled, None)
    df["arrived"] = pd.to_datetime(df["arrival_date"]) <= day
    df["outcome_known"] = df["arrived"] | cancelled
    return df
