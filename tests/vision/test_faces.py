"""Face attendance on the real models and real photos: enrolment and its refusals, open-set
recognition (a stranger is unknown, with the reason), burst votes, the threshold's growth
with the gallery, 1:1 verification, and erasure that leaves nothing in any store or version.

The models load once for the module (a FaceEngine shared by every test's service); each test
has its own home (LanceDB gallery, Delta lake, calibration)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import cv2
import numpy as np
import orjson
import polars as pl
import pytest
from PIL import Image

from base.settings import Settings
from lake.delta_tables import Lake
from lake.tables import FACE_ENROLMENTS, FACE_ERASURES, ML_PREDICTIONS
from vision.face_models import FaceEngine
from vision.faces import FaceService, FacesUnavailable
from vision.images import ImageLimits, Picture
from vision.open_set import calibrate

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "faces"
LIMITS = ImageLimits()


def photo(name: str) -> Picture:
    return LIMITS.decode((FIXTURES / f"{name}.jpg").read_bytes())


def encoded(bgr: np.ndarray) -> Picture:
    """A rendered image through the same decoding as an upload."""
    buf = io.BytesIO()
    Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)).save(buf, format="PNG")
    return LIMITS.decode(buf.getvalue())


def blurred(name: str, engine: FaceEngine) -> Picture:
    bgr = photo(name).bgr
    face = engine.detect(bgr)[0]
    # a blur in proportion to the face: what a moving head at a door camera does
    return encoded(cv2.GaussianBlur(bgr, (0, 0), face.face_pixels / 20))


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> FaceEngine:
    engine = FaceEngine("vectron", tmp_path_factory.mktemp("face-models"))
    assert engine.load(), engine.reason
    return engine


@pytest.fixture
def service(tmp_path: Path, engine: FaceEngine) -> FaceService:
    settings = Settings(home=tmp_path / "home")
    return FaceService.from_settings(settings, Lake.from_settings(settings), engine=engine)


def test_enrol_then_recognise_the_same_person(service: FaceService):
    out = service.enroll("EMP-OBAMA", [photo("obama"), photo("obama2")],
                         {"name": "B. Obama", "department": "front office", "hotel": "H1"})
    assert [p["accepted"] for p in out["photos"]] == [True, True]
    assert out["templates_added"] == 2 and out["templates_total"] == 2
    assert all(p["face_pixels"] >= service.gate.min_face_pixels for p in out["photos"])
    cal = out["calibration"]
    assert cal["enrolled_people"] == 1 and cal["expected_false_accept"] <= 0.001
    assert cal["genuine_mean"] > cal["threshold"]  # obama and obama2 match each other

    result = service.recognize([photo("obama3")])
    assert result["decision"] == "match" and result["employee_id"] == "EMP-OBAMA"
    assert result["similarity"] >= result["threshold"] and result["reason"] is None
    assert 0.99 <= result["confidence"] <= 1 and result["frames_voted"] == 1
    # the three photos of one person match pairwise, 1:1
    for a, b in (("obama", "obama2"), ("obama", "obama3"), ("obama2", "obama3")):
        assert service.match(photo(a), photo(b))["match"]

    templates = service.templates("EMP-OBAMA")
    assert len(templates) == 2 and len(templates[0]["embedding"]) == 512
    assert {t["photo_sha256"] for t in templates} == {photo("obama").sha256, photo("obama2").sha256}
    assert service.templates("EMP-NOBODY") is None
    assert service.people()[0]["name"] == "B. Obama"

    status = service.status()
    assert status["loaded"] and status["enrolled_people"] == 1 and status["templates"] == 2
    assert status["index"] == "exact" and status["threshold"] == cal["threshold"]
    rows = service.lake.read(FACE_ENROLMENTS.name)
    assert rows.height == 2 and rows["accepted"].all()

    again = service.enroll("EMP-OBAMA", [photo("obama")], {})
    assert again["photos"][0]["reason"] == "photo already enrolled for this person"


def test_a_stranger_is_unknown_with_the_reason(service: FaceService):
    service.enroll("EMP-OBAMA", [photo("obama"), photo("obama2"), photo("obama3")], {})
    result = service.recognize([photo("biden")])
    assert result["decision"] == "unknown" and result["employee_id"] is None
    assert result["similarity"] < result["threshold"]
    assert "below the threshold" in result["reason"] and "1 enrolled person" in result["reason"]
    verdict = service.match(photo("obama"), photo("biden"))
    assert not verdict["match"] and "below the 1:1 threshold" in verdict["reason"]
    # a photo of someone else is refused from Obama's enrolment: it would let Biden in
    wrong = service.enroll("EMP-OBAMA", [photo("biden")], {})
    assert "does not match this person's other photos" in wrong["photos"][0]["reason"]


def test_bad_photos_are_refused_with_their_reasons(service: FaceService, engine: FaceEngine):
    gradient = np.tile(np.linspace(0, 255, 640, dtype=np.uint8), (480, 1))
    landscape = cv2.merge([gradient, np.flipud(gradient), np.full_like(gradient, 90)])
    obama = photo("obama").bgr
    scale = 20 / engine.detect(obama)[0].face_pixels  # a 20 px face on a 640 px canvas
    small = cv2.resize(obama, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    canvas = np.full((640, 640, 3), 128, np.uint8)
    canvas[300:300 + small.shape[0], 300:300 + small.shape[1]] = small
    group = cv2.imread(str(Path(cv2.__file__).parent.parent / "insightface" / "data" / "images"
                           / "t1.jpg"))
    out = service.enroll("EMP-X", [encoded(landscape), encoded(canvas),
                                   blurred("obama", engine), encoded(group)], {})
    reasons = [p["reason"] for p in out["photos"]]
    assert reasons[0] == "no face"
    assert reasons[1].startswith("face too small") and out["photos"][1]["face_pixels"] < 32
    assert reasons[2].startswith("too blurred")
    assert reasons[3].startswith("several faces")
    assert out["templates_added"] == 0 and service.templates("EMP-X") is None
    rows = service.lake.read(FACE_ENROLMENTS.name).sort("enrolled_at")
    assert rows.height == 4 and not rows["accepted"].any()
    assert set(rows["reason"].to_list()) == set(reasons)
    with pytest.raises(ValueError):
        service.enroll("x' OR '1'='1", [photo("obama")], {})
    with pytest.raises(ValueError):
        service.enroll("EMP-X", [], {})


def test_a_burst_votes_with_the_frames_that_pass_the_gate(service: FaceService, engine):
    service.enroll("EMP-OBAMA", [photo("obama"), photo("obama2")], {})
    service.enroll("EMP-BIDEN", [photo("biden")], {})
    frames = [blurred("obama3", engine), photo("obama3"),
              encoded(cv2.flip(photo("obama3").bgr, 1))]
    result = service.recognize(frames)
    assert result["decision"] == "match" and result["employee_id"] == "EMP-OBAMA"
    assert result["frames"] == 3 and result["frames_voted"] == 2
    assert not result["per_frame"][0]["voted"]
    assert result["per_frame"][0]["reason"].startswith("too blurred")
    assert result["runner_up"] == "EMP-BIDEN" and result["margin"] >= service.min_margin

    only_blur = service.recognize([blurred("obama3", engine)])
    assert only_blur["decision"] == "unknown" and only_blur["frames_voted"] == 0
    assert only_blur["reason"].startswith("below the quality gate: too blurred")
    nothing = service.recognize([encoded(np.full((200, 200, 3), 40, np.uint8))])
    assert nothing["decision"] == "unknown" and nothing["reason"] == "no face"


def test_the_threshold_grows_with_the_gallery(service: FaceService):
    service.enroll("EMP-OBAMA", [photo("obama"), photo("obama2")], {})
    impostors = service.impostors()
    ids, vectors = service.gallery.all_vectors()
    rng = np.random.default_rng(0)
    # synthetic people drawn like the impostor faces (their mean direction and spread)
    mean, std = impostors.mean(axis=0), impostors.std(axis=0)

    def synthetic(n: int):
        v = (mean + rng.standard_normal((n, 512)) * std).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        return (np.concatenate([ids, [f"S{i}" for i in range(n)]]),
                np.concatenate([vectors, v]))

    cals = [calibrate(impostors, *synthetic(n), service.false_accept) for n in (0, 50, 2000)]
    people = [c.enrolled_people for c in cals]
    thresholds = [c.threshold for c in cals]
    assert people == [1, 51, 2001]
    assert thresholds[0] <= thresholds[1] < thresholds[2]
    assert all(c.expected_false_accept <= service.false_accept for c in cals)
    planned = [calibrate(impostors, ids, vectors, service.false_accept, people=n).threshold
               for n in (1, 100, 10_000, 100_000)]
    assert planned == sorted(planned) and planned[-1] > planned[0]


def _prediction(employee_id: str, endpoint: str = "cv/face/recognize") -> dict:
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    return {"prediction_id": os.urandom(8).hex(), "predicted_at": now, "predicted_date": now.date(),
            "model": "faces", "model_version": "insightface/vectron", "endpoint": endpoint,
            "correlation_id": "c", "client": "door-1", "inputs": "{}",
            "outputs": orjson.dumps({"decision": "match", "employee_id": employee_id}).decode(),
            "latency_ms": 90.0}


def test_erase_leaves_nothing_in_any_store_or_version(service: FaceService):
    service.enroll("EMP_OB", [photo("obama"), photo("obama2")], {"name": "B. Obama"})
    service.enroll("EMP_OB", [photo("obama3")], {})
    service.enroll("EMP-BIDEN", [photo("biden")], {})
    lake = service.lake
    lake.ensure(ML_PREDICTIONS.name, ML_PREDICTIONS.schema, list(ML_PREDICTIONS.partition_by))
    lake.append(ML_PREDICTIONS.name, pl.DataFrame(
        [_prediction("EMP_OB"), _prediction("EMP_OB"), _prediction("EMPXOB"),
         _prediction("EMP-BIDEN"), _prediction("EMP_OB", endpoint="ml/cancellation")],
        schema=ML_PREDICTIONS.schema))
    service.recognize([photo("obama3")])  # the mirror and calibration exist before the erase

    before = service.find_everywhere("EMP_OB")
    by_table = {s["table"]: s["rows"] for s in before["stores"]}
    # summed over every version: the latest holds 3 rows, older versions hold some again
    assert by_table["face_templates"] >= 3 and by_table["face_photos"] >= 3
    assert by_table[FACE_ENROLMENTS.name] == 3 and by_table[ML_PREDICTIONS.name] == 2

    receipt = service.erase("EMP_OB", requested_by="hr:alice")
    removed = {r["table"]: r for r in receipt["removed"]}
    assert removed["face_templates"]["rows"] == 3 and removed["face_photos"]["rows"] == 3
    assert removed["face_templates"]["versions_removed"] >= 2
    assert removed[FACE_ENROLMENTS.name]["rows"] == 3
    assert removed[FACE_ENROLMENTS.name]["files_vacuumed"] >= 2
    assert removed[ML_PREDICTIONS.name]["rows"] == 2  # not EMPXOB's (an _ is not a wildcard)
    assert receipt["kept"][0]["table"] == "bronze/attendance_events"
    assert receipt["verified"]["found"] == 0

    after = service.find_everywhere("EMP_OB")
    assert after["found"] == 0
    assert all(s.get("deleted_rows_in_files", 0) == 0 for s in after["stores"])
    assert all(s.get("versions_checked", 1) >= 1 for s in after["stores"])
    # not even the bytes: no file of the gallery holds the photos' digests or the id
    digests = [photo(n).sha256.encode() for n in ("obama", "obama2", "obama3")]
    for path in Path(service.gallery.db.uri).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(d in data for d in digests) and b"EMP_OB" not in data, path

    # everyone else is untouched
    left = lake.read(ML_PREDICTIONS.name)
    assert sorted(orjson.loads(o)["employee_id"] for o in left["outputs"]) == \
        ["EMP-BIDEN", "EMPXOB", "EMP_OB"]  # the last one is not a face recognition
    assert service.recognize([photo("biden")])["employee_id"] == "EMP-BIDEN"
    gone = service.recognize([photo("obama3")])
    assert gone["decision"] == "unknown" and gone["candidate"] == "EMP-BIDEN"
    assert service.templates("EMP_OB") is None
    assert service.status()["enrolled_people"] == 1
    receipts = lake.read(FACE_ERASURES.name)
    assert receipts["receipt_id"].to_list() == [receipt["receipt_id"]]
    assert orjson.loads(receipts["receipt"][0])["requested_by"] == "hr:alice"


def test_a_pack_that_does_not_load_is_a_status(tmp_path: Path):
    settings = Settings(home=tmp_path / "home", face_model_pack="no-such-pack",
                        face_model_root=tmp_path / "packs")
    service = FaceService.from_settings(settings, Lake.from_settings(settings))
    status = service.status()
    assert status["loaded"] is False and "no-such-pack" in status["reason"]
    assert status["enrolled_people"] == 0 and status["threshold"] is None
    with pytest.raises(FacesUnavailable):
        service.recognize([photo("obama")])
