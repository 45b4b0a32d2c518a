"""Declarative PMS column mappings: another PMS's export read as the reference layout.

A mapping (lake/mappings/*.yaml) renames columns, translates values and may give dates as
one column with its own format. No code is needed to adapt a new PMS. See mappings/README.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import polars as pl
import yaml

from innsight.settings import get_settings


@dataclass(frozen=True)
class PmsMapping:
    name: str
    columns: dict[str, str]  # reference column -> this PMS's column
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    date_format: str = "%Y-%m-%d"
    constants: dict[str, str] = field(default_factory=dict)
    description: str = ""

    def matches(self, header: list[str]) -> bool:
        return set(self.columns.values()) <= set(header)

    def apply(self, df: pl.DataFrame) -> pl.DataFrame:
        """Rename to reference names, translate values, add constants (all stay strings)."""
        keep = [c for c in df.columns if c.startswith("_")]
        out = df.select(*keep, *[pl.col(src).alias(ref) for ref, src in self.columns.items()])
        out = out.with_columns(
            pl.col(col).replace(mapping) for col, mapping in self.values.items() if col in out.columns
        )
        return out.with_columns(pl.lit(v, pl.String).alias(k) for k, v in self.constants.items())


@lru_cache
def load_mappings(directory: Path | None = None) -> tuple[PmsMapping, ...]:
    directory = directory or get_settings().mappings_dir
    mappings = []
    for path in sorted(Path(directory).glob("*.yaml")):
        spec = yaml.safe_load(path.read_text())
        mappings.append(PmsMapping(
            name=spec.get("name", path.stem),
            description=spec.get("description", ""),
            columns={k: str(v) for k, v in spec["columns"].items()},
            values={k: {str(a): str(b) for a, b in v.items()} for k, v in spec.get("values", {}).items()},
            date_format=spec.get("date_format", "%Y-%m-%d"),
            constants={k: str(v) for k, v in spec.get("constants", {}).items()},
        ))
    return tuple(mappings)
