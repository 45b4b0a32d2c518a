"""The request examples of the OpenAPI page, made of the served platform's own data.

The platform's data is generated relative to today, so no booking id, guest, property or
date can be written here: a ``Sample`` holds real values read from the published marts and
the online store when the page is first asked for (``serving.services.example_data``),
and each request body's named examples are built from it, so each answers with success on
the platform that serves them (tests/serving/test_api_examples.py sends every one).

Routes declare their examples with ``Body(openapi_examples=examples_for(Model))``, which
Swagger UI offers in a drop-down; made from ``PLACEHOLDER`` they read ``<booking id>``
and the like until the app replaces them with the data's (``serving.core.docs``). The
response examples' hotels, ids and days are filled with the same values
(``RESPONSE_FIELDS``), so an answer's example matches its request's.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

Example = dict[str, Any]  # an OpenAPI example object: summary, value
STAY_IN_DAYS = 30  # the examples' stays begin this many days after today
NEW_BOOKING_ID = "EXAMPLE-NEW-1"  # the id of the booking event's example (a new booking)
NEW_GUEST_ID = "EXAMPLE-NEW-GUEST"  # a guest no platform has


@dataclass(frozen=True)
class Sample:
    """Values of the served data the examples are made of."""

    today: date
    hotel: str  # a property's code; the stays of the examples are there
    hotel_name: str
    currency: str | None
    room_type: str  # one of its room types
    booking_id: str  # a booking the online store knows, of that hotel
    guest_id: str  # a guest the online store knows
    employee_id: str
    room_number: str
    # a booking of the hotel as it was made (BookingFields' names, dates left out)
    booking: dict[str, Any] = field(default_factory=dict)
    from_data: bool = True
    # an open task of the lake's ops/tasks, and an employee of its hotel and department
    task_id: str = "<task id>"
    task_assignee_id: str = "<employee id>"


PLACEHOLDER = Sample(today=date.today(), hotel="<hotel code>", hotel_name="<hotel name>",
                     currency="<currency>", room_type="<room type>",
                     booking_id="<booking id>", guest_id="<guest id>",
                     employee_id="<employee id>", room_number="<room number>",
                     from_data=False)


def _stay(s: Sample, nights: int = 3) -> tuple[str, str]:
    arrival = s.today + timedelta(days=STAY_IN_DAYS)
    return arrival.isoformat(), (arrival + timedelta(days=nights)).isoformat()


def _at(day: date, hour: int) -> str:
    return datetime.combine(day, time(hour), timezone.utc).isoformat().replace("+00:00", "Z")


def _yesterday_at(s: Sample, hour: int) -> str:
    """A time already past (an event's timestamp may not lie in the future)."""
    return _at(s.today - timedelta(days=1), hour)


def _new_booking_fields(s: Sample) -> dict[str, Any]:
    """A booking made today like the sample's, arriving in STAY_IN_DAYS days."""
    arrival, _ = _stay(s)
    fields = {"hotel": s.hotel, "booking_date": s.today.isoformat(), "arrival_date": arrival,
              "stays_in_weekend_nights": 1, "stays_in_week_nights": 2, "adults": 2,
              "reserved_room_type": s.room_type}
    return fields | s.booking


def _example(summary: str, value: dict[str, Any]) -> Example:
    return {"summary": summary, "value": value}


def churn(s: Sample) -> dict[str, Example]:
    return {"known booking": _example("A booking the online store knows, by its id",
                                      {"booking_id": s.booking_id}),
            "new booking": _example("A new booking, by its fields",
                                    {"guest_id": s.guest_id, "features": _new_booking_fields(s)})}


def clv(s: Sample) -> dict[str, Example]:
    return {"known guest": _example("A guest the online store knows", {"guest_id": s.guest_id})}


def optimize(s: Sample) -> dict[str, Example]:
    end = s.today + timedelta(days=13)
    return {"two weeks": _example("A room type of one hotel, the next two weeks", {
        "date_range": {"start": s.today.isoformat(), "end": end.isoformat()},
        "room_types": [s.room_type], "hotel": s.hotel})}


def forecast(s: Sample) -> dict[str, Example]:
    return {"every hotel": _example("Every hotel, from the day after its data ends",
                                    {"forecast_days": 30, "hotel": "all", "room_type": "all"}),
            "one hotel": _example("One hotel, two weeks from today", {
                "forecast_days": 14, "hotel": s.hotel, "start_date": s.today.isoformat()})}


def services(s: Sample) -> dict[str, Example]:
    arrival, _ = _stay(s)
    return {"known guest": _example("A guest with stays in the lake", {
                "guest_id": s.guest_id, "top_k": 5,
                "context": {"hotel": s.hotel, "check_in_date": arrival, "nights": 3}}),
            "new guest": _example("A guest the lake does not know: their segment is needed", {
                "guest_id": NEW_GUEST_ID, "top_k": 3,
                "context": {"guest_segment": "leisure", "hotel": s.hotel, "nights": 2,
                            "adults": 2}})}


def rooms(s: Sample) -> dict[str, Example]:
    check_in, check_out = _stay(s, nights=2)
    return {"known guest": _example("A known guest's stay (their segment comes from the lake)", {
                "hotel": s.hotel, "check_in": check_in, "check_out": check_out, "adults": 2,
                "children": 0, "guest_id": s.guest_id, "preferences": {"budget": "high"}}),
            "family": _example("A family, any guest", {
                "hotel": s.hotel, "check_in": check_in, "check_out": check_out, "adults": 2,
                "children": 2, "segment": "leisure", "preferences": {"budget": "medium"}})}


def attendance(s: Sample) -> dict[str, Example]:
    return {"check-in": _example("An employee checked in", {
        "employee_id": s.employee_id, "timestamp": _yesterday_at(s, 8), "action": "check_in",
        "location": "staff door", "confidence": 0.98})}


def room_status(s: Sample) -> dict[str, Example]:
    return {"cleaned": _example("A room was cleaned", {
        "hotel": s.hotel, "room_number": s.room_number, "old_status": "dirty",
        "new_status": "clean", "updated_by": s.employee_id, "timestamp": _yesterday_at(s, 11)})}


def booking(s: Sample) -> dict[str, Example]:
    arrival, _ = _stay(s)
    b = s.booking
    # a made-up guest: trying the example adds no stay to a real guest's history
    guest = {"guest_id": NEW_GUEST_ID, "adults": b.get("adults", 2), "children": b.get("children", 0),
             **({"country": b["country"]} if b.get("country") else {})}
    room = {"reserved_room_type": s.room_type, "meal": b.get("meal", "BB"), "adr": b.get("adr", 100.0)}
    return {"new booking": _example("A booking made today", {
        "booking_id": NEW_BOOKING_ID, "event_type": "new_booking", "hotel": s.hotel,
        "arrival_date": arrival, "booking_date": s.today.isoformat(),
        "stays_in_weekend_nights": 1, "stays_in_week_nights": 2,
        **{k: b[k] for k in ("market_segment", "distribution_channel") if b.get(k)},
        "guest_data": guest, "room_data": room})}


# -- vision: the images are files of serving/examples (see its README) -----------------------

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
EXAMPLE_EMPLOYEE = "EXAMPLE-EMPLOYEE"  # enrolled by the enrol example, erased by the erase one


@lru_cache(maxsize=None)
def example_image(name: str) -> str:
    return base64.b64encode((EXAMPLES_DIR / name).read_bytes()).decode()


def enroll(s: Sample) -> dict[str, Example]:
    return {"one photo": _example("An employee from one photo (erase them with DELETE)", {
        "employee_id": EXAMPLE_EMPLOYEE, "images": [example_image("face.jpg")],
        "metadata": {"name": "Example Employee", "department": "front_office", "hotel": s.hotel}})}


def recognize(s: Sample) -> dict[str, Example]:
    return {"one frame": _example("A frame of a lobby camera", {
                "image": example_image("face.jpg"), "camera_id": "cam_lobby_01"}),
            "burst": _example("Three frames of one camera, decided as one", {
                "images": [example_image("face.jpg")] * 3, "camera_id": "cam_lobby_01"})}


def index_image(s: Sample) -> dict[str, Example]:
    return {"room": _example("A room photo", {"image": example_image("room.jpg"), "metadata": {
        "category": "room", "hotel": s.hotel, "room_number": s.room_number,
        "description": "made bed with white linen, window, bedside lamp", "tags": ["clean"]}})}


def search_images(s: Sample) -> dict[str, Example]:
    return {"by words": _example("Lost and found, by its description", {
                "query_text": "black leather wallet", "category": "lost_and_found", "top_k": 5}),
            "by image": _example("Rooms that look like this one", {
                "query_image": example_image("room.jpg"), "category": "room", "hotel": s.hotel,
                "top_k": 5})}


def analyze_room(s: Sample) -> dict[str, Example]:
    return {"after cleaning": _example("A room photographed after cleaning", {
        "image": example_image("room.jpg"), "hotel": s.hotel, "room_number": s.room_number,
        "camera_id": "housekeeping-tablet-3"})}


def detect_anomalies(s: Sample) -> dict[str, Example]:
    return {"hallway": _example("A hallway camera frame", {
        "image": example_image("room.jpg"), "hotel": s.hotel, "camera_id": "cam_hallway_03",
        "detection_types": ["fire", "smoke", "flood", "intrusion"]})}


def read_invoice(s: Sample) -> dict[str, Example]:
    return {"invoice": _example("A supplier's invoice (Vietnamese)",
                                {"image": example_image("invoice.png")})}


def read_id(s: Sample) -> dict[str, Example]:
    return {"passport": _example("A passport's data page", {
        "image": example_image("passport.png"), "document_type": "passport"})}


def assistant(s: Sample) -> dict[str, Example]:
    return {"policy": _example("A policy question (English)", {
                "user_id": "EMP001", "message": "What is our late check-out policy?",
                "context": {"role": "receptionist", "department": "front_desk"}}),
            "policy (vi)": _example("The same, in Vietnamese", {
                "message": "Giờ trả phòng muộn là mấy giờ và tính phí thế nào?"}),
            "room": _example("A room's status, from the marts", {
                "message": f"Is room {s.room_number} clean?", "context": {"hotel": s.hotel}})}


def task(s: Sample) -> dict[str, Example]:
    return {"check then send": _example("Check a room, then queue the guest's confirmation", {
        "instruction": f"Check if room {s.room_number} is clean and ready, then send the "
                       "confirmation email to the guest",
        "context": {"booking_id": s.booking_id}, "hotel": s.hotel})}


def routing(s: Sample) -> dict[str, Example]:
    return {"towels": _example("Extra towels (English)", {"request": {
                "guest_id": s.guest_id, "message": "I need 2 extra towels in room 201 please",
                "channel": "whatsapp", "hotel": s.hotel}}),
            "no hot water (vi)": _example("No hot water, Vietnamese without diacritics", {"request": {
                "message": "phong 305 khong co nuoc nong", "channel": "app"}})}


def _message(template: str, s: Sample) -> dict[str, Any]:
    arrival, departure = _stay(s)
    variables = {
        "booking_confirmation": {"guest_name": "John Doe", "room_type": s.room_type,
                                 "check_in": arrival, "check_out": departure, "total_amount": 5000000},
        "apology": {"guest_name": "John Doe", "issue": "the air conditioning failed overnight",
                    "compensation": "breakfast for two is on us tomorrow"},
        "checkin_instructions": {"guest_name": "John Doe", "check_in": arrival, "room_type": s.room_type},
        "checkin_ready": {"guest_name": "John Doe", "room_number": s.room_number},
    }[template]
    return {"template_type": template, "variables": variables, "hotel": s.hotel}


def messages(path: str) -> Callable[[Sample], dict[str, Example]]:
    first = {"email": "booking_confirmation", "apology": "apology",
             "checkin-instructions": "checkin_instructions", "notification": "checkin_ready"}[path]

    def build(s: Sample) -> dict[str, Example]:
        return {"vi": _example("In Vietnamese", {**_message(first, s), "language": "vi"}),
                "en": _example("In English", {**_message(first, s), "language": "en"})}
    return build


def log_analysis(s: Sample) -> dict[str, Example]:
    now = datetime.combine(s.today, time(8, 30), timezone.utc)
    quiet = [{"service": "cv", "level": "error", "message": "Recognition failed",
              "timestamp": (now - timedelta(minutes=m)).isoformat()} for m in (120, 90, 60)]
    spike = [{"service": "cv", "level": "error", "message": "Recognition failed",
              "timestamp": (now - timedelta(seconds=20 * i)).isoformat()} for i in range(12)]
    return {"spike": _example("Face recognition errors spiking", {"logs": quiet + spike})}


def task_update(s: Sample) -> dict[str, Example]:
    # assigning again is harmless; closing is not repeatable (a closed task does not reopen)
    return {"assign": _example("Assign the task to someone of its team", {
                "assignee_id": s.task_assignee_id}),
            "assign (status)": _example("The same, saying the status", {
                "status": "assigned", "assignee_id": s.task_assignee_id})}


def workflow_trigger(s: Sample) -> dict[str, Example]:
    tomorrow_night = _at(s.today + timedelta(days=1), 23)
    return {"now": _example("Sync the PMS now", {
                "job_name": "pms_sync", "tags": {"reason": "late PMS export re-sent"}}),
            "later": _example("Retrain the models tomorrow night (a trigger for later)", {
                "job_name": "nightly_retraining", "start_at": tomorrow_night,
                "tags": {"reason": "new bookings loaded"}})}


def service_logs(s: Sample) -> dict[str, Example]:
    now = datetime.combine(s.today, time(8, 30), timezone.utc)
    return {"two lines": _example("A face recognition failure and a warning", {"records": [
        {"service": "cv", "level": "error", "message": "Recognition failed: camera cam_lobby_01 timed out",
         "logged_at": now.isoformat().replace("+00:00", "Z"), "logger": "vision.faces",
         "correlation_id": "3f2c9e0a8b7d4c1e9f6a5b4c3d2e1f00",
         "attributes": {"camera_id": "cam_lobby_01", "hotel": s.hotel}},
        {"service": "api", "level": "warning", "message": "Slow request: 2.4 s",
         "logged_at": (now + timedelta(seconds=5)).isoformat().replace("+00:00", "Z"),
         "attributes": {"route": "/api/v1/ml/pricing/optimize"}}]})}


# request body model name -> its examples
BUILDERS: dict[str, Callable[[Sample], dict[str, Example]]] = {
    "ChurnRequest": churn, "ClvRequest": clv, "OptimizeRequest": optimize,
    "ForecastRequest": forecast, "ServicesRequest": services, "RoomsRequest": rooms,
    "AttendanceEvent": attendance, "RoomStatusEvent": room_status, "BookingEvent": booking,
    "EnrollRequest": enroll, "RecognizeRequest": recognize, "IndexRequest": index_image,
    "SearchRequest": search_images, "RoomAnalyzeRequest": analyze_room,
    "AnomalyRequest": detect_anomalies, "OcrRequest": read_invoice, "IdRequest": read_id,
    "AssistantQuery": assistant, "TaskRequest": task, "RoutingRequest": routing,
    "AnalyzeRequest": log_analysis, "TriggerRequest": workflow_trigger, "LogBatch": service_logs,
    "TaskUpdate": task_update,
    **{"".join(w.title() for w in path.split("-")) + "MessageRequest": messages(path)
       for path in ("email", "apology", "checkin-instructions", "notification")},
}

# path or query parameter -> its example
PARAMETERS: dict[str, Callable[[Sample], Any]] = {"room_type": lambda s: s.room_type,
                                                   "task_id": lambda s: s.task_id,
                                                   # Dagster's (a run id has no example made of data)
                                                   "run_id": lambda s: "0f9a2c51-6d3e-4b8a-9e7f-2c41d5a8b7e3",
                                                   "schedule_name": lambda s: "hourly_pms_sync",
                                                   "sensor_name": lambda s: "landing_sensor"}
# a field of a response example -> its value
RESPONSE_FIELDS: dict[str, Callable[[Sample], Any]] = {
    "hotel": lambda s: s.hotel_name, "hotel_code": lambda s: s.hotel, "currency": lambda s: s.currency,
    "room_type": lambda s: s.room_type, "booking_id": lambda s: s.booking_id,
    "guest_id": lambda s: s.guest_id, "date": lambda s: s.today.isoformat(),
    "generated_at": lambda s: _at(s.today, 3),  # by the 03:00 pricing job
}


def filled(example: Any, sample: Sample) -> Any:
    """A response example with the RESPONSE_FIELDS of every object in it from ``sample``."""
    if isinstance(example, list):
        return [filled(item, sample) for item in example]
    if isinstance(example, dict):
        return {k: RESPONSE_FIELDS[k](sample) if k in RESPONSE_FIELDS else filled(v, sample)
                for k, v in example.items()}
    return example


def examples_for(model: type | str, sample: Sample = PLACEHOLDER) -> dict[str, Example]:
    """The named examples of a request body model, made of ``sample``."""
    return BUILDERS[model if isinstance(model, str) else model.__name__](sample)
