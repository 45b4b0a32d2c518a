"""The vision models of the API, each behind its setting, loaded once in the serving
process (``load()``, from the app's lifespan): the face pack (insightface), CLIP (open_clip:
image search, room inspection, anomalies) and Tesseract (documents).

A model that cannot be loaded is not an error of the process: its endpoints answer 503
with the reason (``require``), and ``/api/v1/cv/health`` says which and why.
"""

from __future__ import annotations

import base64
import binascii
import gc
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from base.settings import Settings
from lake.delta_tables import Lake
from serving.core.errors import NOT_LOADED_YET, ErrorDetail, InvalidRequest, Message, Unavailable
from vision import documents
from vision.anomalies import AnomalyDetector
from vision.clip_models import ClipModel
from vision.faces import FaceService
from vision.image_index import ImageIndex
from vision.images import ImageLimits, ImageRejected, Picture
from vision.room_inspection import RoomInspector

log = logging.getLogger("innsight.serving")

MODEL_UNAVAILABLE = Message("the {model} model is unavailable: {reason}")
CLIP_CAPABILITIES = "image search, room analysis and anomaly detection"


@dataclass
class Vision:
    """What the vision routes use: the models, the image limits, and the stores."""

    settings: Settings
    lake: Lake
    limits: ImageLimits
    faces: FaceService
    clip: ClipModel | None = None
    images: ImageIndex | None = None
    rooms: RoomInspector | None = None
    anomalies: AnomalyDetector | None = None
    _loaded: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def from_settings(cls, settings: Settings, lake: Lake) -> "Vision":
        return cls(settings, lake, ImageLimits.from_settings(settings),
                   FaceService.from_settings(settings, lake))

    def load(self) -> None:
        """Load the face models now (local files, a second or two) and CLIP in the
        background (a download where there is internet): the API answers meanwhile, its
        CLIP endpoints with 503 "still loading". Each failure becomes its status."""
        self.faces.load()
        threading.Thread(target=self._load_clip, name="clip-loader", daemon=True).start()

    def _load_clip(self) -> None:
        s = self.settings
        try:
            clip = ClipModel.from_settings(s)
            if clip.status()["loaded"]:
                self.images = ImageIndex.from_settings(s, self.lake, clip)
                self.rooms = RoomInspector(clip, s.room_probe_path)
                self.anomalies = AnomalyDetector(clip)
            self.clip = clip
            log.info("vision models loaded", extra={"fields": {
                k: v.get("status") for k, v in self.status().items()}})
        finally:
            # what it built and imported joins the long-lived objects out of the cyclic GC
            # (see app.py): left in, each full pass over them stalled requests for ~90 ms
            gc.freeze()
            self._loaded.set()

    def wait_loaded(self, timeout: float | None = None) -> bool:
        """True once CLIP is loaded or known not to be (for tests and the CLI)."""
        return self._loaded.wait(timeout)

    # -- status ----------------------------------------------------------------------

    def status(self) -> dict[str, dict[str, Any]]:
        """faces, clip, ocr: {status, model, reason, details}."""
        faces = self.faces.status()
        clip = self.clip.status() if self.clip is not None else {
            "loaded": False, "model": self.settings.clip_model, "reason": NOT_LOADED_YET}
        ocr = documents.tesseract_status()
        return {
            "faces": _status(faces, faces.get("model"), faces),
            "clip": _status(clip, clip.get("model"), {
                k: v for k, v in clip.items() if k not in ("loaded", "model", "reason")}),
            "ocr": _status(ocr, "tesseract " + str(ocr.get("version") or ""), {
                "languages": ocr.get("languages", [])}),
        }

    # -- for the routes ------------------------------------------------------------------

    def require_faces(self) -> FaceService:
        if not self.faces.load():  # loaded once; then a flag
            raise Unavailable(MODEL_UNAVAILABLE.format(model="face",
                                                       reason=self.faces.engine.reason))
        return self.faces

    def require_clip(self) -> tuple[ImageIndex, RoomInspector, AnomalyDetector]:
        if self.images is None or self.rooms is None or self.anomalies is None:
            status = self.clip.status() if self.clip is not None else {"reason": NOT_LOADED_YET}
            raise Unavailable(MODEL_UNAVAILABLE.format(model="CLIP", reason=status["reason"]))
        return self.images, self.rooms, self.anomalies

    def require_ocr(self) -> None:
        status = documents.tesseract_status()
        if not status["available"]:
            raise Unavailable(MODEL_UNAVAILABLE.format(model="OCR", reason=status["reason"]))

    def picture(self, data: str, field: str) -> Picture:
        """A base64 image of the request, decoded and checked; 422 naming the field."""
        return decode(data, self.limits, field)[0]

    def upload(self, data: str, field: str) -> tuple[Picture, bytes]:
        """The checked image and the file's bytes (kept as sent)."""
        return decode(data, self.limits, field)


def _status(raw: dict, model: str | None, details: dict) -> dict[str, Any]:
    loaded = bool(raw.get("loaded", raw.get("available")))
    return {"status": "loaded" if loaded else "unavailable", "model": model,
            "reason": None if loaded else raw.get("reason"),
            "details": {k: v for k, v in details.items()
                        if k not in ("loaded", "available", "model", "reason")}}


def decode(data: str, limits: ImageLimits, field: str) -> tuple[Picture, bytes]:
    """base64 (with or without a data: prefix) -> a checked Picture; 422 otherwise."""
    if data.startswith("data:"):
        data = data.partition(",")[2]
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise _bad(field, "not valid base64: send the image file's bytes base64-encoded") from None
    try:
        return limits.decode(raw), raw
    except ImageRejected as e:
        raise _bad(field, str(e)) from None


def _bad(field: str, problem: str) -> InvalidRequest:
    return InvalidRequest(f"invalid image in {field}: {problem}",
                          [ErrorDetail(field=field, problem=problem)])
