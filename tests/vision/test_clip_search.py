"""CLIP side of vision on a tiny open_clip model built and trained here (tests/vision/tiny_clip):
loading and its failure reasons, the image index (lake + LanceDB, hybrid search, rebuild),
room inspection (zero-shot, then a probe trained from the lake's verdicts) and anomalies."""

from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np
import polars as pl
import pytest

from lake.sources.camera import ROOM_INSPECTIONS
from lake.tables import IMAGES, bronze
from tests.vision import tiny_clip
from vision.anomalies import PROMPTS, TYPES, AnomalyDetector, severity
from vision.clip_models import ClipModel, ClipUnavailable
from vision.image_index import ImageIndex
from vision.images import ImageLimits
from vision.room_inspection import ISSUE_MINUTES, BASE_MINUTES, RoomInspector, train_probe

LIMITS = ImageLimits()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tiny_clip.build(tmp_path_factory.mktemp("tiny_clip"), train_steps=120)


@pytest.fixture(scope="module")
def clip(tiny):
    name, checkpoint = tiny
    model = ClipModel.load(name, None, checkpoint)
    assert model.status()["loaded"], model.status()["reason"]
    return model


@pytest.fixture
def index(tmp_path, lake, clip):
    return ImageIndex(str(tmp_path / "vectors"), lake, clip)


def shape(colour, kind, seed=0):
    data = tiny_clip.shape_png(colour, kind, seed=seed)
    return LIMITS.decode(data), data


def room(tidy, seed):
    data = tiny_clip.room_png(tidy, seed=seed)
    return LIMITS.decode(data), data


# Items on a counter: descriptions never name a colour or a shape, so a text query of a
# colour and shape can only be found through the CLIP text embedding.
ITEMS = [("red", "circle", "room", "H1", "left on the desk"),
         ("blue", "square", "room", "H1", "found under the bed"),
         ("green", "circle", "room", "H2", "handed in at reception"),
         ("yellow", "square", "amenity", "H2", "welcome kit"),
         ("white", "circle", "lost_and_found", "H1", "umbrella by the door")]


def fill(index):
    ids = {}
    for colour, kind, category, hotel, description in ITEMS:
        picture, data = shape(colour, kind, seed=7)
        out = index.index(picture, {"category": category, "hotel": hotel, "room_number": "101",
                                    "description": description, "tags": ["found_item"]},
                          content=data)
        ids[(colour, kind)] = out["image_id"]
    # The wallet's photo shows nothing like a wallet (a green square): only its words say so.
    picture, data = shape("green", "square", seed=3)
    ids["wallet"] = index.index(picture, {"category": "lost_and_found", "hotel": "H1",
                                          "description": "black leather wallet with cards",
                                          "tags": ["wallet", "leather"]}, content=data)["image_id"]
    return ids


def test_the_tiny_checkpoint_loads_and_embeds(clip):
    status = clip.status()
    assert status["dim"] == 32 and status["reason"] is None and status["checkpoint"]
    pictures = [shape(c, "circle")[0] for c in ("red", "green", "blue")]
    images = clip.encode_images(pictures)
    texts = clip.encode_texts(["a red circle", "a green circle", "a blue circle"])
    assert images.dtype == np.float32 and images.shape == (3, 32)
    assert np.allclose(np.linalg.norm(images, axis=1), 1, atol=1e-5)
    assert np.allclose(np.linalg.norm(texts, axis=1), 1, atol=1e-5)
    # trained on rendered shapes: each caption is closest to its own picture
    assert list((texts @ images.T).argmax(axis=1)) == [0, 1, 2]
    probs = clip.zero_shot(pictures[0], {"red": ["a red circle", "a red square"],
                                         "blue": ["a blue circle", "a blue square"]})
    assert set(probs) == {"red", "blue"} and abs(sum(probs.values()) - 1) < 1e-6
    assert probs["red"] > probs["blue"]


def test_an_unloadable_model_is_a_status_with_its_reason(tmp_path, tiny):
    missing = tmp_path / "nowhere" / "clip.pt"
    model = ClipModel.load("ViT-B-32", "laion2b_s34b_b79k", missing, tmp_path / "cache")
    status = model.status()
    assert status["loaded"] is False and str(missing) in status["reason"]
    with pytest.raises(ClipUnavailable, match="nowhere"):
        model.encode_texts(["a room"])
    garbage = tmp_path / f"{tiny[0]}.pt"
    garbage.write_bytes(b"not a checkpoint")
    broken = ClipModel.load(tiny[0], None, garbage)
    assert broken.status()["loaded"] is False and broken.status()["reason"]
    unknown = ClipModel.load("no-such-architecture", None, tiny[1])
    assert "no-such-architecture" in unknown.status()["reason"]


