"""Room inspection from a photo: tags, status, ready for a guest, minutes of cleaning.

Two ways to read a photo, one answer shape (``RoomInspector.analyze``):

* ``zero_shot``: CLIP against prompts. Each concept (bed, towels, trash, stains, clutter,
  amenities, damage) is a pair of labels, each described by several prompts (every
  description in every template; the prompts' mean embedding is the label's: prompt
  ensembling); the photo's probability of a label is the softmax over the pair. A pair's
  winner is a tag; a one-sided concept (trash, stains, clutter, damage) only when it wins.
* ``probe``: logistic regressions on the CLIP image embedding, trained by ``train_probe``
  on the lake's housekeeping verdicts (bronze ``room_inspections``: status and tags, joined
  by ``image_id`` to the photos of ``vision/images``). Used as soon as its file exists and
  was made with the same CLIP model; re-read when the file changes. Tags the probe has no
  regression for (too few labels) come from the zero-shot prompts.

Status: ``maintenance`` when ``damage`` is a tag (zero-shot) or the probe says so;
``dirty`` when any cleaning issue is a tag; else ``clean``. ``ready_for_guest`` is
``status == clean``. Minutes of cleaning: none for a clean room; otherwise ``BASE_MINUTES``
(entering, a round of checks) plus, per issue tag, ``ISSUE_MINUTES``:

    bed_unmade 8 · towels_missing 3 · trash_visible 4 · stains 12 · clutter 10 ·
    amenities_missing 3

The camera vendor's labels (``towel_missing``, ``trash_present``, ``amenity_incomplete``,
``clean_bed``) are read as ours (``TAG_ALIASES``); the lake's ``inspected`` status is a
clean room that a supervisor checked; ``occupied`` is no verdict and is not learned from,
nor are the API's own verdicts (inspector ``vision``: a probe must not learn from itself).

The probe file is an ``.npz`` of plain arrays (coefficients, intercepts, classes) and a JSON
header: no pickle, nothing to execute when it is read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from base.files import atomic_write
from lake.delta_tables import Lake
from lake.sources.camera import ROOM_INSPECTIONS
from lake.tables import IMAGES, bronze
from vision.clip_models import ClipModel
from vision.images import ImageLimits, ImageRejected

TEMPLATES = ("a photo of {}.", "a hotel room with {}.", "a housekeeping inspection photo of {}.")
# concept -> (label, descriptions) when it holds, (label or None, descriptions) when not
CONCEPTS: dict[str, tuple[tuple[str, tuple[str, ...]], tuple[str | None, tuple[str, ...]]]] = {
    "bed": (("bed_made", ("a neatly made bed", "a bed with smooth sheets and arranged pillows")),
            ("bed_unmade", ("an unmade bed with messy sheets",
                            "a bed with crumpled sheets and scattered pillows"))),
    "towels": (("towels_present", ("clean folded towels", "fresh towels on a rack")),
               ("towels_missing", ("an empty towel rack", "no towels in the bathroom"))),
    "amenities": (("amenities_complete", ("a full set of toiletries and a water bottle",
                                          "neatly arranged guest amenities")),
                  ("amenities_missing", ("missing toiletries", "an empty amenity tray"))),
    "trash": (("trash_visible", ("trash on the floor", "an overflowing wastebasket")),
              (None, ("a clean floor", "an empty wastebasket"))),
    "stains": (("stains", ("stains on the carpet", "dirty stained sheets")),
               (None, ("a spotless carpet", "clean white sheets"))),
    "clutter": (("clutter", ("a cluttered messy room", "clothes and items scattered around")),
                (None, ("a tidy room", "an orderly uncluttered room"))),
    "damage": (("damage", ("a broken lamp", "water damage on the ceiling",
                           "broken furniture")),
               (None, ("furniture in good repair", "an intact ceiling and walls"))),
}
ISSUES = ("bed_unmade", "towels_missing", "trash_visible", "stains", "clutter",
          "amenities_missing")
ISSUE_MINUTES = {"bed_unmade": 8, "towels_missing": 3, "trash_visible": 4, "stains": 12,
                 "clutter": 10, "amenities_missing": 3}
BASE_MINUTES = 5
TAG_ALIASES = {"towel_missing": "towels_missing", "trash_present": "trash_visible",
               "amenity_incomplete": "amenities_missing", "clean_bed": "bed_made"}
STATUS_OF = {"clean": "clean", "inspected": "clean", "dirty": "dirty",
             "maintenance": "maintenance"}  # occupied: no verdict on the room's state
TAG_PRESENT = 0.5  # a label in the lake counts when its camera confidence reaches this


def _prompts(descriptions: tuple[str, ...]) -> list[str]:
    return [t.format(d) for d in descriptions for t in TEMPLATES]


def zero_shot_tags(clip: ClipModel, embedding: np.ndarray) -> dict[str, float]:
    """{label: probability} for both sides of every concept (one-sided: the issue only)."""
    out = {}
    for concept, ((yes, yes_d), (no, no_d)) in CONCEPTS.items():
        p = clip.zero_shot_embedding(embedding, {yes: _prompts(yes_d),
                                                 no or f"no_{concept}": _prompts(no_d)})
        out[yes] = p[yes]
        if no:
            out[no] = 1.0 - p[yes]
    return out


def status_of(tags: dict[str, float]) -> str:
    if tags.get("damage", 0.0) >= 0.5:
        return "maintenance"
    return "dirty" if any(tags.get(t, 0.0) >= 0.5 for t in ISSUES) else "clean"


def cleaning_minutes(status: str, tags: dict[str, float]) -> int:
    if status == "clean":
        return 0
    return BASE_MINUTES + sum(m for t, m in ISSUE_MINUTES.items() if tags.get(t, 0.0) >= 0.5)


def _tag_list(probabilities: dict[str, float]) -> list[dict]:
    """The tags that hold (probability at least 0.5), most confident first."""
    shown = [(label, p) for label, p in probabilities.items() if p >= 0.5]
    return [{"label": label, "confidence": round(float(p), 4)}
            for label, p in sorted(shown, key=lambda x: -x[1])]


# -- the probe file -----------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """Linear heads on the CLIP embedding: a status head and one head per learned tag."""

    identity: str  # the CLIP model whose embeddings it reads
    classes: list[str]
    coef: np.ndarray  # classes x dim (1 x dim for two classes: sklearn's binary layout)
    intercept: np.ndarray
    tags: list[str]
    tag_coef: np.ndarray  # tags x dim
    tag_intercept: np.ndarray
    version: str = ""
    header: dict = field(default_factory=dict)

    def status_probabilities(self, x: np.ndarray) -> dict[str, float]:
        z = self.coef @ x + self.intercept
        if len(self.classes) == 2:  # sklearn: one row, the second class's log-odds
            p1 = 1.0 / (1.0 + np.exp(-z[0]))
            probs = np.array([1.0 - p1, p1])
        else:
            e = np.exp(z - z.max())
            probs = e / e.sum()
        return {c: float(p) for c, p in zip(self.classes, probs)}

    def tag_probabilities(self, x: np.ndarray) -> dict[str, float]:
        if not self.tags:
            return {}
        p = 1.0 / (1.0 + np.exp(-(self.tag_coef @ x + self.tag_intercept)))
        return {t: float(v) for t, v in zip(self.tags, p)}

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(buffer, header=np.array(json.dumps({**self.header, "identity": self.identity,
                                                     "classes": self.classes,
                                                     "tags": self.tags})),
                 coef=self.coef, intercept=self.intercept, tag_coef=self.tag_coef,
                 tag_intercept=self.tag_intercept)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> "Probe":
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            header = json.loads(str(z["header"]))
            return cls(header["identity"], header["classes"], z["coef"], z["intercept"],
                       header["tags"], z["tag_coef"], z["tag_intercept"],
                       hashlib.sha256(data).hexdigest()[:12], header)


class RoomInspector:
    """Reads room photos with CLIP: the probe at ``probe_path`` when there is one made with
    this CLIP model, else zero-shot prompts (module docstring)."""

    def __init__(self, clip: ClipModel, probe_path: Path | None = None):
        self.clip, self.probe_path = clip, Path(probe_path) if probe_path else None
        self._probe: tuple[tuple | None, Probe | None] = (None, None)
        self.probe_reason: str | None = None

    def probe(self) -> Probe | None:
        """The probe file's content, re-read when its modification time or size changes."""
        if self.probe_path is None:
            return None
        try:
            stat = os.stat(self.probe_path)
        except FileNotFoundError:
            self._probe, self.probe_reason = (None, None), "no probe trained yet"
            return None
        key = (stat.st_mtime_ns, stat.st_size)
        if self._probe[0] != key:
            try:
                probe = Probe.from_bytes(self.probe_path.read_bytes())
            except (OSError, ValueError, KeyError) as e:
                probe, self.probe_reason = None, f"unreadable probe file: {e}"
            else:
                self.probe_reason = None
                if probe.identity != self.clip.identity:
                    probe, self.probe_reason = None, (
                        f"the probe reads {probe.identity} embeddings, the model is "
                        f"{self.clip.identity}: retrain it")
            self._probe = (key, probe)
        return self._probe[1]

    def analyze(self, picture) -> dict:
        """{tags: [{label, confidence}], status: clean|dirty|maintenance, ready_for_guest,
        estimated_cleaning_minutes, method: zero_shot|probe, probe_version (None
        zero-shot), status_probabilities}."""
        return self.analyze_embedding(self.clip.encode_images([picture])[0])

    def analyze_embedding(self, embedding: np.ndarray) -> dict:
        tags = zero_shot_tags(self.clip, embedding)
        probe = self.probe()
        if probe is None:
            status = status_of(tags)
            probabilities = {status: 1.0}
        else:
            learned = probe.tag_probabilities(embedding)
            for label, p in learned.items():
                tags[label] = p
                pair = _opposite(label)
                if pair and pair not in learned:
                    tags[pair] = 1.0 - p
            probabilities = probe.status_probabilities(embedding)
            status = max(probabilities, key=probabilities.get)
        return {"tags": _tag_list(tags), "status": status, "ready_for_guest": status == "clean",
                "estimated_cleaning_minutes": cleaning_minutes(status, tags),
                "method": "zero_shot" if probe is None else "probe",
                "probe_version": None if probe is None else probe.version,
                "status_probabilities": {k: round(v, 4) for k, v in probabilities.items()}}

    def status(self) -> dict:
        probe = self.probe()
        return {"method": "probe" if probe else "zero_shot",
                "probe_version": probe.version if probe else None,
                "probe_path": str(self.probe_path) if self.probe_path else None,
                "reason": self.probe_reason,
                "trained_at": probe.header.get("trained_at") if probe else None}


