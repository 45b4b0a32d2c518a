"""Vision assets: the face gallery's open-set calibration, the LanceDB image index built
from the lake, and the room-inspection probe trained on the lake's housekeeping verdicts.

CLIP may be unloadable (no internet to download it, no local checkpoint): the CLIP assets
then materialise nothing, say why in their metadata, and their check warns. The build does
not fail for a model the machine cannot have.
"""


import dagster as dg

from lake.sources import EMPLOYEES, ROOM_INSPECTIONS
from lake.tables import FACE_ENROLMENTS, IMAGES
from ml.registry import ModelRegistry
from orchestration.ingest.assets import bronze_key
from orchestration.vision.resources import VisionModels
from vision.room_inspection import train_probe

VISION = "vision"
FACE_GALLERY = dg.AssetKey([VISION, "face_gallery"])
IMAGE_INDEX = dg.AssetKey([VISION, "image_index"])
ROOM_PROBE = dg.AssetKey([VISION, "room_probe"])


def _check(key: dg.AssetKey, name: str, passed: bool, detail: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(asset_key=key, check_name=name, passed=passed,
                               severity=dg.AssetCheckSeverity.WARN, metadata={"detail": detail})


def _clip_missing(key: dg.AssetKey, vision: VisionModels) -> dg.MaterializeResult:
    reason = vision.clip().status()["reason"]
    return dg.MaterializeResult(
        metadata={"built": False, "reason": f"CLIP not loaded: {reason}"},
        check_results=[_check(key, "clip_loaded", False, f"CLIP not loaded: {reason}")])


@dg.asset(key=FACE_GALLERY, group_name=VISION, kinds={"lancedb"}, deps=[bronze_key(EMPLOYEES)],
          check_specs=[dg.AssetCheckSpec("enrolled_are_employees", asset=FACE_GALLERY,
                                         description="Everyone enrolled is in the employees "
                                                     "table (a leaver's face data should be erased).")],
          description="The face gallery (LanceDB `face_templates`, `face_photos`) and its open-set "
                      "calibration: the similarity threshold that keeps the chance of a stranger "
                      "matching anyone enrolled under the target false-accept rate for this many "
                      "people, fitted on impostor faces; the threshold and the expected "
                      f"false-accept rate are this asset's metadata. Enrolments: lake `{FACE_ENROLMENTS.name}`.")
def face_gallery(context: dg.AssetExecutionContext,
                 vision: dg.ResourceParam[VisionModels]) -> dg.MaterializeResult:
    faces = vision.faces
    if not faces.load():
        reason = faces.status()["reason"]
        return dg.MaterializeResult(metadata={"built": False, "reason": reason}, check_results=[
            _check(FACE_GALLERY, "enrolled_are_employees", False, f"face models not loaded: {reason}")])
    cal = faces.recalibrate()
    people = {p["employee_id"] for p in faces.people()}
    table = f"bronze/{EMPLOYEES.name}"
    known = set(vision.lake.read(table, columns=["employee_id"])["employee_id"].to_list()) \
        if vision.lake.exists(table) else set()
    strangers = sorted(people - known)
    status = faces.status()
    context.log.info(f"{len(people)} people enrolled; threshold {cal.threshold:.3f} for an "
                     f"expected false-accept rate of {cal.expected_false_accept:.2g}")
    return dg.MaterializeResult(metadata={
        "built": True, "enrolled_people": len(people), "templates": status["templates"],
        "search": status["index"], "model": status["model"],
        "threshold": cal.threshold, "expected_false_accept": cal.expected_false_accept,
        "threshold_1to1": cal.threshold_1to1, "impostor_faces": cal.impostor_faces,
        "impostor_mean": cal.impostor_mean, "impostor_std": cal.impostor_std,
        "genuine_mean": cal.genuine_mean, "computed_at": str(cal.computed_at)},
        check_results=[_check(FACE_GALLERY, "enrolled_are_employees", not strangers,
                              f"{len(strangers)} enrolled but not employees: {strangers[:20]}"
                              if strangers else f"all {len(people)} enrolled are employees")])


@dg.asset(key=IMAGE_INDEX, group_name=VISION, kinds={"lancedb", "delta"},
          check_specs=[dg.AssetCheckSpec("clip_loaded", asset=IMAGE_INDEX,
                                         description="A CLIP model could be loaded.")],
          description=f"The LanceDB image index (`images`: CLIP vectors and a full-text index of "
                      f"the descriptions and tags) rebuilt from the lake table `{IMAGES.name}` "
                      "with the configured CLIP model: after a model change every image is "
                      "re-embedded. The API indexes new images as they come.")
def image_index(context: dg.AssetExecutionContext,
                vision: dg.ResourceParam[VisionModels]) -> dg.MaterializeResult:
    index = vision.image_index()
    if index is None:
        return _clip_missing(IMAGE_INDEX, vision)
    built = index.rebuild(vision.lake)
    context.log.info(f"image index rebuilt: {built}")
    return dg.MaterializeResult(
        metadata={"built": True, **{k: v for k, v in built.items()
                                    if isinstance(v, (int, float, str, bool))},
                  "model": vision.clip().identity},
        check_results=[_check(IMAGE_INDEX, "clip_loaded", True, vision.clip().identity)])


@dg.asset(key=ROOM_PROBE, group_name=VISION, kinds={"mlflow", "sklearn"},
          deps=[bronze_key(ROOM_INSPECTIONS), IMAGE_INDEX],
          check_specs=[dg.AssetCheckSpec("clip_loaded", asset=ROOM_PROBE,
                                         description="A CLIP model could be loaded."),
                       dg.AssetCheckSpec("beats_zero_shot", asset=ROOM_PROBE,
                                         description="The probe beats CLIP zero-shot on held-out "
                                                     "photos (only then is it served).")],
          description="A linear probe on CLIP image embeddings (logistic regression: status and "
                      "one head per common tag) trained on the housekeeping verdicts in the lake "
                      f"(`{ROOM_INSPECTIONS.name}` rows with a photo in `{IMAGES.name}`; the API's "
                      "own verdicts are left out). Written for `room/analyze` only when it beats "
                      "zero-shot on the same held-out photos; every run is logged to MLflow.")
def room_probe(context: dg.AssetExecutionContext, vision: dg.ResourceParam[VisionModels],
               registry: dg.ResourceParam[ModelRegistry]) -> dg.MaterializeResult:
    index = vision.image_index()
    if index is None:
        missing = _clip_missing(ROOM_PROBE, vision)
        return dg.MaterializeResult(metadata=missing.metadata, check_results=[
            *missing.check_results,
            _check(ROOM_PROBE, "beats_zero_shot", False, "not trained: CLIP not loaded")])
    result = train_probe(vision.lake, index, vision.probe_path)
    context.log.info(f"room probe: {'written' if result.trained else 'not written'}"
                     f"{'' if result.trained else ': ' + str(result.reason)}")
    labels = {"labelled_photos": result.labels.get("photos", 0),
              **{f"status_{k}_rows": v for k, v in result.labels.get("status", {}).items()}}
    run_id = None
    if result.metrics:  # enough labels to evaluate: a training run worth keeping
        run_id = registry.log_training(
            "room_probe", {**result.params, **labels}, result.metrics,
            artifacts={"probe": vision.probe_path} if result.trained else None,
            tags={"dagster_run_id": context.run_id, "dagster_job": context.job_name},
            note=("served: beats zero-shot on held-out photos" if result.trained
                  else f"not served: {result.reason}"))
    metadata = {"trained": result.trained, "reason": result.reason or "",
                **labels, **{k: float(v) for k, v in result.metrics.items()}}
    if run_id and registry.ui_url(run_id):
        metadata["mlflow_run"] = dg.MetadataValue.url(registry.ui_url(run_id))
    return dg.MaterializeResult(metadata=metadata, check_results=[
        _check(ROOM_PROBE, "clip_loaded", True, vision.clip().identity),
        _check(ROOM_PROBE, "beats_zero_shot", result.trained,
               result.reason or "probe {:.3f} vs zero-shot {:.3f} balanced accuracy".format(
                   result.metrics["probe_balanced_accuracy"],
                   result.metrics["zero_shot_balanced_accuracy"]))])


VISION_ASSETS = [face_gallery, image_index, room_probe]
