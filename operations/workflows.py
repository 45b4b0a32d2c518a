"""What each workflow decides, as plain functions of lake rows: the messages to send (each
keyed by the fact it tells, so deciding again sends nothing new) and the rows to record.

The Dagster jobs (``orchestration/workflows/``) read the rows, call these and write the
outcome; tests drive them from an event to the outbox row.

Recipients: ``guest:<guest_id>`` (the contact vault has the address and the language), and
staff roles at a hotel, ``<role>@<hotel code>``: ``supervisor:<department>``,
``duty_manager``, ``security``, ``revenue_manager``, ``front_office``; ``operations`` for the
platform's own alerts; ``pms:rates`` for the PMS's rate updates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import polars as pl

from lake.contact_vault import Contact
from lake.properties import PropertyMaster
from language.messages import HotelVoice, render
from operations.outbox import Message

# Anomaly severity -> (alert severity, repeat every n seconds until acknowledged)
ANOMALY_SEVERITY = {"critical": ("critical", 300), "high": ("critical", 600),
                    "medium": ("warning", None), "low": ("info", None), None: ("warning", None)}
READY = ("clean", "inspected")  # inspection statuses a guest can have the room in


@dataclass(frozen=True)
class Hotels:
    """The property master as the workflows need it: code and voice of a hotel by name."""

    properties: PropertyMaster

    def code(self, hotel: str | None) -> str:
        found = self.properties.find(hotel) if hotel else None
        return found.code if found else (hotel or "group")

    def voice(self, hotel: str | None) -> HotelVoice:
        found = self.properties.find(hotel) if hotel else None
        return HotelVoice(found.name, found.currency or "EUR") if found else HotelVoice(
            hotel or "Innsight", "EUR")

    def staff(self, role: str, hotel: str | None) -> str:
        return f"{role}@{self.code(hotel)}"


def _notice(hotels: Hotels, hotel: str | None, topic: str, details: str,
            room_number: str | None = None, priority: str = "normal"):
    return render("supervisor_notice", {"topic": topic, "details": details,
                                        "room_number": room_number, "priority": priority},
                  "en", hotels.voice(hotel))


def _hhmm(ts: datetime) -> str:
    return ts.astimezone(timezone.utc).strftime("%H:%M UTC")


# -- attendance ---------------------------------------------------------------------------------


def attendance_late(late: pl.DataFrame, hotels: Hotels) -> list[Message]:
    """One notice to the department's supervisor per late shift (``fct_attendance`` rows with
    is_late): who, how late, against which shift start."""
    out = []
    for r in late.iter_rows(named=True):
        minutes = round(r["minutes_late"])
        who = r.get("full_name") or r["employee_id"]
        rendered = _notice(hotels, r["hotel"], f"Late check-in: {who}, {minutes} min",
                           f"{who} ({r['department']}) checked in at {_hhmm(r['check_in_at'])} "
                           f"for the shift starting {_hhmm(r['start_at'])}: {minutes} minutes late.",
                           priority="normal")
        out.append(Message(f"attendance-late:{r['shift_id']}", "attendance",
                           hotels.staff(f"supervisor:{r['department']}", r["hotel"]),
                           rendered.subject, rendered.text,
                           payload={"shift_id": r["shift_id"], "employee_id": r["employee_id"],
                                    "minutes_late": r["minutes_late"]}))
    return out


def no_shows(shifts: pl.DataFrame, events: pl.DataFrame, employees: pl.DataFrame,
             at: datetime, grace_minutes: int, hotels: Hotels,
             lookback: timedelta = timedelta(hours=12)) -> tuple[pl.DataFrame, list[Message]]:
    """Shifts that started more than the grace period ago (within ``lookback``) with no
    check-in since an hour before their start: the shifts, and a notice to each supervisor."""
    started = shifts.filter((pl.col("start_at") + pl.duration(minutes=grace_minutes) < at)
                            & (pl.col("start_at") > at - lookback) & (pl.col("end_at") > at - lookback))
    check_ins = events.filter(pl.col("action") == "check_in").select("employee_id", "event_at")
    seen = started.join(check_ins, on="employee_id").filter(
        (pl.col("event_at") >= pl.col("start_at") - pl.duration(hours=1))
        & (pl.col("event_at") <= pl.col("end_at")))["shift_id"]
    missing = started.filter(~pl.col("shift_id").is_in(seen.implode())).join(
        employees.select("employee_id", "department", "full_name"), on="employee_id", how="left")
    out = []
    for r in missing.iter_rows(named=True):
        who = r["full_name"] or r["employee_id"]
        department = r["department"] or "management"
        rendered = _notice(hotels, r["hotel"], f"No show: {who}",
                           f"{who} ({department}) has not checked in for the shift that started at "
                           f"{_hhmm(r['start_at'])} (grace period {grace_minutes} min).",
                           priority="high")
        out.append(Message(f"attendance-absent:{r['shift_id']}", "attendance",
                           hotels.staff(f"supervisor:{department}", r["hotel"]),
                           rendered.subject, rendered.text, severity="warning",
                           payload={"shift_id": r["shift_id"], "employee_id": r["employee_id"]}))
    return missing, out


# -- room ready ---------------------------------------------------------------------------------


def rooms_ready(inspections: pl.DataFrame, arrivals: pl.DataFrame, contact, hotels: Hotels
                ) -> list[Message]:
    """For each room inspected clean that a guest arriving today waits for (``arrivals``:
    bookings of today with hotel, room_number, booking_id, guest_id), the check-in-ready
    message in the guest's language, once per booking. ``contact(guest_id)`` reads the vault."""
    ready = inspections.filter(pl.col("status").is_in(READY)).select("hotel", "room_number").unique()
    waiting = arrivals.join(ready, on=["hotel", "room_number"])
    out = []
    for r in waiting.iter_rows(named=True):
        if not r["guest_id"]:
            continue
        person: Contact | None = contact(r["guest_id"])
        language = person.language if person else "en"
        rendered = render("checkin_ready", {"guest_name": (person.name if person and person.name
                                                           else "Guest"),
                                            "room_number": r["room_number"]},
                          language if language in ("en", "vi") else "en", hotels.voice(r["hotel"]))
        out.append(Message(f"room-ready:{r['booking_id']}", "room_ready", f"guest:{r['guest_id']}",
                           rendered.subject, rendered.text, language=rendered.language,
                           payload={"booking_id": r["booking_id"], "room_number": r["room_number"]}))
    return out


