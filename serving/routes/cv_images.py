"""Image search, room inspection and anomaly detection (`/api/v1/cv`), all on CLIP.

- `image/index`, `image/search`: rooms, lost and found, amenities; by image, by words, or
  both (the words also match the descriptions, full-text, so a described item is found
  even where its photo is poor).
- `room/analyze`: tags, status, ready for a guest, cleaning minutes; lands a room
  inspection in the lake.
- `anomaly/detect`: fire, smoke, flood, intrusion; lands each alert in the lake.

Without a loadable CLIP model (no internet to download it, no local checkpoint) they
answer 503 with the reason.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body

from serving.core.error_docs import documented, error_responses, invalid
from serving.core.errors import Unavailable
from serving.deps import CvReader, CvWriter, Events, MetricsDep, VisionDep
from serving.routes.event_intake import land
from serving.schemas.cv_schemas import (AnomalyRequest, AnomalyResponse, IndexRequest,
                                        IndexResponse, RoomAnalyzeRequest, RoomAnalyzeResponse,
                                        SearchRequest, SearchResponse)
from serving.schemas.request_examples import examples_for
from serving.services.vision_models import MODEL_UNAVAILABLE

router = APIRouter(tags=["cv: images, rooms, anomalies"])

CLIP_NOT_LOADED = ("no CLIP model could be loaded (ViT-B-32/laion2b_s34b_b79k needs the "
                   "internet once, or set INNSIGHT_CLIP_CHECKPOINT to a local file)")

def unavailable():
    return documented(Unavailable, MODEL_UNAVAILABLE, "CLIP not loaded", model="CLIP",
                      reason=CLIP_NOT_LOADED)


def _iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


@router.post("/image/index", response_model=IndexResponse,
             responses=error_responses("cv:write", invalid(IndexRequest, {}, "No image"),
                                       unavailable()),
             summary="Index an image with its metadata (permission cv:write)")
def index_image(body: Annotated[IndexRequest, Body(openapi_examples=examples_for(IndexRequest))],
                _: CvWriter, vision: VisionDep) -> IndexResponse:
    """Stores the image and its metadata in the lake (`vision/images`) and its CLIP
    embedding and words in the LanceDB index. The same image with the same metadata is
    indexed once (`duplicate`: true, its id returned)."""
    images, _rooms, _anomalies = vision.require_clip()
    picture, content = vision.upload(body.image, "body.image")
    out = images.index(picture, body.metadata.model_dump(), content=content)
    return IndexResponse(image_id=out["image_id"], duplicate=out["duplicate"],
                         category=body.metadata.category, indexed_at=out["indexed_at"])


@router.post("/image/search", response_model=SearchResponse,
             responses=error_responses("cv:read", invalid(SearchRequest, {}, "Nothing to search by"),
                                       unavailable()),
             summary="Search images by image, by text, or both (permission cv:read)")
def search_images(body: Annotated[SearchRequest, Body(openapi_examples=examples_for(SearchRequest))],
                  _: CvReader, vision: VisionDep) -> SearchResponse:
    """The `top_k` best images, filtered by category and hotel. By image: CLIP similarity.
    By text: CLIP's text-to-image similarity fused with a full-text match of the
    descriptions and tags (reciprocal-rank fusion). Both: the three fused."""
    started = time.perf_counter()
    images, _rooms, _anomalies = vision.require_clip()
    picture = vision.picture(body.query_image, "body.query_image") if body.query_image else None
    hits = images.search(image=picture, text=body.query_text, top_k=body.top_k,
                         category=body.category, hotel=body.hotel, threshold=body.threshold)
    return SearchResponse(results=[{
        "image_id": h["image_id"], "similarity": h["score"], "vector_score": h.get("vector_score"),
        "text_score": h.get("text_score"),
        "metadata": {k: v for k, v in h.items()
                     if k not in ("image_id", "score", "vector_score", "text_score")}}
        for h in hits], search_time_ms=round((time.perf_counter() - started) * 1000, 2))


@router.post("/room/analyze", response_model=RoomAnalyzeResponse,
             responses=error_responses("cv:read", invalid(RoomAnalyzeRequest, {}, "No image"),
                                       unavailable()),
             summary="Inspect a room from a photo (permission cv:read)")
def analyze_room(body: Annotated[RoomAnalyzeRequest, Body(openapi_examples=examples_for(RoomAnalyzeRequest))],
                 principal: CvReader, vision: VisionDep, events: Events,
                 metrics: MetricsDep) -> RoomAnalyzeResponse:
    """Tags with confidences (bed made, towels, trash, stains, clutter ...), the status,
    whether the room is ready for a guest and the cleaning minutes it needs. Zero-shot from
    CLIP prompts until the room-inspection probe (trained on the lake's housekeeping
    verdicts, a Dagster asset) exists, then the probe. The result lands in the lake as a
    room inspection (inspector: `vision`)."""
    _images, rooms, _anomalies = vision.require_clip()
    picture = vision.picture(body.image, "body.image")
    out = rooms.analyze(picture)

    def render(event_id: str, received: datetime) -> str:
        return json.dumps({"inspection_id": event_id, "hotel": body.hotel,
                           "room_number": body.room_number, "inspected_at": _iso(received),
                           "camera_id": body.camera_id, "inspector_id": "vision",
                           "status": out["status"], "tags": json.dumps(out["tags"])}, ensure_ascii=False) + "\n"

    inspection = land(events, metrics, "room_status", None, render)
    return RoomAnalyzeResponse(hotel=body.hotel, room_number=body.room_number, **{
        k: out[k] for k in ("status", "tags", "ready_for_guest", "method")},
        estimated_cleaning_time_minutes=out["estimated_cleaning_minutes"], inspection=inspection)


@router.post("/anomaly/detect", response_model=AnomalyResponse,
             responses=error_responses("cv:read", invalid(AnomalyRequest, {}, "No image"),
                                       unavailable()),
             summary="Detect fire, smoke, flood or intrusion in a camera frame (permission cv:read)")
def detect_anomalies(body: Annotated[AnomalyRequest, Body(openapi_examples=examples_for(AnomalyRequest))],
                     _: CvReader, vision: VisionDep, events: Events,
                     metrics: MetricsDep) -> AnomalyResponse:
    """Each type asked for (default: all) with its confidence, severity, whether it is an
    alert, and the reason. Each alert lands in the lake as an anomaly alert."""
    _images, _rooms, anomalies = vision.require_clip()
    picture = vision.picture(body.image, "body.image")
    found = anomalies.detect(picture, body.detection_types)
    landed = []
    for a in (a for a in found if a["alert"]):
        def render(event_id: str, received: datetime, a=a) -> str:
            return json.dumps({"alert_id": event_id, "hotel": body.hotel,
                               "camera_id": body.camera_id, "detected_at": _iso(received),
                               "type": a["type"], "confidence": round(a["confidence"], 4),
                               "severity": a["severity"]}) + "\n"
        landed.append(land(events, metrics, "anomaly", uuid.uuid4().hex, render))
    return AnomalyResponse(anomalies=found, alerts=landed)
