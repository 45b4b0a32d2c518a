"""Landing-file writing: atomic (a temporary hidden name, then a rename, so a sensor never
picks up half a file), split into parts of at most ``PART_ROWS`` rows when large."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

PART_ROWS = 2_000_000
CHAIN_SUFFIX = "_chain"


def part_paths(folder: Path, stem: str, total_rows: int, ext: str = "csv") -> list[Path]:
    """``stem_chain.ext`` or, above PART_ROWS rows, ``stem_chain_0001.ext``, ..."""
    parts = max(1, -(-total_rows // PART_ROWS))
    if parts == 1:
        return [folder / f"{stem}{CHAIN_SUFFIX}.{ext}"]
    return [folder / f"{stem}{CHAIN_SUFFIX}_{k:04d}.{ext}" for k in range(1, parts + 1)]


def clear_previous(folder: Path, stems: list[str]) -> None:
    """Remove the chain files of an earlier run (their part count may differ)."""
    for stem in stems:
        for path in folder.glob(f"{stem}{CHAIN_SUFFIX}*"):
            if path.is_file():
                path.unlink()


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp")


def write_csv(frame: pl.DataFrame, path: Path, float_precision: int | None = None) -> int:
    tmp = _tmp(path)
    frame.write_csv(tmp, float_precision=float_precision)
    os.replace(tmp, path)
    return frame.height


def write_jsonl(frame: pl.DataFrame, path: Path) -> int:
    tmp = _tmp(path)
    frame.write_ndjson(tmp)
    os.replace(tmp, path)
    return frame.height