def test_search_by_image_by_text_and_both(index):
    ids = fill(index)
    picture, _ = shape("green", "circle", seed=7)
    by_image = index.search(image=picture, top_k=3)
    assert by_image[0]["image_id"] == ids[("green", "circle")]
    assert by_image[0]["vector_score"] == pytest.approx(1.0, abs=1e-4)
    assert by_image[0]["text_score"] is None and by_image[0]["score"] == pytest.approx(1.0)
    assert set(by_image[0]) == {"image_id", "score", "vector_score", "text_score", "category",
                                "hotel", "room_number", "description", "tags", "indexed_at"}
    # a shape in words: no description says it, CLIP's text embedding finds it
    by_text = index.search(text="a blue square", top_k=3)
    assert by_text[0]["image_id"] == ids[("blue", "square")]
    assert by_text[0]["text_score"] is None
    # the wallet: found by its description although its photo is no wallet
    wallet = index.search(text="black leather wallet", top_k=3)
    assert wallet[0]["image_id"] == ids["wallet"]
    assert wallet[0]["text_score"] > 0 and wallet[0]["description"].startswith("black leather")
    assert all(r["text_score"] is None for r in wallet[1:])
    everything = index.search(text="black leather wallet", top_k=6)
    by_vector = sorted(everything, key=lambda r: -r["vector_score"])
    assert by_vector[0]["image_id"] != ids["wallet"]  # its image alone would not find it
    # both: the yellow square's photo, with words of another item, ranks both first
    yellow, _ = shape("yellow", "square", seed=7)
    both = index.search(image=yellow, text="umbrella", top_k=2)
    assert {r["image_id"] for r in both} == {ids[("yellow", "square")], ids[("white", "circle")]}
    assert all(0 < r["score"] <= 1 for r in both)


def test_filters_top_k_and_threshold(index):
    ids = fill(index)
    picture, _ = shape("red", "circle", seed=7)
    rooms = index.search(image=picture, top_k=10, category="room")
    assert {r["category"] for r in rooms} == {"room"} and len(rooms) == 3
    h2 = index.search(text="a red circle", top_k=10, hotel="H2")
    assert {r["hotel"] for r in h2} == {"H2"} and len(h2) == 2
    assert len(index.search(image=picture, top_k=2)) == 2
    exact = index.search(image=picture, top_k=10, threshold=0.999)
    assert [r["image_id"] for r in exact] == [ids[("red", "circle")]]
    # a word match is kept under any threshold: the words are its evidence
    words = index.search(text="leather wallet", top_k=10, threshold=0.999)
    assert ids["wallet"] in [r["image_id"] for r in words]
    with pytest.raises(ValueError):
        index.search(top_k=3)


def test_indexing_is_idempotent_and_the_lake_holds_the_bytes(index, lake):
    picture, data = shape("red", "square", seed=1)
    meta = {"category": "room", "hotel": "H1", "room_number": "12", "description": "desk",
            "tags": ["desk", "lamp"]}
    first = index.index(picture, meta, content=data)
    again = index.index(picture, {**meta, "tags": ["lamp", "desk"]}, content=data)
    assert first["duplicate"] is False and again["duplicate"] is True
    assert again["image_id"] == first["image_id"]
    assert lake.read(IMAGES.name).height == 1 and index.status()["rows"] == 1
    other = index.index(picture, {**meta, "room_number": "14"}, content=data)
    assert other["duplicate"] is False and other["image_id"] != first["image_id"]
    row = lake.read(IMAGES.name).filter(pl.col("image_id") == first["image_id"]).row(0, named=True)
    assert row["sha256"] == hashlib.sha256(data).hexdigest() == picture.sha256
    assert (row["width"], row["height"], row["format"]) == (96, 96, "PNG")
    assert index.image(first["image_id"]) == (data, "PNG")
    assert index.image("0" * 32) is None
    with pytest.raises(ValueError, match="category"):
        index.index(picture, {**meta, "category": "kitchen"}, content=data)


def test_rebuild_from_the_lake_gives_the_same_results(index, lake, clip, tmp_path):
    fill(index)
    queries = [dict(image=shape("blue", "square", seed=7)[0]), dict(text="leather wallet"),
               dict(text="a green circle", category="room")]
    before = [index.search(top_k=4, **q) for q in queries]
    fresh = ImageIndex(str(tmp_path / "rebuilt"), lake, clip)
    counts = fresh.rebuild()
    assert counts["rows"] == counts["lake_rows"] == 6 and counts["skipped"] == 0
    after = [fresh.search(top_k=4, **q) for q in queries]
    for b, a in zip(before, after):
        assert [r["image_id"] for r in b] == [r["image_id"] for r in a]
        assert [r["score"] for r in b] == pytest.approx([r["score"] for r in a], abs=1e-5)
    stats = index.maintain()
    assert stats["fragments_after"] == 1 < stats["fragments_before"]
    status = fresh.status()
    assert status["rows"] == 6 and status["dim"] == 32 and status["rows_other_model"] == 0


def test_room_analysis_zero_shot(clip, tmp_path):
    inspector = RoomInspector(clip, tmp_path / "probe.npz")
    out = inspector.analyze(room(False, seed=1)[0])
    assert out["method"] == "zero_shot" and out["probe_version"] is None
    assert out["status"] in {"clean", "dirty", "maintenance"}
    assert out["ready_for_guest"] == (out["status"] == "clean")
    labels = {t["label"] for t in out["tags"]}
    # each pair answers one side: the bed is made or unmade, never both
    assert len(labels & {"bed_made", "bed_unmade"}) == 1
    assert all(0.5 <= t["confidence"] <= 1 for t in out["tags"])
    expected = 0 if out["status"] == "clean" else BASE_MINUTES + sum(
        ISSUE_MINUTES.get(label, 0) for label in labels)
    assert out["estimated_cleaning_minutes"] == expected


