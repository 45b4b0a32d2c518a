"""Booking-time features for cancellation risk.

Only what is known when a booking is made goes in: the booking's own fields (dates, lead
time, stay, party, rate, deposit, customer type, segment, channel, agent, company,
country, requests) and point-in-time history of other bookings (outcomes whose status date
is strictly before this booking's booking date; bookings made before it). Never the
booking's own reservation_status, its date, the assigned room, booking changes, waiting
days, no-show flag or realised / lost revenue (see FORBIDDEN).

Everything fitted here (category codes, frequencies, ADR medians, the prior)
is fitted on the training period only; the outcome log (history) is read strictly as-of
each booking's date: at serving time the PMS knows every outcome settled before the booking.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from features.inputs import BOOKING_COLUMNS
from ml.encoding import category_codes
from ml.timeline import bookings_as_of

# Known only after the booking was made (or derived from the outcome): never features.
FORBIDDEN = frozenset({
    "is_canceled", "reservation_status", "reservation_status_date", "assigned_room_type",
    "is_room_changed", "booking_changes", "days_in_waiting_list", "is_no_show",
    "revenue_realised", "revenue_lost",
})

CATEGORICAL = ["hotel", "meal", "market_segment", "distribution_channel", "customer_type",
               "deposit_type", "reserved_room_type"]
HIGH_CARDINALITY = ["country", "agent", "company"]
# Keys whose as-of cancellation history is a feature.
HISTORY_KEYS = {
    "agent": ["agent"],
    "country": ["country"],
    "company": ["company"],
    "segment": ["hotel", "market_segment"],
    "agent_hotel": ["hotel", "agent"],
}
GROUP_KEYS = {
    # bookings made together: same hotel, booking day, arrival day, (lead time) and rate
    "group_size": ["hotel", "booking_date", "arrival_date", "adr"],
    # the same agent's bookings for the same booking and arrival day
    "agent_block_size": ["hotel", "booking_date", "arrival_date", "agent"],
}
RECENT_DAYS = 90
HISTORY_DAYS = 365  # history: outcomes settled in the year before the booking day
PRIOR_WEIGHT = 20.0  # smoothing of history rates towards the training prior

# Each feature is explained as one booking field (its source) so that contributions of
# e.g. the agent's encoding, history and volume add up to one "agent" factor.
SOURCE = {
    "hotel": "hotel", "lead_time": "lead_time", "log_lead_time": "lead_time",
    "arrival_dow": "arrival_date", "booking_dow": "booking_date",
    "stays_in_weekend_nights": "nights", "stays_in_week_nights": "nights", "nights": "nights",
    "adults": "adults", "children": "children", "babies": "babies", "party_size": "adults",
    "meal": "meal", "market_segment": "market_segment",
    "distribution_channel": "distribution_channel", "customer_type": "customer_type",
    "deposit_type": "deposit_type", "reserved_room_type": "reserved_room_type",
    "is_repeated_guest": "is_repeated_guest", "previous_cancellations": "previous_cancellations",
    "previous_bookings_not_canceled": "previous_bookings_not_canceled",
    "required_car_parking_spaces": "required_car_parking_spaces",
    "total_of_special_requests": "total_of_special_requests",
    "adr": "adr", "adr_per_person": "adr", "adr_relative": "adr",
    "has_agent": "agent", "has_company": "company",
    "group_size": "group_booking", "agent_block_size": "group_booking",
    "agent_recent_bookings": "agent", "agent_recent_cancellations": "agent",
    "arrival_on_the_books": "arrival_date", "arrival_cancelled_share": "arrival_date",
}
for _c in HIGH_CARDINALITY:
    SOURCE[f"{_c}_freq"] = _c
for _k, _cols in HISTORY_KEYS.items():
    _src = "market_segment" if _k == "segment" else ("agent" if _k == "agent_hotel" else _k)
    for _s in ("hist_n", "hist_rate", "recent_rate"):
        SOURCE[f"{_k}_{_s}"] = _src


def load_bookings(marts, as_of) -> pd.DataFrame:
    """Every property's bookings as known at the end of the as-of day: booking-time columns
    plus the label and its status date (the outcome log), one row per booking, with
    ``arrived`` (the label is known) and ``outcome_known`` (see ``bookings_as_of``)."""
    cols = ", ".join(["booking_id", *BOOKING_COLUMNS, "is_canceled", "reservation_status_date"])
    df = marts.execute(
        f"select {cols} from fct_bookings where booking_date <= ? "
        "order by arrival_date, booking_id", [as_of]).df()
    return normalise(bookings_as_of(df, as_of))


def normalise(df: pd.DataFrame) -> pd.DataFrame:
    """Types the booking fields the way features expect them (API payloads included)."""
    df = df.copy()
    for c in BOOKING_COLUMNS:
        if c not in df.columns:
            df[c] = np.nan
    for c in ("booking_date", "arrival_date", "reservation_status_date"):
        if c in df.columns:
            df[c] = pd.to_datetime(df[c]).astype("datetime64[ns]")
    # booking_date = arrival_date - lead_time when one of them is missing
    lead = pd.to_numeric(df["lead_time"], errors="coerce")
    missing_b = df["booking_date"].isna() & df["arrival_date"].notna() & lead.notna()
    df.loc[missing_b, "booking_date"] = (df.loc[missing_b, "arrival_date"]
                                         - pd.to_timedelta(lead[missing_b], unit="D"))
    missing_l = lead.isna() & df["booking_date"].notna() & df["arrival_date"].notna()
    lead[missing_l] = (df.loc[missing_l, "arrival_date"] - df.loc[missing_l, "booking_date"]).dt.days
    df["lead_time"] = lead
    for c in ("agent", "company", "country", *CATEGORICAL):
        df[c] = _per_value(df[c], _text, code=c in ("agent", "company"))
    for c in ("stays_in_weekend_nights", "stays_in_week_nights", "adults", "children", "babies",
              "previous_cancellations", "previous_bookings_not_canceled",
              "required_car_parking_spaces", "total_of_special_requests", "adr"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    df["is_repeated_guest"] = df["is_repeated_guest"].astype("float64")
    return df


def lookup(keys: pd.Series, table: dict, default=np.nan) -> np.ndarray:
    """dict look-up of each key as floats, once per distinct key (Series.map would copy a
    large dict every call)."""
    codes, uniques = pd.factorize(keys.to_numpy(object, na_value=None))
    get = table.get
    found = np.fromiter((get(k, default) for k in uniques), dtype=float, count=len(uniques))
    return np.where(codes >= 0, found[codes] if len(found) else default, default)


def _per_value(s: pd.Series, f, **kw) -> pd.Series:
    """``f`` of each value (None for a missing one), computed once per distinct value."""
    codes, uniques = pd.factorize(s.to_numpy(object, na_value=None))
    out = np.array([None, *(f(v, **kw) for v in uniques)], dtype=object)
    return pd.Series(out[codes + 1], index=s.index, dtype=object)


def _days(s: pd.Series) -> np.ndarray:
    return (s.to_numpy("datetime64[D]").astype("int64"))


def _key(df: pd.DataFrame, cols: list[str]) -> pd.Series:
    """One string key per row; rows with a missing part get None (no key)."""
    parts = []
    valid = np.ones(len(df), dtype=bool)
    for c in cols:
        s = df[c]
        valid &= s.notna().to_numpy()
        if pd.api.types.is_datetime64_any_dtype(s):  # (numpy's formatting: strftime is slow)
            parts.append(pd.Series(np.datetime_as_string(s.to_numpy("datetime64[D]")), index=s.index))
        elif pd.api.types.is_float_dtype(s):
            parts.append(s.round(2).astype(str))
        else:
            parts.append(s.astype(str))
    key = parts[0]
    for p in parts[1:]:
        key = key + "|" + p
    return key.where(valid, None)


@dataclass
class AsOfHistory:
    """Counts of settled outcomes per key, queried strictly before a date.

    Events (key, day, cancelled) are sorted by (key code, day); a query for (key, day)
    counts the events of the key with event day < query day, in O(log n)."""

    codes: dict[str, int] = field(default_factory=dict)
    stamps: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    cum_n: np.ndarray = field(default_factory=lambda: np.zeros(1))
    cum_pos: np.ndarray = field(default_factory=lambda: np.zeros(1))

    SPAN = 1 << 20  # days per key code (dates as days since 1970 < 2**20)

    @classmethod
    def fit(cls, keys: pd.Series, days: np.ndarray, positive: np.ndarray) -> "AsOfHistory":
        ok = keys.notna().to_numpy()
        keys, days, positive = keys[ok], days[ok], positive[ok].astype(float)
        uniq = sorted(set(keys))
        codes = {k: i for i, k in enumerate(uniq)}
        stamp = keys.map(codes).to_numpy(np.int64) * cls.SPAN + days
        order = np.argsort(stamp, kind="stable")
        return cls(codes, stamp[order],
                   np.concatenate([[0.0], np.cumsum(np.ones(len(order)))]),
                   np.concatenate([[0.0], np.cumsum(positive[order])]))

    def counts(self, keys: pd.Series, days: np.ndarray, window: int | None = None):
        """(events, positives) of each key strictly before its day (within `window` days)."""
        code = lookup(keys, self.codes)
        known = ~np.isnan(code)
        c = np.where(known, code, 0).astype(np.int64)
        base = c * self.SPAN
        hi = np.searchsorted(self.stamps, base + days, side="left")
        lo_day = base if window is None else base + np.maximum(days - window, 0)
        lo = np.searchsorted(self.stamps, lo_day, side="left")
        n = np.where(known, self.cum_n[hi] - self.cum_n[lo], 0.0)
        p = np.where(known, self.cum_pos[hi] - self.cum_pos[lo], 0.0)
        return n, p

    def counts_one(self, key: str | None, day: int, *windows: int | None) -> list[tuple[float, float]]:
        """`counts` of one key for each window (None: all before ``day``), in plain Python:
        each search bisects only the key's own events, a few cache lines where a search
        of the whole table reads one per level, and makes no numpy call."""
        span = self.__dict__.get("_spans")
        if span is None:
            span = self._index_keys()
        found = span.get(key)  # None (no key) is never one
        if found is None:
            return [(0.0, 0.0)] * len(windows)
        start, end = found
        days, cum_pos = self._event_days, self._cum_pos
        hi = bisect_left(days, day, start, end)
        out = []
        for window in windows:
            lo = start if window is None else bisect_left(days, max(day - window, 0), start, end)
            out.append((float(hi - lo), cum_pos[hi] - cum_pos[lo]))
        return out

    def __getstate__(self):  # the one-key index is rebuilt on first use
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}

    def _index_keys(self) -> dict[str, tuple[int, int]]:
        """Each key's (start, end) in the sorted events, with the events' days and running
        positives as compact arrays; built on first use and kept (older pickles lack it)."""
        code_ends = np.searchsorted(self.stamps, np.arange(len(self.codes) + 1) * self.SPAN)
        self._event_days, self._cum_pos = array("q"), array("d")
        self._event_days.frombytes((self.stamps % self.SPAN).astype(np.int64).tobytes())
        self._cum_pos.frombytes(self.cum_pos.astype(np.float64).tobytes())
        self._spans = {k: (int(code_ends[c]), int(code_ends[c + 1])) for k, c in self.codes.items()}
        return self._spans


# ------------------------------------------------------------- one booking, no pandas
# The API scores one booking per request; the frame path above costs ~40 ms of pandas
# overhead for one row. `transform_one` computes the same features with plain Python and
# scalar look-ups (tests assert it equals `transform` on real rows).

NUMERIC = ("lead_time", "stays_in_weekend_nights", "stays_in_week_nights", "adults", "children",
           "babies", "previous_cancellations", "previous_bookings_not_canceled",
           "required_car_parking_spaces", "total_of_special_requests", "adr", "is_repeated_guest")


def _number(v) -> float:
    if v is None or v == "":
        return np.nan
    try:
        return float(v)
    except (TypeError, ValueError):
        return np.nan


def _text(v, code: bool = False) -> str | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    v = str(v).strip() or None
    if code and v is not None and v.endswith(".0"):  # "9" and "9.0" are the same agent
        v = v[:-2]
    return v


_EPOCH = datetime(1970, 1, 1)


def _datetime(v) -> datetime | None:
    """A date field as `normalise` reads it, as a naive datetime (wall time kept). ISO text,
    what the stores and the API hold, goes through the standard library's parser: pandas'
    Timestamp costs more than the rest of the booking's normalisation."""
    if v is None or v == "":
        return None
    if type(v) is str:
        try:
            t = datetime.fromisoformat(v)
        except ValueError:
            t = pd.Timestamp(v)
    elif isinstance(v, datetime):
        t = v
    elif isinstance(v, date):
        t = datetime(v.year, v.month, v.day)
    else:
        t = pd.Timestamp(v)
    if t is pd.NaT:
        return None
    return t.replace(tzinfo=None) if t.tzinfo else t


