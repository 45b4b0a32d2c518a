"""The vision assets, materialised by Dagster on a home of their own with a tiny open_clip
checkpoint built here: the image index rebuilt from the lake, the room probe trained on the
lake's housekeeping verdicts and logged to MLflow, the face gallery's calibration in the
asset's metadata; and without CLIP, the assets say why and their checks warn."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl
import pytest

from base.settings import REPO_ROOT, Settings
from lake.delta_tables import Lake
from lake.sources import ROOM_INSPECTIONS
from lake.tables import bronze
from ml.registry import ModelRegistry
from orchestration.vision.assets import VISION_ASSETS
from orchestration.vision.resources import VisionModels
from tests.vision import tiny_clip
from vision.clip_models import ClipModel
from vision.image_index import ImageIndex
from vision.images import ImageLimits


@pytest.fixture(scope="module")
def clip_files(tmp_path_factory):
    return tiny_clip.build(tmp_path_factory.mktemp("clip"), train_steps=120)


def materialise(settings: Settings):
    lake = Lake.from_settings(settings)
    resources = {"vision": VisionModels.from_settings(settings, lake),
                 "registry": ModelRegistry.from_settings(settings)}
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(VISION_ASSETS, resources=resources, instance=instance)
    assert result.success
    metadata = {e.asset_key.to_user_string(): e.materialization.metadata
                for e in result.get_asset_materialization_events()}
    checks = {(c.asset_key.to_user_string(), c.check_name): c.passed
              for c in result.get_asset_check_evaluations()}
    return metadata, checks


def labelled_rooms(settings: Settings, clip: ClipModel, photos: int = 48) -> None:
    """Room photos in the lake (through the image index) and housekeepers' verdicts on them."""
    lake = Lake.from_settings(settings)
    index = ImageIndex.from_settings(settings, lake, clip)
    now = dt.datetime.now(dt.timezone.utc)
    rows = []
    for i in range(photos):
        tidy = i % 2 == 0
        data = tiny_clip.room_png(tidy, seed=i)
        image_id = index.index(ImageLimits().decode(data), {
            "category": "room", "hotel": "H1", "room_number": str(100 + i)}, content=data)["image_id"]
        rows.append({"inspection_id": f"INS{i}", "hotel": "H1", "room_number": str(100 + i),
                     "inspected_at": now, "camera_id": "cam_hk", "inspector_id": f"hk{i % 3}",
                     "status": "clean" if tidy else "dirty", "tags": [], "image_id": image_id,
                     "_source_file": "test", "_batch_id": "b1", "_ingested_at": now,
                     "_row_hash": str(i)})
    table = bronze(ROOM_INSPECTIONS)
    lake.append(table.name, pl.DataFrame(rows, schema=table.schema))
    index.db.drop_table(index.name)  # the asset must rebuild it from the lake alone


def test_the_vision_assets_build_from_the_lake(tmp_path, clip_files):
    name, checkpoint = clip_files
    settings = Settings(home=tmp_path / "home", clip_model=name, clip_checkpoint=checkpoint)
    clip = ClipModel.from_settings(settings)
    labelled_rooms(settings, clip)

    metadata, checks = materialise(settings)

    index = metadata["vision/image_index"]
    assert index["built"].value is True and index["rows"].value == 48
    hits = ImageIndex.from_settings(settings, Lake.from_settings(settings), clip).search(
        image=ImageLimits().decode(tiny_clip.room_png(True, seed=0)), top_k=5)
    # the rebuilt index finds the photo itself (the tiny model may tie it with look-alikes)
    assert {h["room_number"] for h in hits if h["vector_score"] > 0.999} >= {"100"}

    probe = metadata["vision/room_probe"]
    assert probe["trained"].value is True, probe["reason"].value
    assert probe["labelled_photos"].value == 48
    assert probe["probe_balanced_accuracy"].value > probe["zero_shot_balanced_accuracy"].value
    assert settings.room_probe_path.exists()
    assert checks[("vision/room_probe", "beats_zero_shot")] is True
    client = ModelRegistry.from_settings(settings).client()
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()],
                              filter_string="attributes.run_name = 'room_probe-training'")
    assert len(runs) == 1
    run = runs[0]
    assert run.data.metrics["probe_balanced_accuracy"] == probe["probe_balanced_accuracy"].value
    assert run.data.tags["dagster_run_id"]

    gallery = metadata["vision/face_gallery"]
    assert gallery["built"].value is True and gallery["enrolled_people"].value == 0
    assert 0 < gallery["threshold"].value < 1
    assert gallery["expected_false_accept"].value <= settings.face_false_accept


def test_without_clip_the_assets_say_why_and_warn(tmp_path):
    settings = Settings(home=tmp_path / "home", clip_checkpoint=tmp_path / "none.pt",
                        face_model_root=REPO_ROOT / "no-packs", face_model_pack="absent")
    metadata, checks = materialise(settings)
    for key in ("vision/image_index", "vision/room_probe"):
        assert metadata[key]["built"].value is False
        assert "none.pt" in metadata[key]["reason"].value
        assert checks[(key, "clip_loaded")] is False
    assert metadata["vision/face_gallery"]["built"].value is False
    assert "absent" in metadata["vision/face_gallery"]["reason"].value
    assert not settings.room_probe_path.exists()
