"""The reports' charts: small matplotlib figures (about 16 x 6 cm) as inline SVG strings.

Each function takes its part of a report dictionary (``reports/CONTRACT.md``), the labels
of the report's language and its Babel locale (for the day ticks: ``12/1`` in English,
``1/12`` in Vietnamese), and returns the SVG, or None when there is nothing to plot (the
template then says so). Glyphs are written as paths in DejaVu Sans, the font matplotlib
ships, so Vietnamese shows the same in a mail client, a browser and the PDF.

Figures are made with ``matplotlib.figure.Figure``, not pyplot: nothing registers them
globally, so each is freed with its last reference and no figure outlives its chart.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date

import matplotlib
from babel.dates import format_skeleton
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

SIZE = (16 / 2.54, 6 / 2.54)  # inches
COLOURS = {"actual": "#1f6f9f", "last_year": "#8a96a3", "capacity": "#c5ccd4",
           "forecast": "#d9822b", "band": "#f5d7b8", "late": "#d9822b", "absent": "#c0392b"}
# Large type for a small figure: it is shown at half a page's width in the PDF, a phone's in mail.
STYLE = {
    "font.family": "DejaVu Sans", "font.size": 10, "axes.titlesize": 10,
    "axes.edgecolor": "#c5ccd4", "axes.labelcolor": "#5f6b7a", "axes.spines.top": False,
    "axes.spines.right": False, "axes.grid": True, "axes.grid.axis": "y", "axes.axisbelow": True,
    "grid.color": "#e6eaef", "grid.linewidth": 0.6, "xtick.color": "#5f6b7a",
    "ytick.color": "#5f6b7a", "legend.frameon": False, "legend.fontsize": 9.5,
    "svg.fonttype": "path",  # text as outlines: no font needed where the SVG is shown
}
MAX_BARS = 8  # segments and channels beyond the largest eight crowd a phone-sized chart
Labels = Mapping[str, str]


@contextmanager
def _axes(name: str) -> Iterator:
    """A figure's axes, in the reports' style. A fixed salt for the SVG's hashed ids (random
    by default) makes a chart render the same each time."""
    with matplotlib.rc_context({**STYLE, "svg.hashsalt": name}):
        figure = Figure(figsize=SIZE, layout="constrained")
        axes = figure.add_subplot()
        axes.set_gid(name)
        yield axes


def _svg(axes) -> str:
    """The axes' figure as an SVG element to inline: no XML prolog, no comments, and every
    id prefixed with the chart's name, as one page holds several charts (matplotlib numbers
    its ids per file: each chart has a ``figure_1``, a ``DejaVuSans-31``)."""
    buffer = io.StringIO()
    axes.figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    text = re.sub(r"<!--.*?-->\s*", "", text[text.index("<svg"):], flags=re.S)
    prefix = axes.get_gid()
    text = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', text)
    return re.sub(r'(href="#|url\(#)', rf"\1{prefix}-", text)


def _numbers(rows: list[dict], key: str) -> list[float]:
    return [math.nan if row.get(key) is None else float(row[key]) for row in rows]


def _plotted(*series: list[float]) -> bool:
    return any(not math.isnan(v) for values in series for v in values)


def _day_ticks(axes, rows: list[dict], locale: str) -> None:
    """Day-and-month ticks on an axis of days (positions 0..n-1), at most about six."""
    days = [date.fromisoformat(row["date"]) for row in rows]
    step = max(1, math.ceil(len(days) / 6))
    positions = range(0, len(days), step)
    axes.set_xticks(list(positions), [format_skeleton("Md", days[i], locale=locale)
                                      for i in positions])
    axes.set_xlim(-0.6, len(days) - 0.4)


def _percent_axis(axes) -> None:
    axes.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    axes.set_ylim(bottom=0)


def _legend(axes) -> None:
    axes.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncols=4, borderaxespad=0.2)


def pace(pace: dict, labels: Labels, locale: str) -> str | None:
    """Rooms on the books per stay date of the coming window, last year's as a line and the
    capacity as a faint line."""
    rows = pace.get("by_day") or []
    rooms, last_year = _numbers(rows, "rooms"), _numbers(rows, "rooms_last_year")
    if not _plotted(rooms, last_year):
        return None
    with _axes("pace") as axes:
        x = range(len(rows))
        axes.plot(x, _numbers(rows, "capacity"), color=COLOURS["capacity"], linewidth=1,
                  label=labels["capacity"])
        axes.bar(x, rooms, width=0.7, color=COLOURS["actual"], label=labels["on_the_books"])
        axes.plot(x, last_year, color=COLOURS["last_year"], linewidth=1.4,
                  label=labels["last_year"])
        axes.yaxis.set_major_locator(MaxNLocator(5, integer=True))
        axes.set_ylim(bottom=0)
        _day_ticks(axes, rows, locale)
        _legend(axes)
        return _svg(axes)


def forecast(forecast: dict | None, labels: Labels, locale: str) -> str | None:
    """The forecast per day with its interval as a band."""
    rows = (forecast or {}).get("days") or []
    values = _numbers(rows, "value")
    if not _plotted(values):
        return None
    with _axes("forecast") as axes:
        x = range(len(rows))
        interval = forecast.get("interval")
        band = labels["interval"].format(p=f"{interval:.0%}") if interval else labels["interval_plain"]
        axes.fill_between(x, _numbers(rows, "lower"), _numbers(rows, "upper"),
                          color=COLOURS["band"], linewidth=0, label=band)
        axes.plot(x, values, color=COLOURS["forecast"], linewidth=1.6, marker="o",
                  markersize=2.5, label=labels["forecast"])
        if forecast.get("target") == "occupancy":
            _percent_axis(axes)
        _day_ticks(axes, rows, locale)
        _legend(axes)
        return _svg(axes)


def occupancy(daily: list[dict], labels: Labels, locale: str) -> str | None:
    """Occupancy per day of the period against the same days last year."""
    actual, last_year = _numbers(daily, "occupancy"), _numbers(daily, "occupancy_last_year")
    if not _plotted(actual, last_year):
        return None
    with _axes("occupancy") as axes:
        x = range(len(daily))
        axes.bar(x, actual, width=0.7, color=COLOURS["actual"], label=labels["occupancy"])
        axes.plot(x, last_year, color=COLOURS["last_year"], linewidth=1.4, marker="o",
                  markersize=2, label=labels["last_year"])
        _percent_axis(axes)
        _day_ticks(axes, daily, locale)
        _legend(axes)
        return _svg(axes)


def _shares(rows: list[dict], name: str, chart: str) -> str | None:
    """Horizontal bars of each row's share, the largest on top, labelled with the share."""
    rows = sorted((r for r in rows if r.get("share") is not None),
                  key=lambda r: r["share"], reverse=True)[:MAX_BARS]
    if not rows:
        return None
    with _axes(chart) as axes:
        y = range(len(rows))
        shares = [r["share"] for r in rows]
        axes.barh(y, shares, height=0.65, color=COLOURS["actual"])
        axes.set_yticks(list(y), [str(r[name]) for r in rows])
        axes.invert_yaxis()
        for position, share in zip(y, shares):
            axes.annotate(f"{share:.0%}", (share, position), xytext=(3, 0),
                          textcoords="offset points", va="center", color="#1d2733")
        axes.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        axes.set_xlim(0, max(shares) * 1.18 or 1)
        axes.grid(axis="x")
        axes.grid(axis="y", visible=False)
        return _svg(axes)