# -- new bookings -------------------------------------------------------------------------------


def booking_risk(bookings: pl.DataFrame, scores: pl.DataFrame, threshold: float,
                 hotels: Hotels, model: str, version: str, at: datetime
                 ) -> tuple[pl.DataFrame, list[Message]]:
    """The scored bookings (``scores``: probability, risk_level, actions as JSON, in the order
    of ``bookings``): a row per booking for ``ops/booking_actions``, and for each one at or
    above ``threshold`` the front desk's confirmation notice carrying the recommended actions
    (the guest's own confirmation is the PMS's: the retention actions are the staff's)."""
    joined = pl.concat([bookings.select("booking_id", "hotel", "arrival_date", "guest_id"),
                        scores.select("probability", "risk_level", "actions")], how="horizontal")
    rows, out = [], []
    for r in joined.iter_rows(named=True):
        actions = json.loads(r["actions"]) if r["actions"] else []
        high = r["probability"] >= threshold
        message_id = None
        if high:
            rendered = _notice(
                hotels, r["hotel"], f"High cancellation risk: booking {r['booking_id']}",
                f"Booking {r['booking_id']} arriving {r['arrival_date']} has a "
                f"{r['probability']:.0%} chance to cancel ({r['risk_level']}). Confirm it with "
                f"the guest and: " + "; ".join(actions or ["no specific action"]) + ".",
                priority="high")
            message_id = f"booking-risk:{r['booking_id']}"
            out.append(Message(message_id, "bookings", hotels.staff("front_office", r["hotel"]),
                               rendered.subject, rendered.text,
                               payload={"booking_id": r["booking_id"],
                                        "probability": r["probability"], "actions": actions}))
        rows.append({"booking_id": r["booking_id"], "hotel": r["hotel"], "scored_at": at,
                     "probability": r["probability"], "risk_level": r["risk_level"],
                     "actions": actions if high else [], "model": model,
                     "model_version": version, "message_id": message_id})
    return pl.DataFrame(rows, schema={"booking_id": pl.String, "hotel": pl.String,
                                      "scored_at": pl.Datetime("us", "UTC"),
                                      "probability": pl.Float64, "risk_level": pl.String,
                                      "actions": pl.List(pl.String), "model": pl.String,
                                      "model_version": pl.String, "message_id": pl.String}), out


