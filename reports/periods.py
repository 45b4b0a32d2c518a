"""A report's period: a day, a week starting Monday, or a calendar month.

A period's key is the Dagster partition key of its asset, the first day of the period
(``2026-11-30`` for a week, ``2026-11-01`` for a month); ``parse`` also takes the forms
people type: ``2026-W48`` for a week, ``2026-11`` for a month.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

KINDS = ("daily", "weekly", "monthly")


@dataclass(frozen=True)
class Period:
    kind: str
    start: date
    end: date  # the last day, inclusive

    @property
    def key(self) -> str:
        return self.start.isoformat()

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def label(self) -> str:
        """The period as people name it: 2026-12-01, 2026-W48, 2026-11."""
        if self.kind == "weekly":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind == "monthly":
            return self.start.strftime("%Y-%m")
        return self.key

    def previous(self) -> "Period":
        """The period before this one, of the same kind."""
        return containing(self.kind, self.start - timedelta(days=1))

    def last_year(self) -> "Period":
        """The same period a year earlier: 52 weeks back for days and weeks (the same
        weekdays), the same month for months."""
        if self.kind == "monthly":
            return containing("monthly", self.start.replace(year=self.start.year - 1))
        return Period(self.kind, self.start - timedelta(weeks=52), self.end - timedelta(weeks=52))


def containing(kind: str, day: date) -> Period:
    """The period of ``kind`` that contains ``day``."""
    if kind == "daily":
        return Period(kind, day, day)
    if kind == "weekly":
        start = day - timedelta(days=day.weekday())
        return Period(kind, start, start + timedelta(days=6))
    if kind == "monthly":
        start = day.replace(day=1)
        following = (start + timedelta(days=32)).replace(day=1)
        return Period(kind, start, following - timedelta(days=1))
    raise ValueError(f"unknown report kind {kind!r}; known kinds: {', '.join(KINDS)}")


def parse(kind: str, text: str) -> Period:
    """The period of ``kind`` named by ``text``; ValueError saying the accepted forms."""
    forms = {"daily": "YYYY-MM-DD", "weekly": "YYYY-MM-DD (a Monday) or YYYY-Www",
             "monthly": "YYYY-MM-01 or YYYY-MM"}
    if kind not in forms:
        raise ValueError(f"unknown report kind {kind!r}; known kinds: {', '.join(KINDS)}")
    text = text.strip()
    try:
        if kind == "weekly" and (m := re.fullmatch(r"(\d{4})-W(\d{2})", text)):
            return containing(kind, date.fromisocalendar(int(m[1]), int(m[2]), 1))
        if kind == "monthly" and re.fullmatch(r"\d{4}-\d{2}", text):
            return containing(kind, date.fromisoformat(f"{text}-01"))
        day = date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else None
    except OverflowError:  # the period would end past year 9999
        raise ValueError(f"{text!r} is out of range") from None
    except ValueError:
        day = None
    if day is None:
        raise ValueError(f"{text!r} is not a {kind} period: use {forms[kind]}")
    try:
        period = containing(kind, day)
    except OverflowError:
        raise ValueError(f"{text!r} is out of range") from None
    if period.start != day:
        raise ValueError(f"{text} is not the first day of a {kind} period: "
                         f"use {period.key} ({period.label})")
    return period
