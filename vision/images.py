"""Uploaded images, checked before anything looks at them or stores them.

``ImageLimits.decode(data)`` returns a ``Picture`` (RGB pixels, BGR for the face models,
the format and the SHA-256 of the bytes) or raises ``ImageRejected`` naming the problem: not
an image, over the size limit, too small, too many pixels, truncated or corrupt. The header
is read first, so a 60-megapixel image is refused before it is decoded.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "TIFF")


class ImageRejected(ValueError):
    """An upload that is not a usable image; the message says what is wrong and what to send."""


@dataclass(frozen=True)
class Picture:
    rgb: np.ndarray  # H x W x 3, uint8
    format: str
    sha256: str

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    @cached_property
    def bgr(self) -> np.ndarray:
        """The channel order of OpenCV and the face models."""
        return np.ascontiguousarray(self.rgb[:, :, ::-1])

    @cached_property
    def pil(self) -> Image.Image:
        return Image.fromarray(self.rgb)


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = 15_000_000
    max_pixels: int = 40_000_000
    min_side: int = 32

    @classmethod
    def from_settings(cls, settings) -> "ImageLimits":
        return cls(settings.image_max_bytes, settings.image_max_pixels, settings.image_min_side)

    def decode(self, data: bytes) -> Picture:
        if not data:
            raise ImageRejected("the image is empty (0 bytes)")
        if len(data) > self.max_bytes:
            raise ImageRejected(f"the image is {len(data) / 1e6:.1f} MB; the limit is "
                                f"{self.max_bytes / 1e6:.1f} MB: send a smaller or more compressed one")
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            try:
                image = Image.open(io.BytesIO(data))
            except (UnidentifiedImageError, Image.DecompressionBombError,
                    Image.DecompressionBombWarning):
                image = None
            except Exception:  # noqa: BLE001 - any parser failure is a bad upload
                image = None
        if image is None or image.format not in FORMATS:
            kind = image.format if image is not None else "not an image"
            raise ImageRejected(f"the file is {kind}; send a JPEG, PNG, WebP, BMP or TIFF image")
        width, height = image.size
        if width * height > self.max_pixels:
            raise ImageRejected(f"the image is {width}x{height} ({width * height / 1e6:.0f} "
                                f"megapixels); the limit is {self.max_pixels / 1e6:.0f} megapixels")
        if min(width, height) < self.min_side:
            raise ImageRejected(f"the image is {width}x{height}; each side must be at least "
                                f"{self.min_side} pixels")
        fmt = image.format
        try:
            image.load()  # a truncated JPEG fails here (PIL does not pad it by default)
            image = ImageOps.exif_transpose(image).convert("RGB")
        except (OSError, SyntaxError, ValueError) as e:
            raise ImageRejected(f"the {fmt} file is truncated or corrupt ({e}); "
                                "send the whole file") from None
        return Picture(np.asarray(image), fmt, hashlib.sha256(data).hexdigest())
