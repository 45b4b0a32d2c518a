"""Face attendance: the public API the routes and assets call (``FaceService``).

Built once per process with ``FaceService.from_settings(settings, lake)``; the models load
lazily on first use (or on ``load()``), and a pack that does not load is a status with a
reason (``status()``; the other methods raise ``FacesUnavailable``, a 503 for the routes).

Stores: templates and enrolment photos in LanceDB (vision.face_gallery), one lake row per
photo offered at enrolment (``vision/face_enrolments``, no pixels), the calibration as JSON
beside the gallery, erasure receipts in ``vision/face_erasures``. Every return value is
JSON-able (plain dicts, lists, str, float, int, bool, None).
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import polars as pl

from lake.delta_tables import Lake
from lake.tables import FACE_ENROLMENTS, FACE_ERASURES, ML_PREDICTIONS
from vision.face_gallery import FaceGallery, Template
from vision.face_models import FaceEngine, QualityGate
from vision.images import Picture
from vision.open_set import (Calibration, FrameResult, calibrate, check_frame, decide, fuse,
                             impostor_embeddings)

EMPLOYEE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
MAX_PHOTOS = 10
MAX_FRAMES = 10
ATTENDANCE = "bronze/attendance_events"
CALIBRATION_FILE = "face_calibration.json"


class FacesUnavailable(RuntimeError):
    """The face models did not load (the message says why)."""


def valid_employee_id(employee_id: str) -> str:
    if not isinstance(employee_id, str) or not EMPLOYEE_ID.match(employee_id):
        raise ValueError("employee_id must be 1-64 characters of letters, digits and _ . : -")
    return employee_id


def _like_literal(text: str) -> str:
    # _ and % are LIKE wildcards; the id's other characters need no escaping (validated).
    return text.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")


class FaceService:
    def __init__(self, engine: FaceEngine, gallery: FaceGallery, lake: Lake, cache_dir: Path,
                 calibration_path: Path, false_accept: float = 0.001, min_margin: float = 0.05,
                 gate: QualityGate | None = None):
        self.engine = engine
        self.gallery = gallery
        self.lake = lake
        self.cache_dir = Path(cache_dir)
        self.calibration_path = Path(calibration_path)
        self.false_accept = false_accept
        self.min_margin = min_margin
        self.gate = gate or QualityGate()
        self._write = threading.RLock()  # one enrolment or erasure at a time
        self._impostors: np.ndarray | None = None
        self._calibration: Calibration | None = None
        self._calibrated_at: int | None = None

    @classmethod
    def from_settings(cls, settings, lake: Lake, engine: FaceEngine | None = None) -> "FaceService":
        """``engine``: an already loaded one to share (tests, several services)."""
        cache = Path(settings.home) / "models" / "faces"
        vectors = settings.vectors_root
        local = "://" not in vectors
        calibration = (Path(vectors) if local else cache) / CALIBRATION_FILE
        engine = engine or FaceEngine(settings.face_model_pack, cache, settings.face_model_root)
        return cls(engine, FaceGallery(vectors), lake, cache, calibration,
                   settings.face_false_accept, settings.face_min_margin)

    # -- models and calibration -----------------------------------------------------------
    def load(self) -> bool:
        return self.engine.load()

    def _engine(self) -> FaceEngine:
        if not self.engine.load():
            raise FacesUnavailable(self.engine.reason)
        return self.engine

    def impostors(self) -> np.ndarray:
        if self._impostors is None:
            self._impostors = impostor_embeddings(self._engine(), self.cache_dir)
        return self._impostors

    def recalibrate(self) -> Calibration:
        ids, vectors = self.gallery.all_vectors()
        cal = calibrate(self.impostors(), ids, vectors, self.false_accept, self.engine.model)
        cal.save(self.calibration_path)
        self._calibration, self._calibrated_at = cal, None
        return cal

    def calibration(self) -> Calibration:
        version = self.gallery._version()  # counting people scans the table: once a version
        if self._calibration is not None and self._calibrated_at == version:
            return self._calibration
        cal = self._calibration or Calibration.load(self.calibration_path)
        if cal is None or cal.model != self.engine.model \
                or cal.enrolled_people != self.gallery.count_people():
            # Missing, of another model, or another process changed the gallery.
            with self._write:
                cal = self.recalibrate()
        self._calibration, self._calibrated_at = cal, version
        return cal

    # -- API ------------------------------------------------------------------------------
    def status(self) -> dict:
        loaded = self.engine.load()
        cal = self.calibration() if loaded else (self._calibration
                                                 or Calibration.load(self.calibration_path))
        return {"loaded": loaded, "model": self.engine.model, "reason": self.engine.reason,
                "enrolled_people": self.gallery.count_people(),
                "templates": self.gallery.count_templates(),
                "threshold": cal.threshold if cal else None,
                "expected_false_accept": cal.expected_false_accept if cal else None,
                "index": self.gallery.mode}

    def enroll(self, employee_id: str, pictures: list[Picture], metadata: dict | None = None) -> dict:
        """Enrol 1-10 photos of one person. A photo is refused (with its reason) when the
        gate refuses it, when it was already enrolled for this person, or when its face does
        not match the person's other photos (1:1 threshold): a wrong photo would let a
        stranger in. Returns {employee_id, photos: [{index, accepted, reason, det_score,
        face_pixels, sharpness}], templates_added, templates_total, calibration}."""
        valid_employee_id(employee_id)
        if not 1 <= len(pictures) <= MAX_PHOTOS:
            raise ValueError(f"send 1 to {MAX_PHOTOS} photos, not {len(pictures)}")
        engine = self._engine()
        now = datetime.now(timezone.utc)
        with self._write:
            one_to_one = self.calibration().threshold_1to1
            existing = {t["photo_sha256"]: np.asarray(t["vector"], np.float32)
                        for t in self.gallery.templates(employee_id)}
            own = list(existing.values())
            photos, accepted, rows = [], [], []
            for i, pic in enumerate(pictures):
                faces = engine.detect(pic.bgr)
                face, reason = self.gate.check(faces, enrolment=True)
                if reason is None and (pic.sha256 in existing
                                       or any(t.photo_sha256 == pic.sha256 for t in accepted)):
                    reason = "photo already enrolled for this person"
                if reason is None and own:
                    sim = float(np.max(np.stack(own) @ face.embedding))
                    if sim < one_to_one:
                        reason = (f"the face does not match this person's other photos "
                                  f"(similarity {sim:.2f} < {one_to_one:.2f})")
                if reason is None:
                    own.append(face.embedding)
                    accepted.append(Template(employee_id, face.embedding, face.det_score,
                                             face.face_pixels, face.sharpness, pic.sha256,
                                             _encode(pic), pic.format))
                quality = face.quality() if face else {"det_score": None, "face_pixels": None,
                                                       "sharpness": None}
                photos.append({"index": i, "accepted": reason is None, "reason": reason,
                               **quality})
                rows.append({"enrolment_id": uuid.uuid4().hex, "employee_id": employee_id,
                             "photo_sha256": pic.sha256, "accepted": reason is None,
                             "reason": reason, "det_score": quality["det_score"],
                             "face_pixels": quality["face_pixels"],
                             "sharpness": quality["sharpness"], "model": engine.model,
                             "enrolled_at": now})
            self.lake.ensure(FACE_ENROLMENTS.name, FACE_ENROLMENTS.schema)
            self.lake.append(FACE_ENROLMENTS.name,
                             pl.DataFrame(rows, schema=FACE_ENROLMENTS.schema))
            self.gallery.add(accepted, engine.model, metadata or {})
            cal = self.recalibrate() if accepted else self.calibration()
        return {"employee_id": employee_id, "photos": photos, "templates_added": len(accepted),
                "templates_total": len(existing) + len(accepted),
                "calibration": _calibration_dict(cal)}

    def recognize(self, pictures: list[Picture]) -> dict:
        """1:N open-set recognition of a burst of 1-10 frames of one camera.

        Returns {decision: match|unknown, employee_id, confidence, similarity, margin,
        runner_up, reason, frames, frames_voted, per_frame, threshold, candidate,
        recognition_time_ms}. ``confidence`` is calibrated on strangers: 1 - the chance
        that someone not enrolled would score at least this similarity against one of the N
        enrolled people (the impostor fit), so 0.999 at the threshold for a 0.001 target.
        ``similarity`` is the quality-weighted mean over the frames that voted."""
        if not 1 <= len(pictures) <= MAX_FRAMES:
            raise ValueError(f"send 1 to {MAX_FRAMES} frames, not {len(pictures)}")
        engine = self._engine()
        started = time.perf_counter()
        cal = self.calibration()
        frames: list[FrameResult] = [
            check_frame(i, engine.detect(pic.bgr), self.gate, self.gallery.search)
            for i, pic in enumerate(pictures)]
        decision = decide(frames, fuse(frames, self.gallery.vectors_of), cal, self.min_margin)
        out = decision.as_dict()
        out["recognition_time_ms"] = round((time.perf_counter() - started) * 1000, 2)
        return out

    def templates(self, employee_id: str) -> list[dict] | None:
        """The person's templates (None: nobody enrolled under that id): template_id,
        photo_sha256, quality {det_score, face_pixels, sharpness}, model, enrolled_at,
        embedding (512 floats)."""
        valid_employee_id(employee_id)
        rows = self.gallery.templates(employee_id)
        if not rows:
            return None
        return [{"template_id": r["template_id"], "photo_sha256": r["photo_sha256"],
                 "quality": {"det_score": r["det_score"], "face_pixels": r["face_pixels"],
                             "sharpness": r["sharpness"]},
                 "model": r["model"], "enrolled_at": r["enrolled_at"].isoformat(),
                 "embedding": [float(x) for x in r["vector"]]} for r in rows]

    def people(self) -> list[dict]:
        return self.gallery.people()

    def match(self, a: Picture, b: Picture) -> dict:
        """1:1 verification (an ID document's photo against a selfie): the largest face of
        each, its similarity against the 1:1 threshold (impostor fit at face_false_accept
        with N = 1). Returns {match, similarity, threshold, reason, faces: [quality a,
        quality b]}; a missing or poor face answers match False with the reason."""
        engine = self._engine()
        cal = self.calibration()
        found, reasons = [], []
        for name, pic in (("first", a), ("second", b)):
            face, reason = self.gate.check(engine.detect(pic.bgr), enrolment=False)
            # A printed ID photo is small: only a missing face or a bad detection refuses.
            if face is None or (reason and reason.startswith("detector")):
                reasons.append(f"{name} image: {reason}")
            found.append(face)
        faces = [f.quality() if f else None for f in found]
        if reasons:
            return {"match": False, "similarity": None, "threshold": cal.threshold_1to1,
                    "reason": "; ".join(reasons), "faces": faces}
        sim = float(found[0].embedding @ found[1].embedding)
        ok = sim >= cal.threshold_1to1
        return {"match": ok, "similarity": round(sim, 4), "threshold": cal.threshold_1to1,
                "reason": None if ok else
                f"similarity {sim:.2f} below the 1:1 threshold {cal.threshold_1to1:.2f}",
                "faces": faces}

    # -- erasure ------------------------------------------------------------------------
    def _prediction_predicate(self, employee_id: str) -> str:
        needle = _like_literal(f'"employee_id":"{employee_id}"')
        return f"endpoint LIKE 'cv/face/%' AND outputs LIKE '%{needle}%' ESCAPE '\\'"

    def erase(self, employee_id: str, requested_by: str) -> dict:
        """Remove a person's face data everywhere it is kept, old versions included; the
        receipt (also appended to vision/face_erasures) lists what was removed, what was
        kept and why, and what find_everywhere finds afterwards (nothing)."""
        valid_employee_id(employee_id)
        with self._write:
            removed = self.gallery.erase(employee_id)
            for table, predicate in (
                    (FACE_ENROLMENTS.name, f"employee_id = '{employee_id}'"),
                    (ML_PREDICTIONS.name, self._prediction_predicate(employee_id))):
                done = self.lake.erase(table, predicate)
                removed.append({"store": "lake", "table": table, "rows": done["rows_deleted"],
                                "files_vacuumed": done["files_vacuumed"]})
            verified = self.find_everywhere(employee_id)
            erased_at = datetime.now(timezone.utc)
            receipt = {
                "receipt_id": uuid.uuid4().hex, "employee_id": employee_id,
                "erased_at": erased_at.isoformat(), "requested_by": requested_by,
                "removed": removed,
                "kept": [{"store": "lake", "table": ATTENDANCE,
                          "why": "check-in/out times are employment records and hold no "
                                 "biometric data"},
                         {"store": "lake", "table": FACE_ERASURES.name,
                          "why": "this receipt: proof of the erasure, no biometric data"}],
                "verified": verified}
            self.lake.ensure(FACE_ERASURES.name, FACE_ERASURES.schema)
            self.lake.append(FACE_ERASURES.name, pl.DataFrame([{
                "receipt_id": receipt["receipt_id"], "employee_id": employee_id,
                "erased_at": erased_at, "requested_by": requested_by,
                "receipt": json.dumps(receipt, sort_keys=True)}], schema=FACE_ERASURES.schema))
            if self.engine.loaded:
                self.recalibrate()
            else:
                self._calibration = None
        return receipt

    def find_everywhere(self, employee_id: str) -> dict:
        """The person's rows in every store: each LanceDB table at every version, and every
        parquet file under the lake tables (read directly, so files of old versions count).
        Returns {employee_id, found: total rows, stores: [...]}."""
        valid_employee_id(employee_id)
        stores = self.gallery.find(employee_id)
        needle = f'"employee_id":"{employee_id}"'
        for table, rows_of in (
                (FACE_ENROLMENTS.name, lambda df: df.filter(pl.col("employee_id") == employee_id)),
                (ML_PREDICTIONS.name, lambda df: df.filter(
                    pl.col("endpoint").str.starts_with("cv/face/")
                    & pl.col("outputs").str.contains(needle, literal=True)))):
            files = _parquet_files(self.lake, table)
            hits = {}
            for f in files:
                n = rows_of(pl.read_parquet(f, columns=_columns(table))).height
                if n:
                    hits[f] = n
            stores.append({"store": "lake", "table": table, "files_checked": len(files),
                           "rows": sum(hits.values()),
                           "files_with_rows": sorted(str(Path(f).name) for f in hits)})
        return {"employee_id": employee_id, "found": sum(s["rows"] for s in stores),
                "stores": stores}


def _columns(table: str) -> list[str]:
    return ["employee_id"] if table == FACE_ENROLMENTS.name else ["endpoint", "outputs"]


def _parquet_files(lake: Lake, table: str) -> list[str]:
    """Every parquet file under the table's folder, whatever version references it."""
    uri = lake.uri(table)
    if "://" in uri and not uri.startswith("file://"):
        import pyarrow.fs as pafs

        fs, root = pafs.FileSystem.from_uri(uri)
        infos = fs.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True))
        return [f"{uri.split('://')[0]}://{i.path}" for i in infos
                if i.path.endswith(".parquet") and "/_delta_log/" not in i.path]
    root = Path(uri.removeprefix("file://"))
    return sorted(str(p) for p in root.rglob("*.parquet") if "_delta_log" not in p.parts)


def _encode(pic: Picture) -> bytes:
    """The photo as stored: the decoded pixels re-encoded as PNG (lossless; the upload's
    bytes are not kept by Picture)."""
    import io

    buf = io.BytesIO()
    pic.pil.save(buf, format="PNG", compress_level=1)  # fast; size matters less than time here
    return buf.getvalue()


def _calibration_dict(cal: Calibration) -> dict:
    return {k: getattr(cal, k) for k in (
        "threshold", "expected_false_accept", "enrolled_people", "impostor_faces",
        "impostor_mean", "impostor_std", "threshold_1to1", "genuine_mean", "genuine_min",
        "expected_false_reject", "computed_at")}
