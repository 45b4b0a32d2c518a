"""The staff assistant's tools: each reads the platform's own marts, models or knowledge base
through code (never SQL written by a model) and returns rows with their sources, so that
every claim of an answer can be checked against what a tool returned.

- ``room_status``: a room's type, floor, last inspection and readiness (mart ``dim_rooms``)
  and its current stay (``fct_bookings``);
- ``arrivals``: the live bookings arriving on a day (``fct_bookings``), no revenue columns;
- ``cancellation_risk``: those arrivals scored by the champion cancellation model;
- ``pricing``: suggested prices per room type and date (the price schedule or the model);
- ``forecast``: occupancy, revenue or housekeeping demand per day (the Prophet champions);
- ``knowledge_search``: the hotels' policies and SOPs (``language.knowledge_base``).

"Today" of a hotel is the day its data is current as of (``dim_hotel_as_of``), not the
wall clock: a hotel whose extract ends last spring is asked about its own tomorrow.
The model-backed tools take the scoring functions the caller owns (the serving layer holds
the champions), so this module needs no model registry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable

import duckdb

from language.knowledge_base import KnowledgeBase, query_language
from language.request_routing import fold

REVENUE_PERMISSION = "ml:read"  # prices, forecasts and scores: revenue figures

WEEKDAYS = {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4,
            "saturday": 5, "sunday": 6, "thu hai": 0, "thu ba": 1, "thu tu": 2, "thu nam": 3,
            "thu sau": 4, "thu bay": 5, "chu nhat": 6}


@dataclass
class ToolResult:
    """What a tool read: ``rows`` (the answer's facts) and ``sources``, each {kind: table |
    document | model, name, ref, text}; ``note`` says why there are no rows."""

    tool: str
    arguments: dict
    rows: list[dict] = field(default_factory=list)
    sources: list[dict] = field(default_factory=list)
    note: str | None = None


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, str]  # name -> what to pass
    run: Callable[..., ToolResult]
    permission: str | None = None  # needed on top of llm:query


def resolve_day(text: str, today: date) -> tuple[date, str] | None:
    """The day a question names, relative to ``today``: ISO dates, today / tomorrow /
    yesterday, a weekday (the next one), in English or Vietnamese (accents or not)."""
    folded = fold(text)
    iso = re.search(r"\b(\d{4})-(\d{2})-(\d{2})\b", folded)
    if iso:
        try:
            return date(*map(int, iso.groups())), "that day"
        except ValueError:
            return None
    for words, offset, label in ((("day after tomorrow", "ngay kia"), 2, "the day after tomorrow"),
                                 (("tomorrow", "ngay mai", "mai"), 1, "tomorrow"),
                                 (("yesterday", "hom qua"), -1, "yesterday"),
                                 (("today", "tonight", "hom nay", "toi nay", "right now", "hien"), 0, "today")):
        if any(re.search(rf"\b{w}\b", folded) for w in words):
            return today + timedelta(days=offset), label
    for word, weekday in WEEKDAYS.items():
        if re.search(rf"\b{word}\b", folded):
            ahead = (weekday - today.weekday()) % 7 or 7
            return today + timedelta(days=ahead), word.title()
    return None


def resolve_span(text: str, today: date) -> tuple[date, int, str]:
    """(first day, days, label) of a period a question names: next week, next month, the
    next N days; else one day (``resolve_day``) or the next 7 days."""
    folded = fold(text)
    n = re.search(r"\b(?:next|coming|toi)\s+(\d{1,3})\s+(?:days|ngay)\b", folded)
    if n:
        return today + timedelta(days=1), int(n.group(1)), f"the next {n.group(1)} days"
    if re.search(r"\bnext week\b|\btuan (?:sau|toi)\b", folded):
        return today + timedelta(days=1), 7, "the next 7 days"
    if re.search(r"\bnext month\b|\bthang (?:sau|toi)\b", folded):
        return today + timedelta(days=1), 30, "the next 30 days"
    day = resolve_day(text, today)
    if day:
        return day[0], 1, day[1]
    return today + timedelta(days=1), 7, "the next 7 days"


def _yes(value) -> bool:
    return str(value).lower() in ("true", "1", "yes")


def _row_text(name: str, row: dict) -> str:
    return f"{name}: " + ", ".join(f"{k}={round(v, 4)}" if isinstance(v, float) else f"{k}={v}"
                                   for k, v in row.items() if v is not None)


class Marts:
    """Read-only queries on the published marts file (opened per call: a build replaces it)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def query(self, sql: str, params: list | None = None) -> list[dict]:
        if not self.path.exists():
            raise LookupError(f"the marts file {self.path} is not built yet (make up)")
        with duckdb.connect(str(self.path), read_only=True) as con:
            cursor = con.execute(sql, params or [])
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, r)) for r in cursor.fetchall()]

    def as_of(self) -> dict[str, date]:
        """Hotel -> the day its data is current as of."""
        return {r["hotel"]: r["as_of_date"] for r in
                self.query("select hotel, as_of_date from dim_hotel_as_of order by hotel")}