def normalise_one(record: dict) -> dict | None:
    """`normalise` of one booking as a dict; None when it needs the frame path (no dates)."""
    row = {c: record.get(c) for c in BOOKING_COLUMNS}
    book = row["booking_date"] = _datetime(row["booking_date"])
    arr = row["arrival_date"] = _datetime(row["arrival_date"])
    lead = _number(row["lead_time"])
    if book is None and arr is not None and not math.isnan(lead):
        book = row["booking_date"] = arr - timedelta(days=lead)
    if math.isnan(lead) and book is not None and arr is not None:
        lead = float((arr - book).days)
    if book is None or arr is None:
        return None
    for c in ("agent", "company", "country", *CATEGORICAL):
        row[c] = _text(row[c], code=c in ("agent", "company"))
    for c in NUMERIC:
        row[c] = _number(row[c])
    row["lead_time"] = lead
    return row


def _round2(v: float) -> float:
    """``float(np.round(v, 2))`` by numpy's own arithmetic (times 100, rounded half to even
    keeping the sign of a zero, over 100) without a numpy call, a few µs each."""
    y = v * 100.0
    return math.copysign(round(y), y) / 100.0 if math.isfinite(y) else float(np.round(v, 2))


def _key_one(row: dict, cols: list[str]) -> str | None:
    parts = []
    for c in cols:
        v = row[c]
        if v is None:
            return None
        if isinstance(v, float):
            if math.isnan(v):
                return None
            v = _round2(v)
        elif isinstance(v, datetime):
            v = v.date().isoformat()  # as numpy formats the frame's dates; strftime is slow
        parts.append(str(v))
    return "|".join(parts)


