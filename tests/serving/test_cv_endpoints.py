"""The vision endpoints on the served platform, with the real face models on real photos,
a tiny open_clip checkpoint built by the tests, and real Tesseract: enrol, recognise at a
staff entrance (an attendance event lands), erase (found nowhere after), bad images
refused with nothing stored, image search, room inspections and anomaly alerts landed
in the lake, documents."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import polars as pl
import pytest
from PIL import Image

from base.settings import REPO_ROOT
from lake.tables import FACE_ENROLMENTS
from tests.serving.conftest import STAFF_DOOR, bearer, services

CV = "/api/v1/cv"
FACES = REPO_ROOT / "tests" / "fixtures" / "faces"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def photo(name: str) -> str:
    return b64((FACES / name).read_bytes())


def png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def no_face() -> bytes:
    """A landscape: sky over a field, no face."""
    image = Image.new("RGB", (640, 480), (120, 170, 230))
    image.paste((70, 140, 60), (0, 300, 640, 480))
    return png(image)


@pytest.fixture(scope="module")
def admin(api_settings) -> dict[str, str]:
    return bearer(api_settings, "admin", rate_limit="100000/minute")


def landed_event(client, settings, folder: str, id_field: str, event_id: str) -> tuple[Path, dict]:
    """The API's event spool rolled now: the landing file that holds the event, and its row."""
    services(client).events.roll()
    for path in sorted((settings.landing_dir / folder).glob("*-api-*.jsonl")):
        for line in path.read_text().splitlines():
            if json.loads(line).get(id_field) == event_id:
                return path, json.loads(line)
    raise AssertionError(f"{event_id} landed nowhere in {folder}")


def enrolment_rows(home: Path, employee_id: str) -> int:
    from lake.delta_tables import Lake

    lake = Lake(str(home / "lake"))
    if not lake.exists(FACE_ENROLMENTS.name):
        return 0
    return lake.read(FACE_ENROLMENTS.name).filter(pl.col("employee_id") == employee_id).height


