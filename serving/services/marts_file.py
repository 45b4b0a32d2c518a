"""The published marts file, as the health page reports it (and its version, which the
OpenAPI page's examples follow)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import duckdb


class MartsFile:
    def __init__(self, path: Path):
        self.path = Path(path)

    def version(self) -> int | None:
        """Changes each time a build replaces the file (None: not built)."""
        try:
            return self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return None

    def status(self) -> dict:
        path = self.path
        if not path.exists():
            return {"available": False, "path": str(path), "reason": "not built yet: run `make up`"}
        with duckdb.connect(str(path), read_only=True) as con:
            tables = [r[0] for r in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'main'").fetchall()]
            # the day each hotel's data is current as of (dim_hotel_as_of): built is not fresh
            as_of = ({hotel: str(day) for hotel, day in con.execute(
                "select hotel, as_of_date from dim_hotel_as_of order by hotel").fetchall()}
                if "dim_hotel_as_of" in tables else {})
        built = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
        return {"available": True, "path": str(path), "built_at": built.isoformat(),
                "data_as_of": as_of, "tables": sorted(tables)}