def _opposite(label: str) -> str | None:
    for (yes, _), (no, _) in CONCEPTS.values():
        if label == yes:
            return no
        if label == no:
            return yes
    return None


# -- training -----------------------------------------------------------------------------


@dataclass
class ProbeResult:
    """What a training run did: written or not and why, the label counts, the parameters
    and the held-out metrics (probe against zero-shot on the same rows) to log."""

    trained: bool
    reason: str | None
    labels: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    path: str | None = None
    version: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def labelled_photos(lake: Lake, exclude_inspectors: tuple[str, ...] = ("vision",)) -> pl.DataFrame:
    """The lake's latest verdict per photo: image_id, status (clean|dirty|maintenance) and
    tags (our labels, those at least ``TAG_PRESENT`` confident), for photos in
    ``vision/images``."""
    table = bronze(ROOM_INSPECTIONS).name
    empty = pl.DataFrame(schema={"image_id": pl.String, "status": pl.String,
                                 "tags": pl.List(pl.String)})
    if not (lake.exists(table) and lake.exists(IMAGES.name)):
        return empty
    rows = lake.read(table, columns=["image_id", "status", "tags", "inspector_id",
                                     "inspected_at"])
    rows = rows.filter(pl.col("image_id").is_not_null()
                       & pl.col("status").is_in(list(STATUS_OF))
                       & ~pl.col("inspector_id").fill_null("").is_in(list(exclude_inspectors)))
    photos = lake.read(IMAGES.name, columns=["image_id"])
    rows = rows.join(photos.unique(), on="image_id", how="semi")
    if rows.is_empty():
        return empty
    rows = rows.sort("inspected_at").unique("image_id", keep="last", maintain_order=True)
    tags = [sorted({TAG_ALIASES.get(t["label"], t["label"]) for t in (ts or [])
                    if (t["confidence"] if t["confidence"] is not None else 1.0) >= TAG_PRESENT})
            for ts in rows["tags"].to_list()]
    return pl.DataFrame({"image_id": rows["image_id"],
                         "status": rows["status"].replace_strict(STATUS_OF),
                         "tags": pl.Series(tags, dtype=pl.List(pl.String))})