# -- guest requests -----------------------------------------------------------------------------


def request_acknowledgements(tasks: pl.DataFrame, requests: pl.DataFrame, contact,
                             hotels: Hotels) -> list[Message]:
    """The guest's acknowledgement of each new task made from their request, in the
    request's language: which team has it and by when."""
    joined = tasks.join(requests.select("request_id", "language"), on="request_id", how="left")
    out = []
    for t in joined.iter_rows(named=True):
        if not t["guest_id"]:
            continue
        person: Contact | None = contact(t["guest_id"])
        language = t["language"] if t["language"] in ("en", "vi") else (
            person.language if person else "en")
        what = ", ".join(t["items"]) if t["items"] else (t["request_type"] or t["category"] or "")
        if t["quantity"] and t["items"]:
            what = f"{t['quantity']} × {what}"
        rendered = render("request_received", {
            "guest_name": person.name if person and person.name else "Guest",
            "request": (what or t["description"] or "your request").replace("_", " ")[:200],
            "team": t["team"] if t["team"] in TEAMS else "front_office",
            "room_number": t["room_number"],
            "expected_by": t["due_at"].strftime("%H:%M")}, language, hotels.voice(t["hotel"]))
        out.append(Message(f"request-ack:{t['request_id']}", "guest_requests",
                           f"guest:{t['guest_id']}", rendered.subject, rendered.text,
                           language=language, payload={"task_id": t["task_id"]}))
    return out


TEAMS = ("housekeeping", "engineering", "front_office", "concierge", "fnb", "finance",
         "guest_relations", "security")


