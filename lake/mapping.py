"""Declarative PMS column mappings: another PMS's export read as the reference layout.

A mapping (lake/mappings/*.yaml) renames columns, translates values and may give dates as
one column with its own format. No code is needed to adapt a new PMS. See mappings/README.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import yaml



DATE_COLUMNS = ("arrival_date", "departure_date", "reservation_status_date")


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
        # Dates in this PMS's format become ISO; an unparseable one keeps its text, so the
        # contract quarantines it with the value instead of calling it missing.
        out = out.with_columns(
            pl.coalesce(pl.col(c).str.strip_chars().str.to_date(self.date_format, strict=False)
                        .dt.to_string("%Y-%m-%d"), pl.col(c)).alias(c)
            for c in DATE_COLUMNS if c in out.columns
        )
        return out.with_columns(pl.lit(v, pl.String).alias(k) for k, v in self.constants.items())


BUNDLED = Path(__file__).resolve().parent / "mappings"


def load_mappings(directory: Path = BUNDLED) -> tuple[PmsMapping, ...]:
    """Every PMS layout mapping of the folder (one YAML each), in file-name order."""
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