def segments(segments: list[dict], labels: Labels, locale: str) -> str | None:
    """Room revenue by market segment, as shares (comparable across currencies)."""
    return _shares(segments, "segment", "segments")


def channels(channels: list[dict], labels: Labels, locale: str) -> str | None:
    """Room revenue by distribution channel, as shares."""
    return _shares(channels, "channel", "channels")


def booking_window(buckets: list[dict], labels: Labels, locale: str) -> str | None:
    """Bookings per lead-time bucket, in the buckets' order."""
    bookings = _numbers(buckets, "bookings")
    if not _plotted(bookings):
        return None
    with _axes("booking_window") as axes:
        x = range(len(buckets))
        axes.bar(x, bookings, width=0.65, color=COLOURS["actual"])
        axes.set_xticks(list(x), [str(b["bucket"]) for b in buckets])
        axes.set_xlabel(labels["lead_time"])
        axes.yaxis.set_major_locator(MaxNLocator(5, integer=True))
        return _svg(axes)


def cancellations(cancellation: dict, labels: Labels, locale: str) -> str | None:
    """The cancellation rate per day, last year's rate over the period as a line."""
    rows = cancellation.get("daily") or []
    rates = _numbers(rows, "rate")
    if not _plotted(rates):
        return None
    with _axes("cancellations") as axes:
        axes.bar(range(len(rows)), rates, width=0.7, color=COLOURS["actual"],
                 label=labels["cancellation_rate"])
        if cancellation.get("rate_last_year") is not None:
            axes.axhline(cancellation["rate_last_year"], color=COLOURS["last_year"],
                         linewidth=1.2, linestyle="--", label=labels["last_year"])
        _percent_axis(axes)
        _day_ticks(axes, rows, locale)
        _legend(axes)
        return _svg(axes)


def punctuality(punctuality: dict, labels: Labels, locale: str) -> str | None:
    """The late and the absent rate of staff per day."""
    rows = punctuality.get("daily") or []
    late, absent = _numbers(rows, "late_rate"), _numbers(rows, "absent_rate")
    if not _plotted(late, absent):
        return None
    with _axes("punctuality") as axes:
        x = range(len(rows))
        axes.plot(x, late, color=COLOURS["late"], linewidth=1.5, marker="o", markersize=2.5,
                  label=labels["late_rate"])
        axes.plot(x, absent, color=COLOURS["absent"], linewidth=1.5, marker="o", markersize=2.5,
                  label=labels["absent_rate"])
        _percent_axis(axes)
        _day_ticks(axes, rows, locale)
        _legend(axes)
        return _svg(axes)
