"""Face attendance (`/api/v1/cv/face`): enrol, recognise one frame or a burst, read a
person's templates, erase a person with a receipt.

"Unknown" is an answer, not an error: below the gallery's calibrated threshold, within the
minimum margin of the next person, or below the quality gate, recognition says so and why.
A match at a staff-entrance camera (setting ``attendance_cameras``) lands an attendance
event, as ``POST /api/v1/events/attendance`` would.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import Annotated

from fastapi import APIRouter, Body, Path

from serving.core.error_docs import documented, error_responses, invalid
from serving.core.errors import ErrorDetail, InvalidRequest, Message, NotFound, Unavailable
from serving.deps import CvReader, CvWriter, Events, MetricsDep, PredictionLogDep, VisionDep
from serving.routes.event_intake import land
from serving.schemas.cv_schemas import (EMPLOYEE_ID, EmbeddingResponse, EmployeeId, EnrollRequest,
                                        EnrollResponse, ErasureReceipt, RecognizeRequest,
                                        RecognizeResponse)
from serving.schemas.request_examples import EXAMPLE_EMPLOYEE, examples_for
from serving.services.vision_models import MODEL_UNAVAILABLE

router = APIRouter(prefix="/face", tags=["cv: faces"])

NOBODY_ENROLLED = Message("nobody is enrolled as '{employee_id}'")
NO_PHOTO_ACCEPTED = Message("nothing enrolled for '{employee_id}': {problems}")
FACE_PACK_MISSING = Message("the face model pack '{pack}' is not installed")
EmployeePath = Annotated[str, Path(pattern=EMPLOYEE_ID,
                                   description="The employee's id.",
                                   openapi_examples={"the example employee": {
                                       "summary": "The employee the enrol example enrols",
                                       "value": EXAMPLE_EMPLOYEE}})]


def bad_id():
    return invalid(EmployeeId, "not an id!", "Not an employee id", where=("path", "employee_id"))


def unavailable():
    return documented(Unavailable, MODEL_UNAVAILABLE, "Face models not loaded", model="face",
                      reason=FACE_PACK_MISSING.format(pack="not-installed"))


@router.post("/enroll", response_model=EnrollResponse,
             responses=error_responses(
                 "cv:write", invalid(EnrollRequest, {"employee_id": "E1", "images": []},
                                     "No photo"),
                 unavailable()),
             summary="Enrol an employee from 1 to 10 photos (permission cv:write)")
def enroll(body: Annotated[EnrollRequest, Body(openapi_examples=examples_for(EnrollRequest))],
           _: CvWriter, vision: VisionDep) -> EnrollResponse:
    """Each photo is accepted, or refused with the reason (no face, several faces, face too
    small, too blurred, detector score too low): the refusals are in `photos`. When none
    is accepted, nothing is enrolled and the answer is 422 naming each photo's problem.
    Each photo offered is recorded in the lake (`vision/face_enrolments`: the verdict and
    the quality measured, no pixels); accepted ones become templates in LanceDB. The
    open-set threshold is recalibrated for the new gallery size."""
    faces = vision.require_faces()
    pictures = [vision.picture(image, f"body.images.{i}") for i, image in enumerate(body.images)]
    result = faces.enroll(body.employee_id, pictures, body.metadata.model_dump(exclude_none=True))
    if not result["templates_added"]:
        problems = [ErrorDetail(field=f"body.images.{p['index']}", problem=p["reason"])
                    for p in result["photos"]]
        raise InvalidRequest(NO_PHOTO_ACCEPTED.format(
            employee_id=body.employee_id,
            problems="; ".join(f"photo {p['index']}: {p['reason']}" for p in result["photos"])),
            problems)
    return EnrollResponse(employee_id=body.employee_id, enrolled=True, **{
        k: result[k] for k in ("photos", "templates_added", "templates_total", "calibration")})


@router.post("/recognize", response_model=RecognizeResponse,
             responses=error_responses("cv:read", invalid(RecognizeRequest, {},
                                                          "Neither image nor images"),
                                       unavailable()),
             summary="Recognise a camera frame or a burst of frames (permission cv:read)")
def recognize(body: Annotated[RecognizeRequest, Body(openapi_examples=examples_for(RecognizeRequest))],
              _: CvReader, vision: VisionDep, predictions: PredictionLogDep, events: Events,
              metrics: MetricsDep) -> RecognizeResponse:
    """One frame (`image`) or a burst from one camera (`images`, up to 10) as one decision:
    frames below the quality gate do not vote, the others vote weighted by their quality.
    A match needs the calibrated threshold for the gallery's size and a margin over the
    next person; otherwise the answer is `unknown` with the reason. Every answer is
    recorded in the lake's prediction log (erased with the person)."""
    started = time.perf_counter()
    faces = vision.require_faces()
    pictures = [vision.picture(image, "body.image" if body.image is not None else f"body.images.{i}")
                for i, image in enumerate(body.frames)]
    out = faces.recognize(pictures)
    attendance = None
    action = vision.settings.attendance_cameras.get(body.camera_id or "")
    if out["decision"] == "match" and action:
        attendance = land_attendance(events, metrics, out, action, body)
    if out["decision"] != "match":
        out["confidence"] = 0.0  # the calibrated confidence is of a match; none here
    outputs = {k: out[k] for k in ("decision", "employee_id", "confidence", "similarity",
                                   "margin", "runner_up", "reason", "frames_voted")}
    elapsed = time.perf_counter() - started
    prediction_id = predictions.record(
        model="face", version=faces.engine.model, endpoint="cv/face/recognize",
        inputs={"camera_id": body.camera_id, "frames": len(pictures),
                "images_sha256": [p.sha256 for p in pictures]},
        outputs=outputs, latency_ms=round(elapsed * 1000, 3))
    return RecognizeResponse(success=out["decision"] == "match", **{
        k: out[k] for k in ("decision", "employee_id", "confidence", "similarity", "margin",
                            "runner_up", "reason", "threshold", "frames", "frames_voted",
                            "per_frame")},
        recognition_time_ms=round(elapsed * 1000, 2), attendance_event=attendance,
        prediction_id=prediction_id)


