"""The vision domain for the assets: the face service and CLIP, loaded when an asset first
asks (a code location that only lists assets loads no model)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable

from lake.delta_tables import Lake
from vision.clip_models import ClipModel
from vision.faces import FaceService
from vision.image_index import ImageIndex


@dataclass
class VisionModels:
    lake: Lake
    faces: FaceService
    vectors_root: str
    probe_path: Path
    load_clip: Callable[[], ClipModel]
    _clip: ClipModel | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings, lake: Lake) -> "VisionModels":
        return cls(lake, FaceService.from_settings(settings, lake), settings.vectors_root,
                   settings.room_probe_path, partial(ClipModel.from_settings, settings))

    def clip(self) -> ClipModel:
        """CLIP, loaded once (its status says why not)."""
        if self._clip is None:
            self._clip = self.load_clip()
        return self._clip

    def image_index(self) -> ImageIndex | None:
        clip = self.clip()
        return ImageIndex(self.vectors_root, self.lake, clip) if clip.loaded else None