def escalations(overdue: pl.DataFrame, hotels: Hotels, at: datetime) -> list[Message]:
    """A notice to the department's supervisor per task past its due time."""
    out = []
    for t in overdue.iter_rows(named=True):
        late = int((at - t["due_at"]).total_seconds() // 60)
        who = t["assignee_id"] or "nobody (no one of the team was on shift)"
        rendered = _notice(hotels, t["hotel"], f"Overdue task: {t['request_type'] or t['category']}",
                           f"Task {t['task_id']} ({t['priority']}) was due at {_hhmm(t['due_at'])}, "
                           f"{late} minutes ago; assigned to {who}. Request: {t['description']}",
                           room_number=t["room_number"],
                           priority="urgent" if t["priority"] == "urgent" else "high")
        out.append(Message(f"task-overdue:{t['task_id']}", "guest_requests",
                           hotels.staff(f"supervisor:{t['department']}", t["hotel"]),
                           rendered.subject, rendered.text, severity="warning",
                           payload={"task_id": t["task_id"]}))
    return out


# -- lost and found -----------------------------------------------------------------------------


def lost_found_notices(matches: pl.DataFrame, hotels: Hotels) -> list[Message]:
    """A return notice to the front desk per match, for a person to confirm: never a message
    to the guest."""
    out = []
    for m in matches.iter_rows(named=True):
        rendered = _notice(hotels, m["hotel"], "Possible match for a reported loss",
                           f"Found item {m['image_id']} ({m['description'] or 'no description'}) "
                           f"looks like what guest {m['guest_id']} reported losing "
                           f"(request {m['request_id']}; similarity {m['similarity']:.2f}). "
                           "Check the item and confirm before contacting the guest.")
        out.append(Message(f"lost-found:{m['match_id']}", "lost_found",
                           hotels.staff("front_office", m["hotel"]), rendered.subject,
                           rendered.text, payload={"match_id": m["match_id"],
                                                   "image_id": m["image_id"]}))
    return out


# -- anomalies ----------------------------------------------------------------------------------


def anomaly_alerts(alerts: pl.DataFrame, hotels: Hotels) -> list[Message]:
    """Duty manager and security hear of each alert at once; the severity decides the
    recipient's channel (``<role>:urgent`` routes, e.g. a pager webhook) and whether it
    repeats until acknowledged."""
    out = []
    for a in alerts.iter_rows(named=True):
        severity, repeat = ANOMALY_SEVERITY.get(a["severity"], ANOMALY_SEVERITY[None])
        rendered = _notice(hotels, a["hotel"], f"{a['type'].upper()} detected at camera {a['camera_id']}",
                           f"{a['type']} detected at {_hhmm(a['detected_at'])} by camera "
                           f"{a['camera_id']} (confidence {a['confidence'] or 0:.2f}, severity "
                           f"{a['severity'] or 'unknown'}). Alert {a['alert_id']}."
                           + (" This repeats until acknowledged." if repeat else ""),
                           priority="urgent" if severity == "critical" else "high")
        for role in ("duty_manager", "security"):
            role = f"{role}:urgent" if severity == "critical" else role
            out.append(Message(f"anomaly:{a['alert_id']}:{role}", "anomalies",
                               hotels.staff(role, a["hotel"]), rendered.subject, rendered.text,
                               severity=severity, repeat_seconds=repeat,
                               payload={"alert_id": a["alert_id"], "type": a["type"],
                                        "camera_id": a["camera_id"]}))
    return out


# -- prices -------------------------------------------------------------------------------------


def price_changes(previous: pl.DataFrame, current: pl.DataFrame, min_change: float = 0.005
                  ) -> pl.DataFrame:
    """Rows of the new schedule whose suggested price is new or moved by more than
    ``min_change`` (relative) since the previous schedule."""
    keys = ["hotel", "room_type", "date"]
    joined = current.join(previous.select(*keys, pl.col("suggested_price").alias("previous_price")),
                          on=keys, how="left")
    return joined.filter(pl.col("previous_price").is_null()
                         | ((pl.col("suggested_price") - pl.col("previous_price")).abs()
                            > min_change * pl.col("previous_price").abs()))


def rate_update_messages(changes: pl.DataFrame, run_key: str, file_name: str, hotels: Hotels
                         ) -> list[Message]:
    """The PMS's rate update (a signed webhook with every change) and, per hotel, the revenue
    manager's summary of what moved and why."""
    if not changes.height:
        return []
    records = changes.select("hotel", "room_type", pl.col("date").cast(pl.String),
                             "suggested_price", "previous_price", "expected_occupancy",
                             "competitor_avg").to_dicts()
    out = [Message(f"rate-update:{run_key}", "prices", "pms:rates",
                   f"Rate update: {len(records)} prices", f"{len(records)} prices changed; "
                   f"file {file_name}", payload={"file": file_name, "rates": records})]
    for hotel, group in changes.group_by("hotel"):
        hotel = hotel[0]
        up = group.filter(pl.col("suggested_price") > pl.col("previous_price").fill_null(float("inf")))
        new = group.filter(pl.col("previous_price").is_null())
        moved = group.filter(pl.col("previous_price").is_not_null()).with_columns(
            change=(pl.col("suggested_price") / pl.col("previous_price") - 1))
        biggest = moved.sort(pl.col("change").abs(), descending=True).head(5)
        lines = [f"{r['room_type']} on {r['date']}: {r['previous_price']:.0f} -> "
                 f"{r['suggested_price']:.0f} ({r['change']:+.0%}; expected occupancy "
                 f"{(r['expected_occupancy'] or 0):.0%}, competitors {r['competitor_avg'] or 0:.0f})"
                 for r in biggest.iter_rows(named=True)]
        rendered = _notice(hotels, hotel, f"Prices: {group.height} changed",
                           f"The pricing run changed {group.height} prices ({up.height} up, "
                           f"{moved.height - up.height} down, {new.height} new dates); sent to "
                           f"the PMS as {file_name}. Biggest moves: " + "; ".join(lines or ["none"]))
        out.append(Message(f"rate-summary:{run_key}:{hotels.code(hotel)}", "prices",
                           hotels.staff("revenue_manager", hotel), rendered.subject, rendered.text))
    return out


# -- failures -----------------------------------------------------------------------------------


def run_failed(run_id: str, job: str, error: str, url: str) -> Message:
    return Message(f"run-failed:{run_id}", "failures", "operations",
                   f"[Innsight] run of {job} failed",
                   f"The run {run_id} of {job} failed: {error}\n\nOpen it: {url}",
                   severity="warning", payload={"run_id": run_id, "job": job, "url": url})


def check_failed(run_id: str, asset: str, check: str, description: str, url: str) -> Message:
    return Message(f"check-failed:{run_id}:{asset}:{check}", "failures", "operations",
                   f"[Innsight] check {check} of {asset} failed",
                   f"The asset check {check} of {asset} failed in run {run_id}. "
                   f"{description}\n\nOpen it: {url}", severity="warning",
                   payload={"run_id": run_id, "asset": asset, "check": check, "url": url})
