"""Landing-file writing.

A kind of file (``bookings``, ``folio``, ...) is one file ``<kind>_chain.<ext>`` when it has
at most ``PART_ROWS`` rows, else parts ``<kind>_chain_0001.<ext>``, ... of at most
``PART_ROWS`` rows each. Parts are written under hidden temporary names and renamed to
their final names only when the kind is complete (``publish``), so a sensor watching the
folder never picks up half a file, nor a part that is renamed afterwards.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

PART_ROWS = 2_000_000
CHAIN_SUFFIX = "_chain"


def clear_previous(folder: Path, stems: list[str]) -> None:
    """Remove the chain files of an earlier run (their part count may differ)."""
    for stem in stems:
        for pattern in (f"{stem}{CHAIN_SUFFIX}*", f".{stem}{CHAIN_SUFFIX}*.tmp"):
            for path in folder.glob(pattern):
                if path.is_file():
                    path.unlink()


class PartWriter:
    """Writes one kind of file in parts of at most PART_ROWS rows; ``publish`` names them."""

    def __init__(self, folder: Path, stem: str, ext: str = "csv", float_precision: int | None = None):
        self.folder, self.stem, self.ext = folder, stem, ext
        self.float_precision = float_precision
        self.rows = 0
        self._parts: list[Path] = []
        self._empty: pl.DataFrame | None = None  # the layout, should no row come

    def write(self, frame: pl.DataFrame) -> None:
        if frame.height == 0:
            self._empty = frame
        for offset in range(0, frame.height, PART_ROWS):
            self._write_part(frame.slice(offset, PART_ROWS))

    def _write_part(self, piece: pl.DataFrame) -> None:
        tmp = self.folder / f".{self.stem}{CHAIN_SUFFIX}_{len(self._parts) + 1:04d}.{self.ext}.tmp"
        if self.ext == "csv":
            piece.write_csv(tmp, float_precision=self.float_precision)
        else:
            piece.write_ndjson(tmp)
        self._parts.append(tmp)
        self.rows += piece.height

    def publish(self) -> int:
        """Rename the parts to their final names; return the rows written."""
        if not self._parts and self._empty is not None:
            self._write_part(self._empty)  # a header-only (or empty) file
        if len(self._parts) == 1:
            os.replace(self._parts[0], self.folder / f"{self.stem}{CHAIN_SUFFIX}.{self.ext}")
        else:
            for k, tmp in enumerate(self._parts, start=1):
                os.replace(tmp, self.folder / f"{self.stem}{CHAIN_SUFFIX}_{k:04d}.{self.ext}")
        self._parts = []
        return self.rows


def write_all(frame: pl.DataFrame, folder: Path, stem: str, ext: str = "csv", float_precision: int | None = None) -> int:
    out = PartWriter(folder, stem, ext, float_precision)
    out.write(frame)
    return out.publish()