def test_enrol_recognise_at_the_staff_door_then_erase_everywhere(client, admin, api_settings):
    person = "EMP-CV-1"
    r = client.post(f"{CV}/face/enroll", headers=admin, json={
        "employee_id": person, "images": [photo("obama.jpg"), photo("obama3.jpg"), b64(no_face())],
        "metadata": {"name": "Test Person", "department": "front_office"}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [p["accepted"] for p in body["photos"]] == [True, True, False]
    assert body["photos"][2]["reason"] == "no face"
    assert body["templates_added"] == 2 and body["templates_total"] == 2
    cal = body["calibration"]
    assert 0 < cal["expected_false_accept"] <= api_settings.face_false_accept
    assert enrolment_rows(api_settings.home, person) == 3  # the refused photo is recorded too

    # A frame of the staff entrance: a match, and an attendance event in the landing zone.
    r = client.post(f"{CV}/face/recognize", headers=admin,
                    json={"image": photo("obama2.jpg"), "camera_id": STAFF_DOOR})
    assert r.status_code == 200, r.text
    seen = r.json()
    assert (seen["decision"], seen["employee_id"], seen["success"]) == ("match", person, True)
    assert seen["similarity"] >= seen["threshold"] and 0 < seen["confidence"] <= 1
    landed, event = landed_event(client, api_settings, "attendance", "event_id",
                                 seen["attendance_event"]["event_id"])
    assert (event["employee_id"], event["action"], event["camera_id"], event["source"]) == (
        person, "check_in", STAFF_DOOR, "face")
    # The same face at a lobby camera: recognised, no attendance.
    r = client.post(f"{CV}/face/recognize", headers=admin,
                    json={"images": [photo("obama2.jpg"), photo("obama3.jpg")], "camera_id": "lobby"})
    assert r.json()["employee_id"] == person and r.json()["attendance_event"] is None
    assert r.json()["frames_voted"] == 2

    templates = client.get(f"{CV}/face/embedding/{person}", headers=admin).json()["templates"]
    assert len(templates) == 2 and all(len(t["embedding"]) == 512 for t in templates)

    r = client.delete(f"{CV}/face/{person}", headers=admin)
    assert r.status_code == 200, r.text
    receipt = r.json()
    removed = {(x["store"], x["table"]): x["rows"] for x in receipt["removed"]}
    assert removed[("lancedb", "face_templates")] == 2
    assert removed[("lake", FACE_ENROLMENTS.name)] == 3
    assert removed[("lake", "serving/ml_predictions")] >= 2  # both recognitions, flushed first
    assert receipt["verified"]["found"] == 0
    # Searched again, independently of the receipt: every store, every version.
    assert services(client).vision.faces.find_everywhere(person)["found"] == 0
    assert enrolment_rows(api_settings.home, person) == 0
    assert client.get(f"{CV}/face/embedding/{person}", headers=admin).status_code == 404
    assert client.delete(f"{CV}/face/{person}", headers=admin).status_code == 404
    r = client.post(f"{CV}/face/recognize", headers=admin, json={"image": photo("obama2.jpg")})
    assert r.json()["decision"] == "unknown" and r.json()["employee_id"] != person
    assert landed.exists()  # attendance is an employment record: kept, and the receipt says so
    assert any(k["table"] == "bronze/attendance_events" for k in receipt["kept"])


def test_bad_images_are_refused_naming_the_problem_and_nothing_is_stored(client, admin, api_settings):
    person = "EMP-CV-BAD"
    jpeg = (FACES / "obama.jpg").read_bytes()
    cases = {
        "not an image": (b64(b"%PDF-1.4 not a picture"), "not an image"),
        "truncated JPEG": (b64(jpeg[: len(jpeg) // 2]), "truncated"),
        "1x1": (b64(png(Image.new("RGB", (1, 1)))), "1x1"),
        "60 megapixels": (b64(png(Image.new("RGB", (10_000, 6_000)))), "megapixels"),
        "over the size limit": (b64(b"\xff\xd8" + bytes(api_settings.image_max_bytes)), "limit is"),
        "not base64": ("this is not base64!", "base64"),
    }
    for case, (image, says) in cases.items():
        r = client.post(f"{CV}/face/enroll", headers=admin,
                        json={"employee_id": person, "images": [photo("obama.jpg"), image]})
        assert r.status_code == 422, (case, r.text)
        body = r.json()
        assert says in body["message"], (case, body["message"])
        assert body["details"][0]["field"] == "body.images.1", (case, body)
    assert client.get(f"{CV}/face/embedding/{person}", headers=admin).status_code == 404
    assert enrolment_rows(api_settings.home, person) == 0
    # Recognition refuses the same way.
    r = client.post(f"{CV}/face/recognize", headers=admin, json={"image": cases["1x1"][0]})
    assert r.status_code == 422 and "1x1" in r.json()["message"]


def test_a_role_without_cv_write_cannot_enrol_or_erase(client, api_settings):
    housekeeping = bearer(api_settings, "housekeeping")
    r = client.post(f"{CV}/face/enroll", headers=housekeeping,
                    json={"employee_id": "E-HK", "images": [photo("obama.jpg")]})
    assert r.status_code == 403 and "cv:write" in r.json()["message"]
    assert client.delete(f"{CV}/face/E-HK", headers=housekeeping).status_code == 403
    r = client.post(f"{CV}/face/recognize", headers=housekeeping, json={"image": photo("biden.jpg")})
    assert r.status_code == 200, r.text


def test_image_search_finds_the_described_item_and_filters(client, admin):
    from tests.vision.tiny_clip import room_png, shape_png

    hotel = services(client).properties.hotels[0].name
    indexed = {}
    for name, image, meta in (
            ("wallet", shape_png("black", "square"), {"category": "lost_and_found",
                                                      "description": "black leather wallet with a bank card"}),
            ("umbrella", shape_png("red", "circle"), {"category": "lost_and_found",
                                                      "description": "red umbrella, folding"}),
            ("room", room_png(True), {"category": "room", "room_number": "101",
                                      "description": "made bed, clean towels"})):
        r = client.post(f"{CV}/image/index", headers=admin,
                        json={"image": b64(image), "metadata": {"hotel": hotel, **meta}})
        assert r.status_code == 200, r.text
        indexed[name] = r.json()["image_id"]
    again = client.post(f"{CV}/image/index", headers=admin, json={
        "image": b64(shape_png("black", "square")), "metadata": {
            "hotel": hotel, "category": "lost_and_found",
            "description": "black leather wallet with a bank card"}}).json()
    assert again["duplicate"] and again["image_id"] == indexed["wallet"]

    r = client.post(f"{CV}/image/search", headers=admin,
                    json={"query_text": "black leather wallet", "category": "lost_and_found",
                          "hotel": hotel, "top_k": 5})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert results[0]["image_id"] == indexed["wallet"] and results[0]["text_score"]
    assert all(x["metadata"]["category"] == "lost_and_found" for x in results)
    r = client.post(f"{CV}/image/search", headers=admin,
                    json={"query_image": b64(room_png(True)), "category": "room", "top_k": 1})
    assert [x["image_id"] for x in r.json()["results"]] == [indexed["room"]]


def test_room_analysis_and_anomalies_land_in_the_lake(client, admin, api_settings):
    from lake.ingest import LandingZone
    from lake.sources import ANOMALY_ALERTS, ROOM_INSPECTIONS
    from tests.vision.tiny_clip import room_png

    hotel = services(client).properties.hotels[0].name
    r = client.post(f"{CV}/room/analyze", headers=admin, json={
        "image": b64(room_png(False)), "hotel": hotel, "room_number": "204",
        "camera_id": "tablet-1"})
    assert r.status_code == 200, r.text
    room = r.json()
    assert room["status"] in ("clean", "dirty", "maintenance") and room["tags"]
    assert room["ready_for_guest"] == (room["status"] == "clean")
    assert room["estimated_cleaning_time_minutes"] >= 0
    landed, row = landed_event(client, api_settings, "camera", "inspection_id",
                               room["inspection"]["event_id"])
    assert (row["room_number"], row["status"], row["inspector_id"]) == ("204", room["status"], "vision")
    zone = LandingZone.from_settings(api_settings)
    assert zone.problems(landed, ROOM_INSPECTIONS) == []  # what the ingest will read

    r = client.post(f"{CV}/anomaly/detect", headers=admin, json={
        "image": b64(room_png(False)), "hotel": hotel, "camera_id": "cam_hallway_03",
        "detection_types": ["fire", "flood"]})
    assert r.status_code == 200, r.text
    found = r.json()
    assert {a["type"] for a in found["anomalies"]} == {"fire", "flood"}
    assert all(a["reason"] for a in found["anomalies"])
    assert len(found["alerts"]) == sum(a["alert"] for a in found["anomalies"])
    for alert in found["alerts"]:
        path, _ = landed_event(client, api_settings, "camera", "alert_id", alert["event_id"])
        assert zone.problems(path, ANOMALY_ALERTS) == []


def test_an_identity_document_failing_a_check_digit_is_refused(client, admin):
    from tests.vision import documents_render

    r = client.post(f"{CV}/ocr/id", headers=admin,
                    json={"image": b64(documents_render.passport(tampered=True).png)})
    assert r.status_code == 422, r.text
    assert "check digits" in r.json()["message"] and r.json()["details"]
    card = documents_render.id_card()
    r = client.post(f"{CV}/ocr/id", headers=admin,
                    json={"image": b64(card.png), "document_type": "passport"})
    assert r.status_code == 422 and "not a passport" in r.json()["message"], r.text
    r = client.post(f"{CV}/ocr/id", headers=admin, json={"image": b64(card.png)})
    assert r.status_code == 200, r.text
    assert r.json()["format"] == "TD1" and all(r.json()["checks"].values())


def test_the_check_in_check_matches_the_document_photo_to_the_guest(client, admin):
    from tests.vision import documents_render

    page = documents_render.passport(portrait=(FACES / "obama.jpg").read_bytes()).png
    r = client.post(f"{CV}/ocr/id", headers=admin, json={
        "image": b64(page), "document_type": "passport", "face_image": photo("obama2.jpg")})
    assert r.status_code == 200, r.text
    match = r.json()["face_match"]
    assert match["match"] is True and match["similarity"] >= match["threshold"]
    r = client.post(f"{CV}/ocr/id", headers=admin,
                    json={"image": b64(page), "face_image": photo("biden.jpg")})
    assert r.status_code == 200 and r.json()["face_match"]["match"] is False
    assert "1:1 threshold" in r.json()["face_match"]["reason"]


def test_cv_health_says_which_models_are_loaded_and_why_not(client, tmp_path):
    from fastapi.testclient import TestClient

    from base.settings import Settings
    from serving.app import create_app

    health = client.get(f"{CV}/health")
    assert health.status_code == 200, health.text
    assert {m: v["status"] for m, v in health.json()["models"].items()} == {
        "faces": "loaded", "clip": "loaded", "ocr": "loaded"}
    settings = Settings(home=tmp_path / "home", face_model_pack="no-such-pack",
                        clip_checkpoint=tmp_path / "missing.pt", champion_poll_seconds=3600)
    with TestClient(create_app(settings)) as other:
        assert other.app.state.services.vision.wait_loaded(60)
        r = other.get(f"{CV}/health")
        assert r.status_code == 503
        models = r.json()["models"]
        assert "no-such-pack" in models["faces"]["reason"]
        assert "missing.pt" in models["clip"]["reason"]
        r = other.post(f"{CV}/image/search", json={"query_text": "wallet"},
                       headers=bearer(settings, "admin"))
        assert r.status_code == 503 and "missing.pt" in r.json()["message"]