def land_attendance(events, metrics, out: dict, action: str, body: RecognizeRequest):
    """The match as an attendance event of the camera (source `face`)."""
    def render(event_id: str, received: datetime) -> str:
        at = (body.timestamp or received).astimezone(timezone.utc)
        return json.dumps({"event_id": event_id, "employee_id": out["employee_id"],
                           "timestamp": at.isoformat().replace("+00:00", "Z"), "action": action,
                           "camera_id": body.camera_id,
                           "confidence": round(float(out["confidence"]), 4),
                           "source": "face"}) + "\n"

    return land(events, metrics, "attendance", None, render)


@router.get("/embedding/{employee_id}", response_model=EmbeddingResponse,
            responses=error_responses("cv:read", documented(
                NotFound, NOBODY_ENROLLED, "Nobody enrolled under that id",
                employee_id="XX-0000"), bad_id(), unavailable()),
            summary="An employee's face templates (permission cv:read)")
def embedding(employee_id: EmployeePath, _: CvReader, vision: VisionDep) -> EmbeddingResponse:
    """Every template of the employee: the embedding, the photo it came from (its SHA-256),
    its quality and the model that made it."""
    templates = vision.require_faces().templates(employee_id)
    if not templates:
        raise NotFound(NOBODY_ENROLLED.format(employee_id=employee_id))
    return EmbeddingResponse(employee_id=employee_id, templates=templates)


@router.delete("/{employee_id}", response_model=ErasureReceipt,
               responses=error_responses("cv:write", documented(
                   NotFound, NOBODY_ENROLLED, "Nobody enrolled under that id",
                   employee_id="XX-0000"), bad_id(), unavailable()),
               summary="Erase a person's face data everywhere, with a receipt (permission cv:write)")
def erase(employee_id: EmployeePath, principal: CvWriter, vision: VisionDep,
          predictions: PredictionLogDep) -> ErasureReceipt:
    """Removes the templates and the enrolment photos from LanceDB (every old version too),
    the enrolment records and the recognitions that named the person from the lake (and
    the files of the tables' old versions), then searches every store again: the receipt
    says what was removed, where and when, what was kept and why, and what the search
    found (nothing). Attendance events are kept: they are employment records, with no
    biometric data."""
    faces = vision.require_faces()
    if not faces.find_everywhere(employee_id)["found"]:
        raise NotFound(NOBODY_ENROLLED.format(employee_id=employee_id))
    with predictions.paused():  # the log's table is vacuumed: no write meanwhile
        receipt = faces.erase(employee_id, requested_by=principal.subject)
    return ErasureReceipt(**receipt)