def _embeddings(lake: Lake, index_or_clip, image_ids: list[str]) -> tuple[ClipModel, dict]:
    """CLIP vectors of these lake photos: the image index's stored ones where it has them
    (same model), the others embedded from the lake's bytes."""
    clip = index_or_clip if isinstance(index_or_clip, ClipModel) else index_or_clip.clip
    vectors = {} if isinstance(index_or_clip, ClipModel) else index_or_clip.vectors(image_ids)
    missing = [i for i in image_ids if i not in vectors]
    limits = ImageLimits()
    for start in range(0, len(missing), 64):
        chunk = lake.read(IMAGES.name, columns=["image_id", "content"],
                          filters=[("image_id", "in", missing[start:start + 64])])
        chunk = chunk.unique("image_id", keep="first")
        pictures, ids = [], []
        for image_id, content in chunk.iter_rows():
            try:
                pictures.append(limits.decode(content))
                ids.append(image_id)
            except ImageRejected:
                continue
        if pictures:
            vectors |= dict(zip(ids, clip.encode_images(pictures)))
    return clip, vectors


def train_probe(lake: Lake, index_or_clip, probe_path: Path, min_labels: int = 20,
                test_size: float = 0.25, seed: int = 0,
                cs: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0),
                exclude_inspectors: tuple[str, ...] = ("vision",)) -> ProbeResult:
    """Train the room probe from the lake's verdicts (``labelled_photos``) and write it to
    ``probe_path`` (atomically) if it beats zero-shot on held-out photos.

    Statuses with fewer than ``min_labels`` photos are left out; at least two must remain.
    A stratified ``test_size`` share is held out: the probe and zero-shot are scored on
    the same held-out photos (accuracy, balanced accuracy, macro F1; the majority class as
    the floor). The file is written when the probe's balanced accuracy is above zero-shot's;
    the written probe is refitted on every photo. Tags with ``min_labels`` photos with and
    without them get a head of their own. Each fit picks its regularisation ``C`` among
    ``cs`` by cross-validation on its own rows. ``index_or_clip``: an ``ImageIndex`` (its stored
    vectors are reused) or a ``ClipModel``."""
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score
    from sklearn.model_selection import train_test_split

    min_labels = max(4, int(min_labels))
    chosen: list[float] = []  # C picked by each fit, the final status fit's last
    params = {"min_labels": min_labels, "test_size": test_size, "seed": seed, "Cs": list(cs),
              "class_weight": "balanced", "exclude_inspectors": list(exclude_inspectors)}
    photos = labelled_photos(lake, exclude_inspectors)
    counts = dict(photos.group_by("status").len().iter_rows()) if photos.height else {}
    tag_counts = (dict(photos.explode("tags").drop_nulls("tags").group_by("tags").len()
                       .iter_rows()) if photos.height else {})
    labels = {"photos": photos.height, "status": counts, "tags": tag_counts}
    kept = sorted(s for s, n in counts.items() if n >= min_labels)
    if len(kept) < 2:
        return ProbeResult(False, f"a probe needs at least {min_labels} labelled photos of two "
                                  f"statuses; the lake has {counts or 'none'}", labels, params)
    clip, vectors = _embeddings(lake, index_or_clip, photos["image_id"].to_list())
    photos = photos.filter(pl.col("status").is_in(kept)
                           & pl.col("image_id").is_in(list(vectors)))
    x = np.stack([vectors[i] for i in photos["image_id"]]).astype(np.float64)
    y = np.array(photos["status"].to_list())
    params |= {"model": clip.identity, "dim": clip.dim, "statuses": kept, "rows": len(y)}
    train, test = train_test_split(np.arange(len(y)), test_size=test_size, random_state=seed,
                                   stratify=y)

    def fit(rows, target):
        """Regularisation picked by cross-validation inside ``rows`` (held-out rows never
        choose it): unit-norm embeddings want weaker regularisation than sklearn's default."""
        folds = int(min(3, min(np.unique(target[rows], return_counts=True)[1])))
        model = LogisticRegressionCV(
            Cs=list(cs), cv=folds, max_iter=2000, class_weight="balanced",
            scoring="neg_log_loss", l1_ratios=(0.0,), use_legacy_attributes=False,
        ).fit(x[rows], target[rows])
        chosen.append(float(np.atleast_1d(model.C_)[0]))
        return model

    held = fit(train, y).predict(x[test])
    zero = np.array([status_of(zero_shot_tags(clip, v)) for v in x[test].astype(np.float32)])
    # zero-shot may answer a status the held-out photos lack; sklearn warns, the score holds
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "y_pred contains classes not in y_true")
        majority = max(set(y[train]), key=list(y[train]).count)
        metrics = {"probe_accuracy": accuracy_score(y[test], held),
                   "probe_balanced_accuracy": balanced_accuracy_score(y[test], held),
                   "probe_macro_f1": f1_score(y[test], held, average="macro"),
                   "zero_shot_accuracy": accuracy_score(y[test], zero),
                   "zero_shot_balanced_accuracy": balanced_accuracy_score(y[test], zero),
                   "zero_shot_macro_f1": f1_score(y[test], zero, average="macro", labels=kept),
                   "majority_accuracy": float(np.mean(y[test] == majority)),
                   "train_rows": len(train), "test_rows": len(test)}
    tags, tag_coef, tag_intercept = [], [], []
    for tag in sorted(tag_counts):
        has = np.array([tag in t for t in photos["tags"].to_list()])
        if min(has.sum(), (~has).sum()) < min_labels or len(set(has[train])) < 2:
            continue
        metrics[f"tag_{tag}_accuracy"] = accuracy_score(has[test], fit(train, has).predict(x[test]))
        final = fit(np.arange(len(y)), has)
        tags.append(tag)
        tag_coef.append(final.coef_[0])
        tag_intercept.append(final.intercept_[0])
    metrics = {k: float(v) for k, v in metrics.items()}
    if metrics["probe_balanced_accuracy"] <= metrics["zero_shot_balanced_accuracy"]:
        return ProbeResult(False, "the probe did not beat zero-shot on held-out photos "
                                  f"(balanced accuracy {metrics['probe_balanced_accuracy']:.3f} "
                                  f"vs {metrics['zero_shot_balanced_accuracy']:.3f}); not written",
                           labels, params, metrics)
    final = fit(np.arange(len(y)), y)
    params["C"] = chosen[-1]
    dim = x.shape[1]
    probe = Probe(clip.identity, [str(k) for k in final.classes_], final.coef_,
                  final.intercept_, tags,
                  np.array(tag_coef).reshape(len(tags), dim),
                  np.array(tag_intercept).reshape(len(tags)),
                  header={"trained_at": dt.datetime.now(dt.timezone.utc).isoformat(),
                          "metrics": metrics, "labels": labels, "params": params})
    data = probe.to_bytes()
    atomic_write(Path(probe_path), data)
    return ProbeResult(True, None, labels, params, metrics, str(probe_path),
                       hashlib.sha256(data).hexdigest()[:12])