@dataclass
class CancellationFeatures:
    """Turns booking fields into the model's feature matrix; fitted on the training period."""

    categories: dict[str, list[str]] = field(default_factory=dict)
    frequency: dict[str, dict[str, float]] = field(default_factory=dict)
    prior: float = 0.0
    adr_median: dict[str, dict[str, float]] = field(default_factory=dict)
    outcomes: dict[str, AsOfHistory] = field(default_factory=dict)
    agent_bookings: AsOfHistory | None = None
    on_the_books: AsOfHistory | None = None
    arrival_cancellations: AsOfHistory | None = None
    group_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    feature_names: list[str] = field(default_factory=list)

    @classmethod
    def fit(cls, train: pd.DataFrame, log: pd.DataFrame) -> "CancellationFeatures":
        """`train`: labelled bookings of the training period (encoders are fitted on them
        only). `log`: every known booking with its outcome and status date; read only as-of
        each booking's date (history) and for bookings made together (group size)."""
        self = cls()
        y = train["is_canceled"].astype(float).to_numpy()
        self.prior = float(y.mean())
        for c in CATEGORICAL:
            self.categories[c] = sorted(train[c].dropna().unique().tolist())
        for c in HIGH_CARDINALITY:
            self.frequency[c] = (train[c].value_counts() / len(train)).to_dict()
        adr = train[["hotel", "reserved_room_type", "adr"]].assign(
            month=train["arrival_date"].dt.month.astype(str))
        adr = adr[adr["adr"] > 0]
        for name, cols in (("hrm", ["hotel", "reserved_room_type", "month"]),
                           ("hm", ["hotel", "month"]), ("h", ["hotel"])):
            k = _key(adr, cols)
            self.adr_median[name] = adr.groupby(k)["adr"].median().to_dict()
        # outcomes are events on their status day; a booking still on the books has none yet
        settled = log[log["reservation_status_date"].notna()]
        status_days = _days(settled["reservation_status_date"])
        cancelled = settled["is_canceled"].astype(float).to_numpy()
        for name, cols in HISTORY_KEYS.items():
            self.outcomes[name] = AsOfHistory.fit(_key(settled, cols), status_days, cancelled)
        self.agent_bookings = AsOfHistory.fit(_key(log, ["agent"]), _days(log["booking_date"]),
                                              np.zeros(len(log)))
        # the arrival day's book as the PMS saw it on the booking day: bookings already made
        # for the same hotel and arrival day, and how many of them were already cancelled
        arrival = _key(log, ["hotel", "arrival_date"])
        self.on_the_books = AsOfHistory.fit(arrival, _days(log["booking_date"]), np.zeros(len(log)))
        self.arrival_cancellations = AsOfHistory.fit(
            _key(settled, ["hotel", "arrival_date"]).where(settled["is_canceled"].astype(bool).to_numpy(), None),
            status_days, np.zeros(len(settled)))
        for name, cols in GROUP_KEYS.items():
            self.group_counts[name] = _key(log, cols).value_counts().to_dict()
        self.feature_names = list(self.transform(train.head(5)).columns)
        return self

    def transform(self, df: pd.DataFrame) -> pd.DataFrame:
        df = normalise(df[[c for c in df.columns if c not in FORBIDDEN]])
        made: dict[tuple[str, ...], pd.Series] = {}

        def key(cols: list[str]) -> pd.Series:  # several features share a key
            if tuple(cols) not in made:
                made[tuple(cols)] = _key(df, cols)
            return made[tuple(cols)]

        X = pd.DataFrame(index=df.index)
        for c in CATEGORICAL:
            codes = {v: i for i, v in enumerate(self.categories.get(c, []))}
            X[c] = lookup(df[c], codes)
        lead = df["lead_time"].astype(float)
        X["lead_time"] = lead
        X["log_lead_time"] = np.log1p(lead.clip(lower=0))
        arr, book = df["arrival_date"], df["booking_date"]
        # Weekdays only: month / week / day-of-year let the trees memorise the training
        # period's calendar (validation AUC falls as trees are added); season comes in
        # through the as-of history and the arrival day's book.
        X["arrival_dow"] = arr.dt.dayofweek.astype(float)
        X["booking_dow"] = book.dt.dayofweek.astype(float)
        for c in ("stays_in_weekend_nights", "stays_in_week_nights", "adults", "children",
                  "babies", "is_repeated_guest", "previous_cancellations",
                  "previous_bookings_not_canceled", "required_car_parking_spaces",
                  "total_of_special_requests", "adr"):
            X[c] = df[c].astype(float)
        X["nights"] = X["stays_in_weekend_nights"] + X["stays_in_week_nights"]
        X["party_size"] = X["adults"] + X["children"].fillna(0) + X["babies"].fillna(0)
        X["adr_per_person"] = X["adr"] / X["party_size"].where(X["party_size"] > 0)
        month = df.assign(month=arr.dt.month.astype("Int64").astype(str))
        ref = lookup(_key(month, ["hotel", "reserved_room_type", "month"]), self.adr_median["hrm"])
        ref = np.where(np.isnan(ref), lookup(_key(month, ["hotel", "month"]), self.adr_median["hm"]), ref)
        ref = np.where(np.isnan(ref), lookup(_key(month, ["hotel"]), self.adr_median["h"]), ref)
        X["adr_relative"] = X["adr"].to_numpy() / ref
        X["has_agent"] = df["agent"].notna().astype(float)
        X["has_company"] = df["company"].notna().astype(float)
        for c in HIGH_CARDINALITY:
            X[f"{c}_freq"] = lookup(df[c], self.frequency[c], 0.0)
        bdays = _days(book)
        for name, cols in HISTORY_KEYS.items():
            keys = key(cols)
            n, p = self.outcomes[name].counts(keys, bdays, HISTORY_DAYS)
            X[f"{name}_hist_n"] = n
            X[f"{name}_hist_rate"] = (p + PRIOR_WEIGHT * self.prior) / (n + PRIOR_WEIGHT)
            rn, rp = self.outcomes[name].counts(keys, bdays, RECENT_DAYS)
            X[f"{name}_recent_rate"] = (rp + PRIOR_WEIGHT * self.prior) / (rn + PRIOR_WEIGHT)
        n, _ = self.agent_bookings.counts(key(["agent"]), bdays, 30)
        X["agent_recent_bookings"] = n
        n, p = self.outcomes["agent"].counts(key(["agent"]), bdays, 30)
        X["agent_recent_cancellations"] = p
        arrival = key(["hotel", "arrival_date"])
        booked, _ = self.on_the_books.counts(arrival, bdays)
        cancelled, _ = self.arrival_cancellations.counts(arrival, bdays)
        X["arrival_on_the_books"] = booked
        X["arrival_cancelled_share"] = (cancelled + 1.0) / (booked + 2.0)
        for name, cols in GROUP_KEYS.items():
            keys = key(cols)
            known = lookup(keys, self.group_counts[name], 0.0)
            batch = lookup(keys, keys.value_counts().to_dict(), 1.0)
            # a booking of the log is counted there; a new one with its batch companions
            X[name] = np.maximum(np.maximum(known, batch), 1.0)
        if self.feature_names:
            X = X[self.feature_names]
        return X

    def transform_one(self, record: dict) -> tuple[np.ndarray, dict] | None:
        """The feature vector of one booking (in `feature_names` order) and its normalised
        fields; None when the booking needs the frame path."""
        row = normalise_one({k: v for k, v in record.items() if k not in FORBIDDEN})
        if row is None:
            return None
        f: dict[str, float] = {}
        codes = category_codes(self, CATEGORICAL)
        for c in CATEGORICAL:
            code = codes[c].get(row[c]) if row[c] is not None else None
            f[c] = np.nan if code is None else float(code)
        lead = row["lead_time"]
        f["lead_time"] = lead
        f["log_lead_time"] = float(np.log1p(max(lead, 0))) if not math.isnan(lead) else np.nan
        arr, book = row["arrival_date"], row["booking_date"]
        f["arrival_dow"] = float(arr.weekday())
        f["booking_dow"] = float(book.weekday())
        for c in NUMERIC:
            if c != "lead_time":
                f[c] = row[c]
        f["nights"] = f["stays_in_weekend_nights"] + f["stays_in_week_nights"]
        party = (f["adults"] + (0.0 if math.isnan(f["children"]) else f["children"])
                 + (0.0 if math.isnan(f["babies"]) else f["babies"]))
        f["party_size"] = party
        f["adr_per_person"] = f["adr"] / party if party > 0 else np.nan
        month = {**row, "month": str(arr.month)}
        ref = np.nan
        for name, cols in (("hrm", ["hotel", "reserved_room_type", "month"]),
                           ("hm", ["hotel", "month"]), ("h", ["hotel"])):
            key = _key_one(month, cols)
            ref = self.adr_median[name].get(key, np.nan) if key is not None else np.nan
            if not math.isnan(ref):
                break
        f["adr_relative"] = f["adr"] / ref
        f["has_agent"] = float(row["agent"] is not None)
        f["has_company"] = float(row["company"] is not None)
        for c in HIGH_CARDINALITY:
            f[f"{c}_freq"] = self.frequency[c].get(row[c], 0.0) if row[c] is not None else 0.0
        bday = (book - _EPOCH).days  # floored, as the frame's datetime64[D] is
        for name, cols in HISTORY_KEYS.items():
            (n, p), (rn, rp) = self.outcomes[name].counts_one(_key_one(row, cols), bday,
                                                              HISTORY_DAYS, RECENT_DAYS)
            f[f"{name}_hist_n"] = n
            f[f"{name}_hist_rate"] = (p + PRIOR_WEIGHT * self.prior) / (n + PRIOR_WEIGHT)
            f[f"{name}_recent_rate"] = (rp + PRIOR_WEIGHT * self.prior) / (rn + PRIOR_WEIGHT)
        agent = _key_one(row, ["agent"])
        f["agent_recent_bookings"] = self.agent_bookings.counts_one(agent, bday, 30)[0][0]
        f["agent_recent_cancellations"] = self.outcomes["agent"].counts_one(agent, bday, 30)[0][1]
        arrival = _key_one(row, ["hotel", "arrival_date"])
        booked = self.on_the_books.counts_one(arrival, bday, None)[0][0]
        cancelled = self.arrival_cancellations.counts_one(arrival, bday, None)[0][0]
        f["arrival_on_the_books"] = booked
        f["arrival_cancelled_share"] = (cancelled + 1.0) / (booked + 2.0)
        for name, cols in GROUP_KEYS.items():
            key = _key_one(row, cols)
            known = float(self.group_counts[name].get(key, 0.0)) if key is not None else 0.0
            f[name] = max(known, 1.0)
        return np.array([f[n] for n in self.feature_names], dtype=float), row


def describe_value(row: pd.Series, source: str):
    """The human-readable value of one booking field for an explanation."""
    if source == "nights":
        return int(np.nansum([row.get("stays_in_weekend_nights"), row.get("stays_in_week_nights")]))
    if source == "group_booking":
        return None
    v = row.get(source)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, datetime):  # pandas' Timestamp too
        return v.date().isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, np.datetime64):
        return str(pd.Timestamp(v).date())
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return int(v) if float(v).is_integer() else round(float(v), 2)
    return v