def inspections(rows, start=0):
    """Bronze room inspections, each a minute after the one before."""
    table = bronze(ROOM_INSPECTIONS)
    now = dt.datetime.now(dt.timezone.utc)
    return pl.DataFrame([{
        "inspection_id": f"INS{i}", "hotel": "H1", "room_number": str(100 + i),
        "inspected_at": now + dt.timedelta(minutes=i), "camera_id": "cam_hk_01",
        "inspector_id": inspector, "status": status, "tags": tags, "image_id": image_id,
        "_source_file": "test", "_batch_id": "b1", "_ingested_at": now, "_row_hash": str(i)}
        for i, (image_id, status, tags, inspector) in enumerate(rows, start)],
        schema=table.schema)


def test_the_probe_learns_the_lake_verdicts_and_replaces_zero_shot(index, lake, clip, tmp_path):
    rows = []
    for seed in range(48):
        tidy = seed % 2 == 0
        picture, data = room(tidy, seed)
        image_id = index.index(picture, {"category": "room", "hotel": "H1",
                                         "room_number": str(seed)}, content=data)["image_id"]
        tags = ([{"label": "clean_bed", "confidence": 0.9}] if tidy else
                [{"label": "trash_present", "confidence": 0.8}])
        rows.append((image_id, "inspected" if seed % 4 == 0 else ("clean" if tidy else "dirty"),
                     tags, f"hk{seed % 3}"))
    # the API's own verdicts (inspector "vision") and occupied rooms are no labels, even
    # as the latest word on a photo
    rows += [(rows[0][0], "dirty", [], "vision"), (rows[2][0], "occupied", [], "hk1")]
    table = bronze(ROOM_INSPECTIONS)
    lake.ensure(table.name, table.schema)
    path = tmp_path / "models" / "room_probe.npz"
    lake.append(table.name, inspections(rows[:6]))
    too_few = train_probe(lake, index, path, min_labels=10)
    assert too_few.trained is False and "10" in too_few.reason and not path.exists()
    lake.append(table.name, inspections(rows[6:], start=6))

    inspector = RoomInspector(clip, path)
    assert inspector.analyze(room(True, seed=100)[0])["method"] == "zero_shot"
    result = train_probe(lake, index, path, min_labels=10)
    assert result.trained, result.reason
    assert result.labels["status"] == {"clean": 24, "dirty": 24}
    assert result.labels["tags"] == {"bed_made": 24, "trash_visible": 24}
    m = result.metrics
    assert m["test_rows"] == 12 and m["train_rows"] == 36
    assert m["probe_accuracy"] > max(m["majority_accuracy"], 0.5)
    assert m["probe_balanced_accuracy"] > m["zero_shot_balanced_accuracy"]
    assert path.exists() and result.version

    # the same inspector picks the new file up; unseen photos are read by the probe
    unseen = [(room(tidy, seed)[0], tidy) for seed in range(200, 212) for tidy in (True, False)]
    outs = [(inspector.analyze(p), tidy) for p, tidy in unseen]
    assert {o["method"] for o, _ in outs} == {"probe"}
    assert {o["probe_version"] for o, _ in outs} == {result.version}
    right = sum((o["status"] == "clean") == tidy for o, tidy in outs)
    assert right / len(outs) >= 0.8
    tagged = [o for o, tidy in outs if not tidy and o["status"] == "dirty"]
    assert tagged and all("trash_visible" in {t["label"] for t in o["tags"]} for o in tagged)
    assert all(o["estimated_cleaning_minutes"] >= BASE_MINUTES for o in tagged)


def test_anomaly_detection_shape(clip):
    detector = AnomalyDetector(clip)
    picture = shape("red", "circle")[0]
    found = detector.detect(picture)
    assert sorted(a["type"] for a in found) == sorted(TYPES)
    confidences = [a["confidence"] for a in found]
    assert confidences == sorted(confidences, reverse=True)
    for a in found:
        assert set(a) == {"type", "confidence", "severity", "alert", "reason"}
        assert 0 <= a["confidence"] <= 1
        assert a["severity"] == severity(a["type"], a["confidence"])
        assert a["alert"] == (a["confidence"] >= 0.5)
        assert any(f"'{p}'" in a["reason"] for p in PROMPTS[a["type"]])
        assert f"p={a['confidence']:.2f}" in a["reason"]
    assert [a["type"] for a in detector.detect(picture, ["flood"])] == ["flood"]
    with pytest.raises(ValueError, match="earthquake"):
        detector.detect(picture, ["earthquake"])
    assert severity("fire", 0.85) == "critical" and severity("intrusion", 0.99) == "high"
    assert severity("smoke", 0.2) == "low"