class DataTools:
    """The tools on one platform: the marts, the knowledge base and the caller's model
    functions. ``hotel`` narrows every tool to one property (a caller's own hotel)."""

    def __init__(self, marts: Marts, knowledge: KnowledgeBase | None,
                 score_bookings: Callable[[list[str]], dict[str, dict]] | None = None,
                 suggest_prices: Callable[[str, date, list[str] | None], list[dict]] | None = None,
                 forecast: Callable[[str, str, date, int], list[dict]] | None = None):
        self.marts, self.knowledge = marts, knowledge
        self.score_bookings, self.suggest_prices, self.forecast_fn = score_bookings, suggest_prices, forecast

    def tools(self) -> dict[str, Tool]:
        out = [
            Tool("room_status", "A room's type, floor, last inspection, readiness and current "
                 "stay; or every room matching a floor / readiness filter.",
                 {"room_number": "the room number, or empty for all rooms",
                  "floor": "a floor number, optional", "only_not_ready": "true to list only rooms "
                  "not ready for a guest", "hotel": "hotel name or code, optional"},
                 self.room_status),
            Tool("arrivals", "Live bookings arriving on a day (booking, room type, party, "
                 "nights), no revenue.", {"day": "a date (YYYY-MM-DD) or a word: today, tomorrow, "
                                          "Saturday", "hotel": "optional"}, self.arrivals),
            Tool("knowledge_search", "Passages of the hotels' policies, SOPs and FAQ in "
                 "Vietnamese or English.", {"query": "the question"}, self.knowledge_search),
        ]
        if self.score_bookings:
            out.append(Tool("cancellation_risk", "Arrivals of a day or period scored by the "
                            "cancellation model, riskiest first.",
                            {"period": "tomorrow, next week, next month, a date", "hotel": "optional"},
                            self.cancellation_risk, REVENUE_PERMISSION))
        if self.suggest_prices:
            out.append(Tool("pricing", "Suggested price per room type for a date.",
                            {"day": "a date or a weekday", "room_type": "a room type code, "
                             "optional", "hotel": "optional"}, self.pricing, REVENUE_PERMISSION))
        if self.forecast_fn:
            out.append(Tool("forecast", "Daily forecast of occupancy, revenue or housekeeping "
                            "demand with its interval.",
                            {"target": "occupancy | revenue | housekeeping_demand",
                             "period": "next 30 days, next week, a date", "hotel": "optional"},
                            self.forecast, REVENUE_PERMISSION))
        return {t.name: t for t in out}

    # -- helpers ------------------------------------------------------------------------
    def _hotels(self, hotel: str | None) -> dict[str, date]:
        as_of = self.marts.as_of()
        if not hotel:
            return as_of
        wanted = hotel.strip().lower()
        rows = self.marts.query("select hotel, hotel_code from dim_hotels")
        names = {r["hotel"] for r in rows if wanted in (r["hotel"].lower(), r["hotel_code"].lower())}
        return {h: d for h, d in as_of.items() if h in names}

    def _today(self, hotels: dict[str, date]) -> date:
        return max(hotels.values()) if hotels else date.today()

    # -- tools --------------------------------------------------------------------------
    def room_status(self, room_number: str | None = None, floor: int | str | None = None,
                    only_not_ready: bool | str = False, hotel: str | None = None,
                    only_ready: bool | str = False) -> ToolResult:
        args = {"room_number": room_number, "floor": floor, "only_not_ready": only_not_ready,
                "only_ready": only_ready, "hotel": hotel}
        hotels = self._hotels(hotel)
        if not hotels:
            return ToolResult("room_status", args, note=f"no hotel '{hotel}'")
        where, params = ["r.hotel in (select unnest(?))"], [list(hotels)]
        if room_number:
            where.append("r.room_number = ?")
            params.append(str(room_number).lstrip("#"))
        if floor not in (None, ""):
            where.append("r.floor = ?")
            params.append(int(floor))
        if _yes(only_not_ready):
            where.append("not coalesce(r.is_ready_for_guest, false)")
        elif _yes(only_ready):
            where.append("coalesce(r.is_ready_for_guest, false)")
        # one query: each room with its current stay, as of its hotel's day
        rooms = self.marts.query(
            "with stays as (select b.hotel, b.room_number, b.booking_id, b.departure_date "
            "from fct_bookings b join dim_hotel_as_of a using (hotel) "
            "where b.arrival_date <= a.as_of_date and b.departure_date > a.as_of_date "
            "and not b.is_canceled qualify row_number() over (partition by b.hotel, b.room_number "
            "order by b.arrival_date desc) = 1) "
            "select r.hotel, r.room_number, r.room_type, r.floor, r.latest_inspection_status, "
            "r.latest_inspected_at, r.is_ready_for_guest, s.booking_id, s.departure_date, "
            "count(*) over () as matching from dim_rooms r left join stays s using (hotel, room_number) "
            "where " + " and ".join(where) + " order by r.hotel, r.room_number limit 50", params)
        result = ToolResult("room_status", args)
        if not rooms:
            result.note = (f"no room {room_number} in {', '.join(hotels)}" if room_number
                           else "no room matches")
            return result
        matching = rooms[0]["matching"]
        if matching > 1:
            result.sources.append({"kind": "table", "name": "dim_rooms", "ref": "rooms matching",
                                   "text": f"dim_rooms: {matching} rooms match "
                                           + ", ".join(f"{k}={v}" for k, v in args.items()
                                                       if v not in (None, "", False))})
        for room in rooms:
            stay = {k: room.pop(k) for k in ("booking_id", "departure_date")}
            room.pop("matching")
            result.rows.append({**room, "occupied": stay["booking_id"] is not None,
                                "as_of": hotels[room["hotel"]],
                                **(stay if stay["booking_id"] else {})})
            result.sources.append({"kind": "table", "name": "dim_rooms",
                                   "ref": f"{room['hotel']} room {room['room_number']}",
                                   "text": _row_text("dim_rooms", room)})
            if stay["booking_id"]:
                result.sources.append({"kind": "table", "name": "fct_bookings",
                                       "ref": stay["booking_id"],
                                       "text": _row_text("fct_bookings", stay)})
        return result

    def _arrivals(self, first: date | None, days: int, hotels: dict[str, date],
                  label: str) -> list[dict]:
        rows = []
        for h, today in hotels.items():
            start = first or today + timedelta(days=1)
            rows += self.marts.query(
                "select booking_id, hotel, arrival_date, nights, reserved_room_type as room_type, "
                "room_number, adults, children, market_segment, deposit_type, lead_time "
                "from fct_bookings where hotel = ? and arrival_date between ? and ? "
                # live as of the hotel's today: not cancelled, or cancelled only later
                "and (not is_canceled or reservation_status_date > ?) order by arrival_date, booking_id",
                [h, start, start + timedelta(days=days - 1), today])
        return rows

    def arrivals(self, day: str | None = None, hotel: str | None = None) -> ToolResult:
        """Each hotel's arrivals on the day the question names, counted from that hotel's own
        today (hotels' data can end on different days)."""
        hotels = self._hotels(hotel)
        rows, counts, days = [], {}, {}
        for h, today in hotels.items():
            first, label = resolve_day(day or "tomorrow", today) or (today + timedelta(days=1), "tomorrow")
            found = self._arrivals(first, 1, {h: today}, label)
            rows += found
            if found:
                counts[h], days[h] = len(found), first
        result = ToolResult("arrivals", {"day": day, "hotel": hotel,
                                         "days": {h: str(d) for h, d in days.items()}},
                            rows=rows[:200])
        listed = len(rows) <= 10  # few: each booking is named in its hotel's source
        result.sources = [{"kind": "table", "name": "fct_bookings", "ref": f"{h} arrival_date={d}",
                           "text": f"fct_bookings: {counts[h]} live arrivals at {h} on {d} "
                                   f"(as of {hotels[h]})" + ("; " + ", ".join(
                                       f"{r['booking_id']} ({r['room_type']}, {r['nights']} nights)"
                                       for r in rows if r["hotel"] == h) if listed else "")}
                          for h, d in days.items()]
        if not rows:
            result.note = "no live arrivals on that day at " + ", ".join(hotels)
        return result

    def cancellation_risk(self, period: str | None = None, hotel: str | None = None,
                          limit: int = 10) -> ToolResult:
        hotels = self._hotels(hotel)
        today = self._today(hotels)
        first, days, label = resolve_span(period or "tomorrow", today)
        rows = self._arrivals(first, days, hotels, label)
        scores = self.score_bookings([r["booking_id"] for r in rows]) if rows else {}
        scored = sorted(({**r, **scores[r["booking_id"]]} for r in rows if r["booking_id"] in scores),
                        key=lambda r: -r["probability"])
        high = [r for r in scored if r.get("risk_level") in ("high", "very_high")] or scored
        result = ToolResult("cancellation_risk", {"period": label, "first": str(first),
                                                  "days": days, "hotel": hotel},
                            rows=high[:limit])
        result.sources = ([{"kind": "table", "name": "fct_bookings", "ref": f"arrivals from {first}",
                            "text": f"fct_bookings: {len(rows)} live arrivals from {first} for "
                                    f"{days} day(s) ({label}), as of {today}"}]
                          + [{"kind": "model", "name": "cancellation",
                            "ref": r["booking_id"], "text": _row_text("cancellation", {
                                k: r.get(k) for k in ("booking_id", "hotel", "arrival_date",
                                                      "probability", "risk_level")})}
                           for r in result.rows])
        if not rows:
            result.note = f"no live arrivals from {first} for {days} day(s)"
        return result

    def pricing(self, day: str | None = None, room_type: str | None = None,
                hotel: str | None = None) -> ToolResult:
        hotels = self._hotels(hotel)
        today = date.today()  # prices are for stays to come: the real calendar
        resolved = resolve_day(day or "tomorrow", today) or (today + timedelta(days=1), "tomorrow")
        types = [room_type.upper()] if room_type and len(room_type) <= 3 else None
        rows = [r for r in self.suggest_prices(resolved[0], types, list(hotels) or None)]
        result = ToolResult("pricing", {"day": str(resolved[0]), "room_type": room_type,
                                        "hotel": hotel}, rows=rows)
        result.sources = [{"kind": r.get("source_kind", "table"), "name": r.get("source", "price_schedule"),
                           "ref": f"{r['hotel']} {r['room_type']} {r['date']}",
                           "text": _row_text(r.get("source", "price_schedule"), r)} for r in rows]
        if not rows:
            result.note = f"no price for {room_type or 'any room type'} on {resolved[0]}"
        return result

    def forecast(self, target: str = "occupancy", period: str | None = None,
                 hotel: str | None = None) -> ToolResult:
        hotels = self._hotels(hotel)
        today = self._today(hotels)
        first, days, label = resolve_span(period or "next 30 days", today)
        rows = []
        for h in hotels:
            rows += self.forecast_fn(target, h, first, days)
        result = ToolResult("forecast", {"target": target, "period": label, "first": str(first),
                                         "days": days, "hotel": hotel}, rows=rows)
        result.sources = [{"kind": "model", "name": f"forecast_{target}", "ref": h,
                           "text": _row_text(f"forecast_{target}", summary)}
                          for h, summary in _forecast_summaries(rows, target).items()]
        if not rows:
            result.note = f"no {target} forecast for {', '.join(hotels) or hotel}"
        return result

    def knowledge_search(self, query: str, language: str | None = None,
                         top_k: int = 3) -> ToolResult:
        """Passages in the question's language first; all languages when it has none (a
        hotel whose documents exist in one language only)."""
        if self.knowledge is None:
            return ToolResult("knowledge_search", {"query": query}, note="no knowledge base")
        language = language or query_language(query)
        hits = (self.knowledge.search(query, top_k=top_k, mode="hybrid", language=language)
                or self.knowledge.search(query, top_k=top_k, mode="hybrid"))
        return ToolResult("knowledge_search", {"query": query, "language": language}, rows=hits,
                          sources=[{"kind": "document", "name": h["file"], "ref": h["passage_id"],
                                    "heading": h["heading"], "text": h["text"]} for h in hits],
                          note=None if hits else "no passage")


def _forecast_summaries(rows: list[dict], target: str) -> dict[str, dict[str, Any]]:
    """Per hotel: the period and the mean, lowest and highest daily value."""
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(r["hotel"], []).append(r)
    return {h: {"hotel": h, "period": f"{len(rs)} days", "from": min(r["date"] for r in rs), "to": max(r["date"] for r in rs),
                "mean": round(sum(r["value"] for r in rs) / len(rs), 3),
                "min": round(min(r["value"] for r in rs), 3), "max": round(max(r["value"] for r in rs), 3)}
            for h, rs in out.items()}
